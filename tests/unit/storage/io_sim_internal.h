/* tests/unit/storage/io_sim_internal.h: the simulated disk's data, shared
 * by io_sim.c (the storage_io operations) and io_sim_state.c (names, logs of
 * unsynced operations, crash/reboot, clone).
 *
 * Must never be included outside io_sim*.c.
 */
#ifndef RAFKTOR_TESTS_IO_SIM_INTERNAL_H
#define RAFKTOR_TESTS_IO_SIM_INTERNAL_H

#include <pthread.h>

#include "tests/unit/storage/io_sim.h"

enum { FOP_WRITE, FOP_TRUNC };
enum { DOP_LINK, DOP_UNLINK, DOP_RENAME };

struct fop {
        int kind;
        uint64_t off; /* WRITE: offset; TRUNC: new length */
        uint8_t *data;
        size_t len;
};

struct inode {
        uint8_t *cur, *dur;
        size_t cur_len, dur_len;
        struct fop *ops;
        size_t n_ops;
        int lock_holder; /* handle or -1 */
};

struct dent {
        char *name;
        int ino;
};

struct names {
        struct dent *d;
        size_t n;
};

struct dop {
        int kind;
        char *a, *b;
        int ino;
};

struct io_sim {
        pthread_mutex_t mu;
        struct storage_io io;
        struct inode *inodes;
        size_t n_inodes;
        struct names cur, dur;
        struct dop *dops;
        size_t n_dops;
        int *handles; /* inode per handle, -1 when free */
        size_t n_handles;
        char **dirs;
        size_t n_dirs;
        unsigned fail_nth[IO_SIM_N_OPS];
        int fail_code[IO_SIM_N_OPS];
        uint64_t crash_countdown;
        bool crashed;
        uint64_t mutations;
};

void *simfs_xrealloc(void *p, size_t n);
char *simfs_xstrdup(const char *s);
void *simfs_xmemdup(const void *p, size_t n);
void simfs_buf_write(uint8_t **buf, size_t *len, uint64_t off, const uint8_t *data, size_t n);
void simfs_buf_trunc(uint8_t **buf, size_t *len, uint64_t n);
int simfs_names_find(const struct names *ns, const char *name);
void simfs_names_set(struct names *ns, const char *name, int ino);
void simfs_names_del(struct names *ns, const char *name);
void simfs_names_free(struct names *ns);
void simfs_names_copy(struct names *dst, const struct names *src);
void simfs_dop_apply(struct names *ns, const struct dop *op);
void simfs_dops_clear(struct io_sim *s);
void simfs_dop_log(struct io_sim *s, int kind, const char *a, const char *b, int ino);
void simfs_fops_clear(struct inode *in);
void simfs_fop_log(struct inode *in, int kind, uint64_t off, const void *data, size_t len);

#endif
