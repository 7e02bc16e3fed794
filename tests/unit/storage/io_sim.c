/* tests/unit/storage/io_sim.c: the simulated disk's storage_io operations
 * (see io_sim.h; the state they act on is in io_sim_state.c).
 *
 * Owns: each operation's effect on current contents and names, logging it
 * as unsynced until the matching sync, fault injection and the crash point.
 *
 * Must never: make anything durable without the sync that real Linux
 * requires (file data: fsync/fdatasync of the file; names: fsync of the
 * directory), so the tests are no kinder than a real disk.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/storage/io_sim_internal.h"

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
        i = simfs_names_find(&s->cur, path);
        if (i >= 0 && create && (flags & STORAGE_O_EXCL)) {
                r = -EEXIST;
                goto out;
        }
        if (i < 0 && !create) {
                r = -ENOENT;
                goto out;
        }
        if (i < 0) {
                s->inodes = simfs_xrealloc(s->inodes, (s->n_inodes + 1) * sizeof(*s->inodes));
                memset(&s->inodes[s->n_inodes], 0, sizeof(*s->inodes));
                s->inodes[s->n_inodes].lock_holder = -1;
                ino = (int)s->n_inodes++;
                simfs_names_set(&s->cur, path, ino);
                simfs_dop_log(s, DOP_LINK, path, NULL, ino);
        } else {
                ino = s->cur.d[i].ino;
        }
        if (flags & STORAGE_O_TRUNC) {
                simfs_buf_trunc(&s->inodes[ino].cur, &s->inodes[ino].cur_len, 0);
                simfs_fop_log(&s->inodes[ino], FOP_TRUNC, 0, NULL, 0);
        }
        for (size_t h = 0; h < s->n_handles; h++)
                if (s->handles[h] < 0) {
                        fd = (int)h;
                        break;
                }
        if (fd < 0) {
                s->handles = simfs_xrealloc(s->handles, (s->n_handles + 1) * sizeof(int));
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
                simfs_buf_write(&in->cur, &in->cur_len, off, buf, len);
                simfs_fop_log(in, FOP_WRITE, off, buf, len);
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
                in->dur = simfs_xmemdup(in->cur, in->cur_len);
                in->dur_len = in->cur_len;
                simfs_fops_clear(in);
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
                simfs_buf_trunc(&s->inodes[ino].cur, &s->inodes[ino].cur_len, len);
                simfs_fop_log(&s->inodes[ino], FOP_TRUNC, len, NULL, 0);
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
                i = simfs_names_find(&s->cur, from);
                if (i < 0) {
                        r = -ENOENT;
                } else {
                        int ino = s->cur.d[i].ino;
                        simfs_names_del(&s->cur, from);
                        simfs_names_set(&s->cur, to, ino);
                        simfs_dop_log(s, DOP_RENAME, from, to, ino);
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
                if (simfs_names_find(&s->cur, path) < 0) {
                        r = -ENOENT;
                } else {
                        simfs_names_del(&s->cur, path);
                        simfs_dop_log(s, DOP_UNLINK, path, NULL, -1);
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
                s->dirs = simfs_xrealloc(s->dirs, (s->n_dirs + 1) * sizeof(char *));
                s->dirs[s->n_dirs++] = simfs_xstrdup(path);
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
                simfs_names_copy(&s->dur, &s->cur);
                simfs_dops_clear(s);
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
                names = simfs_xrealloc(NULL, (s->cur.n + 1) * sizeof(char *));
                for (size_t i = 0; i < s->cur.n; i++) {
                        const char *n = s->cur.d[i].name;
                        if (strncmp(n, dir, dl) == 0 && n[dl] == '/' && !strchr(n + dl + 1, '/'))
                                names[k++] = simfs_xstrdup(n + dl + 1);
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
