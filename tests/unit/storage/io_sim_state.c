/* tests/unit/storage/io_sim_state.c: the simulated disk's state (see
 * io_sim.h): name tables and inode contents, the logs of unsynced writes and
 * name operations, and what survives a crash.
 *
 * Must never: make anything durable that the real kernel would not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/storage/io_sim_internal.h"

void *simfs_xrealloc(void *p, size_t n)
{
        void *q = realloc(p, n ? n : 1);
        if (!q)
                abort();
        return q;
}

char *simfs_xstrdup(const char *s)
{
        char *d = strdup(s);
        if (!d)
                abort();
        return d;
}

void *simfs_xmemdup(const void *p, size_t n)
{
        void *d = simfs_xrealloc(NULL, n);
        if (n)
                memcpy(d, p, n);
        return d;
}

void simfs_buf_write(uint8_t **buf, size_t *len, uint64_t off, const uint8_t *data, size_t n)
{
        if (off + n > *len) {
                *buf = simfs_xrealloc(*buf, off + n);
                memset(*buf + *len, 0, off + n - *len);
                *len = off + n;
        }
        if (n)
                memcpy(*buf + off, data, n);
}

void simfs_buf_trunc(uint8_t **buf, size_t *len, uint64_t n)
{
        if (n > *len) {
                *buf = simfs_xrealloc(*buf, n);
                memset(*buf + *len, 0, n - *len);
        }
        *len = n;
}

int simfs_names_find(const struct names *ns, const char *name)
{
        for (size_t i = 0; i < ns->n; i++)
                if (strcmp(ns->d[i].name, name) == 0)
                        return (int)i;
        return -1;
}

void simfs_names_set(struct names *ns, const char *name, int ino)
{
        int i = simfs_names_find(ns, name);

        if (i >= 0) {
                ns->d[i].ino = ino;
                return;
        }
        ns->d = simfs_xrealloc(ns->d, (ns->n + 1) * sizeof(*ns->d));
        ns->d[ns->n].name = simfs_xstrdup(name);
        ns->d[ns->n].ino = ino;
        ns->n++;
}

void simfs_names_del(struct names *ns, const char *name)
{
        int i = simfs_names_find(ns, name);

        if (i < 0)
                return;
        free(ns->d[i].name);
        ns->d[i] = ns->d[--ns->n];
}

void simfs_names_free(struct names *ns)
{
        for (size_t i = 0; i < ns->n; i++)
                free(ns->d[i].name);
        free(ns->d);
        ns->d = NULL;
        ns->n = 0;
}

void simfs_names_copy(struct names *dst, const struct names *src)
{
        simfs_names_free(dst);
        dst->d = simfs_xrealloc(NULL, src->n * sizeof(*dst->d));
        for (size_t i = 0; i < src->n; i++) {
                dst->d[i].name = simfs_xstrdup(src->d[i].name);
                dst->d[i].ino = src->d[i].ino;
        }
        dst->n = src->n;
}

void simfs_dop_apply(struct names *ns, const struct dop *op)
{
        int i;

        switch (op->kind) {
        case DOP_LINK:
                simfs_names_set(ns, op->a, op->ino);
                break;
        case DOP_UNLINK:
                simfs_names_del(ns, op->a);
                break;
        case DOP_RENAME:
                i = simfs_names_find(ns, op->a);
                if (i >= 0) {
                        int ino = ns->d[i].ino;
                        simfs_names_del(ns, op->a);
                        simfs_names_set(ns, op->b, ino);
                }
                break;
        }
}

void simfs_dops_clear(struct io_sim *s)
{
        for (size_t i = 0; i < s->n_dops; i++) {
                free(s->dops[i].a);
                free(s->dops[i].b);
        }
        free(s->dops);
        s->dops = NULL;
        s->n_dops = 0;
}

void simfs_dop_log(struct io_sim *s, int kind, const char *a, const char *b, int ino)
{
        s->dops = simfs_xrealloc(s->dops, (s->n_dops + 1) * sizeof(*s->dops));
        s->dops[s->n_dops].kind = kind;
        s->dops[s->n_dops].a = simfs_xstrdup(a);
        s->dops[s->n_dops].b = b ? simfs_xstrdup(b) : NULL;
        s->dops[s->n_dops].ino = ino;
        s->n_dops++;
}

void simfs_fops_clear(struct inode *in)
{
        for (size_t i = 0; i < in->n_ops; i++)
                free(in->ops[i].data);
        free(in->ops);
        in->ops = NULL;
        in->n_ops = 0;
}

void simfs_fop_log(struct inode *in, int kind, uint64_t off, const void *data, size_t len)
{
        in->ops = simfs_xrealloc(in->ops, (in->n_ops + 1) * sizeof(*in->ops));
        in->ops[in->n_ops].kind = kind;
        in->ops[in->n_ops].off = off;
        in->ops[in->n_ops].data = data ? simfs_xmemdup(data, len) : NULL;
        in->ops[in->n_ops].len = len;
        in->n_ops++;
}

/* Crash and fault checks for a call of `op` (mutating or not). */

void io_sim_free(struct io_sim *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_inodes; i++) {
                free(s->inodes[i].cur);
                free(s->inodes[i].dur);
                simfs_fops_clear(&s->inodes[i]);
        }
        free(s->inodes);
        simfs_names_free(&s->cur);
        simfs_names_free(&s->dur);
        simfs_dops_clear(s);
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
        c->inodes = simfs_xrealloc(NULL, s->n_inodes * sizeof(*c->inodes));
        c->n_inodes = s->n_inodes;
        for (size_t i = 0; i < s->n_inodes; i++) {
                struct inode *d = &c->inodes[i], *o = &s->inodes[i];
                memset(d, 0, sizeof(*d));
                d->cur = simfs_xmemdup(o->cur, o->cur_len);
                d->cur_len = o->cur_len;
                d->dur = simfs_xmemdup(o->dur, o->dur_len);
                d->dur_len = o->dur_len;
                d->lock_holder = -1;
                for (size_t k = 0; k < o->n_ops; k++)
                        simfs_fop_log(d, o->ops[k].kind, o->ops[k].off, o->ops[k].data,
                                o->ops[k].len);
        }
        simfs_names_copy(&c->cur, &s->cur);
        simfs_names_copy(&c->dur, &s->dur);
        for (size_t i = 0; i < s->n_dops; i++)
                simfs_dop_log(c, s->dops[i].kind, s->dops[i].a, s->dops[i].b, s->dops[i].ino);
        for (size_t i = 0; i < s->n_dirs; i++) {
                c->dirs = simfs_xrealloc(c->dirs, (c->n_dirs + 1) * sizeof(char *));
                c->dirs[c->n_dirs++] = simfs_xstrdup(s->dirs[i]);
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
                                simfs_buf_write(&in->dur, &in->dur_len, op->off, op->data, op->len);
                        else
                                simfs_buf_trunc(&in->dur, &in->dur_len, op->off);
                }
                if (k < in->n_ops && in->ops[k].kind == FOP_WRITE && in->ops[k].len &&
                    splitmix(&rng) % 2) {
                        size_t part = (size_t)(splitmix(&rng) % in->ops[k].len);
                        simfs_buf_write(&in->dur, &in->dur_len, in->ops[k].off, in->ops[k].data,
                                  part);
                }
                free(in->cur);
                in->cur = simfs_xmemdup(in->dur, in->dur_len);
                in->cur_len = in->dur_len;
                in->lock_holder = -1;
                simfs_fops_clear(in);
        }
        {
                size_t k = torn ? (size_t)(splitmix(&rng) % (s->n_dops + 1)) : 0;
                for (size_t j = 0; j < k; j++)
                        simfs_dop_apply(&s->dur, &s->dops[j]);
                simfs_dops_clear(s);
                simfs_names_copy(&s->cur, &s->dur);
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
        i = simfs_names_find(&s->cur, path);
        if (i >= 0) {
                struct inode *in = &s->inodes[s->cur.d[i].ino];
                *ret_data = simfs_xmemdup(in->cur, in->cur_len);
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
        i = simfs_names_find(&s->cur, path);
        if (i >= 0) {
                struct inode *in = &s->inodes[s->cur.d[i].ino];
                free(in->cur);
                free(in->dur);
                in->cur = simfs_xmemdup(data, len);
                in->dur = simfs_xmemdup(data, len);
                in->cur_len = in->dur_len = len;
                simfs_fops_clear(in);
                r = 0;
        }
        pthread_mutex_unlock(&s->mu);
        return r;
}
