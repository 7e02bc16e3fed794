/* tests/unit/storage/io_sim.c: the simulated disk (see io_sim.h).
 *
 * Owns: inodes with current and durable contents plus the log of unsynced
 * writes/truncates, a current and a durable name table plus the log of
 * unsynced name operations, fault injection and crash/reboot.
 *
 * Must never: make anything durable without the sync that real Linux
 * requires (file data: fsync/fdatasync of the file; names: fsync of the
 * directory), so the tests are no kinder than a real disk.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

static void *xrealloc(void *p, size_t n)
{
        void *q = realloc(p, n ? n : 1);
        if (!q)
                abort();
        return q;
}

static char *xstrdup(const char *s)
{
        char *d = strdup(s);
        if (!d)
                abort();
        return d;
}

static void *xmemdup(const void *p, size_t n)
{
        void *d = xrealloc(NULL, n);
        if (n)
                memcpy(d, p, n);
        return d;
}

static void buf_write(uint8_t **buf, size_t *len, uint64_t off, const uint8_t *data, size_t n)
{
        if (off + n > *len) {
                *buf = xrealloc(*buf, off + n);
                memset(*buf + *len, 0, off + n - *len);
                *len = off + n;
        }
        if (n)
                memcpy(*buf + off, data, n);
}

static void buf_trunc(uint8_t **buf, size_t *len, uint64_t n)
{
        if (n > *len) {
                *buf = xrealloc(*buf, n);
                memset(*buf + *len, 0, n - *len);
        }
        *len = n;
}

static int names_find(const struct names *ns, const char *name)
{
        for (size_t i = 0; i < ns->n; i++)
                if (strcmp(ns->d[i].name, name) == 0)
                        return (int)i;
        return -1;
}

static void names_set(struct names *ns, const char *name, int ino)
{
        int i = names_find(ns, name);

        if (i >= 0) {
                ns->d[i].ino = ino;
                return;
        }
        ns->d = xrealloc(ns->d, (ns->n + 1) * sizeof(*ns->d));
        ns->d[ns->n].name = xstrdup(name);
        ns->d[ns->n].ino = ino;
        ns->n++;
}

static void names_del(struct names *ns, const char *name)
{
        int i = names_find(ns, name);

        if (i < 0)
                return;
        free(ns->d[i].name);
        ns->d[i] = ns->d[--ns->n];
}

static void names_free(struct names *ns)
{
        for (size_t i = 0; i < ns->n; i++)
                free(ns->d[i].name);
        free(ns->d);
        ns->d = NULL;
        ns->n = 0;
}

static void names_copy(struct names *dst, const struct names *src)
{
        names_free(dst);
        dst->d = xrealloc(NULL, src->n * sizeof(*dst->d));
        for (size_t i = 0; i < src->n; i++) {
                dst->d[i].name = xstrdup(src->d[i].name);
                dst->d[i].ino = src->d[i].ino;
        }
        dst->n = src->n;
}

static void dop_apply(struct names *ns, const struct dop *op)
{
        int i;

        switch (op->kind) {
        case DOP_LINK:
                names_set(ns, op->a, op->ino);
                break;
        case DOP_UNLINK:
                names_del(ns, op->a);
                break;
        case DOP_RENAME:
                i = names_find(ns, op->a);
                if (i >= 0) {
                        int ino = ns->d[i].ino;
                        names_del(ns, op->a);
                        names_set(ns, op->b, ino);
                }
                break;
        }
}

static void dops_clear(struct io_sim *s)
{
        for (size_t i = 0; i < s->n_dops; i++) {
                free(s->dops[i].a);
                free(s->dops[i].b);
        }
        free(s->dops);
        s->dops = NULL;
        s->n_dops = 0;
}

static void dop_log(struct io_sim *s, int kind, const char *a, const char *b, int ino)
{
        s->dops = xrealloc(s->dops, (s->n_dops + 1) * sizeof(*s->dops));
        s->dops[s->n_dops].kind = kind;
        s->dops[s->n_dops].a = xstrdup(a);
        s->dops[s->n_dops].b = b ? xstrdup(b) : NULL;
        s->dops[s->n_dops].ino = ino;
        s->n_dops++;
}

static void fops_clear(struct inode *in)
{
        for (size_t i = 0; i < in->n_ops; i++)
                free(in->ops[i].data);
        free(in->ops);
        in->ops = NULL;
        in->n_ops = 0;
}

static void fop_log(struct inode *in, int kind, uint64_t off, const void *data, size_t len)
{
        in->ops = xrealloc(in->ops, (in->n_ops + 1) * sizeof(*in->ops));
        in->ops[in->n_ops].kind = kind;
        in->ops[in->n_ops].off = off;
        in->ops[in->n_ops].data = data ? xmemdup(data, len) : NULL;
        in->ops[in->n_ops].len = len;
        in->n_ops++;
}

/* Crash and fault checks for a call of `op` (mutating or not). */
static int enter(struct io_sim *s, int op, bool mutating)
{
        if (s->crashed)
                return -EIO;
        if (mutating) {
                s->mutations++;
                if (s->crash_countdown && --s->crash_countdown == 0) {
                        s->crashed = true;
                        return -EIO;
                }
        }
        if (op >= 0 && s->fail_nth[op] && --s->fail_nth[op] == 0)
                return s->fail_code[op];
        return 0;
}

static int handle_ino(struct io_sim *s, int fd)
{
        if (fd < 0 || (size_t)fd >= s->n_handles)
                return -1;
        return s->handles[fd];
}

static int sim_open(void *ctx, const char *path, int flags)
{
        struct io_sim *s = ctx;
        bool create = flags & STORAGE_O_CREATE;
        int r, i, ino, fd = -1;

        pthread_mutex_lock(&s->mu);
        r = enter(s, IO_SIM_OPEN, create || (flags & STORAGE_O_TRUNC));
        if (r < 0)
                goto out;
        i = names_find(&s->cur, path);
        if (i >= 0 && create && (flags & STORAGE_O_EXCL)) {
                r = -EEXIST;
                goto out;
        }
        if (i < 0 && !create) {
                r = -ENOENT;
                goto out;
        }
        if (i < 0) {
                s->inodes = xrealloc(s->inodes, (s->n_inodes + 1) * sizeof(*s->inodes));
                memset(&s->inodes[s->n_inodes], 0, sizeof(*s->inodes));
                s->inodes[s->n_inodes].lock_holder = -1;
                ino = (int)s->n_inodes++;
                names_set(&s->cur, path, ino);
                dop_log(s, DOP_LINK, path, NULL, ino);
        } else {
                ino = s->cur.d[i].ino;
        }
        if (flags & STORAGE_O_TRUNC) {
                buf_trunc(&s->inodes[ino].cur, &s->inodes[ino].cur_len, 0);
                fop_log(&s->inodes[ino], FOP_TRUNC, 0, NULL, 0);
        }
        for (size_t h = 0; h < s->n_handles; h++)
                if (s->handles[h] < 0) {
                        fd = (int)h;
                        break;
                }
        if (fd < 0) {
                s->handles = xrealloc(s->handles, (s->n_handles + 1) * sizeof(int));
                fd = (int)s->n_handles++;
        }
        s->handles[fd] = ino;
        r = fd;
out:
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_close(void *ctx, int fd)
{
        struct io_sim *s = ctx;
        int ino, r = 0;

        pthread_mutex_lock(&s->mu);
        ino = handle_ino(s, fd);
        if (ino < 0) {
                r = -EBADF;
        } else {
                if (s->inodes[ino].lock_holder == fd)
                        s->inodes[ino].lock_holder = -1;
                s->handles[fd] = -1;
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static ssize_t sim_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
        struct io_sim *s = ctx;
        ssize_t r;
        int ino;

        pthread_mutex_lock(&s->mu);
        r = enter(s, -1, false);
        ino = handle_ino(s, fd);
        if (r == 0 && ino < 0)
                r = -EBADF;
        if (r == 0) {
                struct inode *in = &s->inodes[ino];
                size_t n = off >= in->cur_len ? 0 : in->cur_len - off;
                if (n > len)
                        n = len;
                if (n)
                        memcpy(buf, in->cur + off, n);
                r = (ssize_t)n;
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static ssize_t sim_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
        struct io_sim *s = ctx;
        ssize_t r;
        int ino;

        pthread_mutex_lock(&s->mu);
        r = enter(s, IO_SIM_PWRITE, true);
        ino = handle_ino(s, fd);
        if (r == 0 && ino < 0)
                r = -EBADF;
        if (r == 0) {
                struct inode *in = &s->inodes[ino];
                buf_write(&in->cur, &in->cur_len, off, buf, len);
                fop_log(in, FOP_WRITE, off, buf, len);
                r = (ssize_t)len;
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sync_common(struct io_sim *s, int fd, int op)
{
        int r, ino;

        pthread_mutex_lock(&s->mu);
        r = enter(s, op, true);
        ino = handle_ino(s, fd);
        if (r == 0 && ino < 0)
                r = -EBADF;
        if (r == 0) {
                struct inode *in = &s->inodes[ino];
                free(in->dur);
                in->dur = xmemdup(in->cur, in->cur_len);
                in->dur_len = in->cur_len;
                fops_clear(in);
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_fdatasync(void *ctx, int fd)
{
        return sync_common(ctx, fd, IO_SIM_FDATASYNC);
}

static int sim_fsync(void *ctx, int fd)
{
        return sync_common(ctx, fd, IO_SIM_FSYNC);
}

static int sim_ftruncate(void *ctx, int fd, uint64_t len)
{
        struct io_sim *s = ctx;
        int r, ino;

        pthread_mutex_lock(&s->mu);
        r = enter(s, IO_SIM_FTRUNCATE, true);
        ino = handle_ino(s, fd);
        if (r == 0 && ino < 0)
                r = -EBADF;
        if (r == 0) {
                buf_trunc(&s->inodes[ino].cur, &s->inodes[ino].cur_len, len);
                fop_log(&s->inodes[ino], FOP_TRUNC, len, NULL, 0);
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_fallocate(void *ctx, int fd, uint64_t off, uint64_t len)
{
        return -EOPNOTSUPP;
}

static int sim_size(void *ctx, int fd, uint64_t *ret_size)
{
        struct io_sim *s = ctx;
        int r, ino;

        pthread_mutex_lock(&s->mu);
        r = enter(s, -1, false);
        ino = handle_ino(s, fd);
        if (r == 0 && ino < 0)
                r = -EBADF;
        if (r == 0)
                *ret_size = s->inodes[ino].cur_len;
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_rename(void *ctx, const char *from, const char *to)
{
        struct io_sim *s = ctx;
        int r, i;

        pthread_mutex_lock(&s->mu);
        r = enter(s, IO_SIM_RENAME, true);
        if (r == 0) {
                i = names_find(&s->cur, from);
                if (i < 0) {
                        r = -ENOENT;
                } else {
                        int ino = s->cur.d[i].ino;
                        names_del(&s->cur, from);
                        names_set(&s->cur, to, ino);
                        dop_log(s, DOP_RENAME, from, to, ino);
                }
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_unlink(void *ctx, const char *path)
{
        struct io_sim *s = ctx;
        int r;

        pthread_mutex_lock(&s->mu);
        r = enter(s, IO_SIM_UNLINK, true);
        if (r == 0) {
                if (names_find(&s->cur, path) < 0) {
                        r = -ENOENT;
                } else {
                        names_del(&s->cur, path);
                        dop_log(s, DOP_UNLINK, path, NULL, -1);
                }
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_mkdir(void *ctx, const char *path)
{
        struct io_sim *s = ctx;
        int r;

        pthread_mutex_lock(&s->mu);
        r = enter(s, -1, true);
        for (size_t i = 0; r == 0 && i < s->n_dirs; i++)
                if (strcmp(s->dirs[i], path) == 0)
                        r = -EEXIST;
        if (r == 0) {
                /* Directories are durable at once: the tests are about files. */
                s->dirs = xrealloc(s->dirs, (s->n_dirs + 1) * sizeof(char *));
                s->dirs[s->n_dirs++] = xstrdup(path);
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_fsync_dir(void *ctx, const char *dir)
{
        struct io_sim *s = ctx;
        int r;

        pthread_mutex_lock(&s->mu);
        r = enter(s, IO_SIM_FSYNC_DIR, true);
        if (r == 0) {
                names_copy(&s->dur, &s->cur);
                dops_clear(s);
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_list_dir(void *ctx, const char *dir, char ***ret_names, size_t *ret_n)
{
        struct io_sim *s = ctx;
        size_t dl = strlen(dir), k = 0;
        char **names;
        bool found = false;
        int r;

        pthread_mutex_lock(&s->mu);
        r = enter(s, -1, false);
        for (size_t i = 0; r == 0 && i < s->n_dirs; i++)
                found |= strcmp(s->dirs[i], dir) == 0;
        if (r == 0 && !found)
                r = -ENOENT;
        if (r == 0) {
                names = xrealloc(NULL, (s->cur.n + 1) * sizeof(char *));
                for (size_t i = 0; i < s->cur.n; i++) {
                        const char *n = s->cur.d[i].name;
                        if (strncmp(n, dir, dl) == 0 && n[dl] == '/' && !strchr(n + dl + 1, '/'))
                                names[k++] = xstrdup(n + dl + 1);
                }
                *ret_names = names;
                *ret_n = k;
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

static int sim_lock(void *ctx, int fd)
{
        struct io_sim *s = ctx;
        int r, ino;

        pthread_mutex_lock(&s->mu);
        r = enter(s, -1, false);
        ino = handle_ino(s, fd);
        if (r == 0 && ino < 0)
                r = -EBADF;
        if (r == 0) {
                struct inode *in = &s->inodes[ino];
                if (in->lock_holder >= 0 && in->lock_holder != fd)
                        r = -EWOULDBLOCK;
                else
                        in->lock_holder = fd;
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

struct io_sim *io_sim_new(void)
{
        struct io_sim *s = calloc(1, sizeof(*s));

        if (!s)
                abort();
        pthread_mutex_init(&s->mu, NULL);
        s->io = (struct storage_io){
                .ctx = s, .open = sim_open, .close = sim_close, .pread = sim_pread,
                .pwrite = sim_pwrite, .fdatasync = sim_fdatasync, .fsync = sim_fsync,
                .ftruncate = sim_ftruncate, .fallocate = sim_fallocate, .size = sim_size,
                .rename = sim_rename, .unlink = sim_unlink, .mkdir = sim_mkdir,
                .fsync_dir = sim_fsync_dir, .list_dir = sim_list_dir, .lock = sim_lock,
        };
        return s;
}

void io_sim_free(struct io_sim *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_inodes; i++) {
                free(s->inodes[i].cur);
                free(s->inodes[i].dur);
                fops_clear(&s->inodes[i]);
        }
        free(s->inodes);
        names_free(&s->cur);
        names_free(&s->dur);
        dops_clear(s);
        free(s->handles);
        for (size_t i = 0; i < s->n_dirs; i++)
                free(s->dirs[i]);
        free(s->dirs);
        pthread_mutex_destroy(&s->mu);
        free(s);
}

struct io_sim *io_sim_clone(struct io_sim *s)
{
        struct io_sim *c = io_sim_new();

        pthread_mutex_lock(&s->mu);
        c->inodes = xrealloc(NULL, s->n_inodes * sizeof(*c->inodes));
        c->n_inodes = s->n_inodes;
        for (size_t i = 0; i < s->n_inodes; i++) {
                struct inode *d = &c->inodes[i], *o = &s->inodes[i];
                memset(d, 0, sizeof(*d));
                d->cur = xmemdup(o->cur, o->cur_len);
                d->cur_len = o->cur_len;
                d->dur = xmemdup(o->dur, o->dur_len);
                d->dur_len = o->dur_len;
                d->lock_holder = -1;
                for (size_t k = 0; k < o->n_ops; k++)
                        fop_log(d, o->ops[k].kind, o->ops[k].off, o->ops[k].data,
                                o->ops[k].len);
        }
        names_copy(&c->cur, &s->cur);
        names_copy(&c->dur, &s->dur);
        for (size_t i = 0; i < s->n_dops; i++)
                dop_log(c, s->dops[i].kind, s->dops[i].a, s->dops[i].b, s->dops[i].ino);
        for (size_t i = 0; i < s->n_dirs; i++) {
                c->dirs = xrealloc(c->dirs, (c->n_dirs + 1) * sizeof(char *));
                c->dirs[c->n_dirs++] = xstrdup(s->dirs[i]);
        }
        pthread_mutex_unlock(&s->mu);
        return c;
}

const struct storage_io *io_sim_io(struct io_sim *s)
{
        return &s->io;
}

void io_sim_fail(struct io_sim *s, enum io_sim_op op, unsigned nth, int code)
{
        pthread_mutex_lock(&s->mu);
        s->fail_nth[op] = nth;
        s->fail_code[op] = code;
        pthread_mutex_unlock(&s->mu);
}

void io_sim_crash_at(struct io_sim *s, uint64_t nth)
{
        pthread_mutex_lock(&s->mu);
        s->crash_countdown = nth;
        pthread_mutex_unlock(&s->mu);
}

bool io_sim_crashed(struct io_sim *s)
{
        bool v;

        pthread_mutex_lock(&s->mu);
        v = s->crashed;
        pthread_mutex_unlock(&s->mu);
        return v;
}

uint64_t io_sim_mutations(struct io_sim *s)
{
        uint64_t v;

        pthread_mutex_lock(&s->mu);
        v = s->mutations;
        pthread_mutex_unlock(&s->mu);
        return v;
}

static uint64_t splitmix(uint64_t *x)
{
        uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

void io_sim_reboot(struct io_sim *s, uint64_t seed, bool torn)
{
        uint64_t rng = seed;

        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < s->n_inodes; i++) {
                struct inode *in = &s->inodes[i];
                size_t k = torn ? (size_t)(splitmix(&rng) % (in->n_ops + 1)) : 0;
                for (size_t j = 0; j < k; j++) {
                        struct fop *op = &in->ops[j];
                        if (op->kind == FOP_WRITE)
                                buf_write(&in->dur, &in->dur_len, op->off, op->data, op->len);
                        else
                                buf_trunc(&in->dur, &in->dur_len, op->off);
                }
                if (k < in->n_ops && in->ops[k].kind == FOP_WRITE && in->ops[k].len &&
                    splitmix(&rng) % 2) {
                        size_t part = (size_t)(splitmix(&rng) % in->ops[k].len);
                        buf_write(&in->dur, &in->dur_len, in->ops[k].off, in->ops[k].data,
                                  part);
                }
                free(in->cur);
                in->cur = xmemdup(in->dur, in->dur_len);
                in->cur_len = in->dur_len;
                in->lock_holder = -1;
                fops_clear(in);
        }
        {
                size_t k = torn ? (size_t)(splitmix(&rng) % (s->n_dops + 1)) : 0;
                for (size_t j = 0; j < k; j++)
                        dop_apply(&s->dur, &s->dops[j]);
                dops_clear(s);
                names_copy(&s->cur, &s->dur);
        }
        for (size_t h = 0; h < s->n_handles; h++)
                s->handles[h] = -1;
        memset(s->fail_nth, 0, sizeof(s->fail_nth));
        s->crash_countdown = 0;
        s->crashed = false;
        pthread_mutex_unlock(&s->mu);
}

int io_sim_get(struct io_sim *s, const char *path, uint8_t **ret_data, size_t *ret_len)
{
        int i, r = -ENOENT;

        pthread_mutex_lock(&s->mu);
        i = names_find(&s->cur, path);
        if (i >= 0) {
                struct inode *in = &s->inodes[s->cur.d[i].ino];
                *ret_data = xmemdup(in->cur, in->cur_len);
                *ret_len = in->cur_len;
                r = 0;
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}

int io_sim_set(struct io_sim *s, const char *path, const uint8_t *data, size_t len)
{
        int i, r = -ENOENT;

        pthread_mutex_lock(&s->mu);
        i = names_find(&s->cur, path);
        if (i >= 0) {
                struct inode *in = &s->inodes[s->cur.d[i].ino];
                free(in->cur);
                free(in->dur);
                in->cur = xmemdup(data, len);
                in->dur = xmemdup(data, len);
                in->cur_len = in->dur_len = len;
                fops_clear(in);
                r = 0;
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}
