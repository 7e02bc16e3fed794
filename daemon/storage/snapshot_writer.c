/* daemon/storage/snapshot_writer.c: the streaming snapshot writer.
 *
 * Owns: the temp file of one snapshot being written (unique name, data
 * appended through a 1 MiB buffer with the data CRC kept incrementally),
 * writing the configuration, the tail and the header at finish, the fsync,
 * and publishing (rename to <seq>.snap, directory fsync). snapshot_write()
 * is the whole sequence for data held in memory.
 *
 * Must never: give the file its final name before it is complete and
 * fsynced, take a lock or touch evlog state (it runs in fork()ed children
 * and on any thread), or retry a failed write or sync.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "daemon/storage/snapshot.h"

#define WRITER_BUF_SIZE (1024u * 1024u)
#define WRITER_NAME_TRIES 8

enum writer_state { W_WRITING, W_FINISHED, W_FAILED };

struct snapshot_writer {
        const struct storage_io *io;
        char *dir;
        char tmp[4096];
        char node_id[SNAPSHOT_ID_SIZE];
        int fd;
        enum writer_state state;
        int error;              /* sticky once state is W_FAILED */
        uint64_t data_len;      /* bytes appended (buffered or written) */
        uint64_t written;       /* bytes of data on the file */
        uLong data_crc;
        uint64_t seq;           /* set by finish */
        uint8_t *buf;
        size_t buf_len;
};

static uint64_t temp_token(const struct snapshot_writer *w, unsigned attempt)
{
        struct timespec ts;
        uint64_t v = 0;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
                return v;
        /* No entropy yet: pid, time and the object address are unique enough
         * together with O_EXCL and retries. */
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)getpid() << 40) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
        return v ^ (uint64_t)(uintptr_t)w ^ ((uint64_t)attempt << 56);
}

int snapshot_writer_begin(const struct storage_io *io, const char *dir, const char *node_id,
                          struct snapshot_writer **ret, struct storage_error *err)
{
        struct snapshot_writer *w;
        int fd = -EEXIST, r = -ENOMEM;

        storage_error_clear(err);
        if (!node_id || strlen(node_id) >= SNAPSHOT_ID_SIZE)
                return storage_error_set(err, -EINVAL, NULL, STORAGE_NO_OFFSET,
                                         "snapshot writer: node id of at most 63 bytes needed");
        w = calloc(1, sizeof(*w));
        if (!w)
                return storage_error_set(err, -ENOMEM, dir, STORAGE_NO_OFFSET, "out of memory");
        w->io = io;
        w->fd = -1;
        w->dir = strdup(dir);
        w->buf = malloc(WRITER_BUF_SIZE);
        if (!w->dir || !w->buf) {
                r = storage_error_set(err, -ENOMEM, dir, STORAGE_NO_OFFSET, "out of memory");
                goto fail;
        }
        snprintf(w->node_id, sizeof(w->node_id), "%s", node_id);
        w->data_crc = crc32(0L, Z_NULL, 0);
        for (unsigned i = 0; i < WRITER_NAME_TRIES && fd == -EEXIST; i++) {
                snprintf(w->tmp, sizeof(w->tmp), "%s/" SNAPSHOT_TMP_PREFIX "%016" PRIx64 ".tmp",
                         dir, temp_token(w, i));
                fd = io->open(io->ctx, w->tmp,
                              STORAGE_O_WRITE | STORAGE_O_CREATE | STORAGE_O_EXCL);
        }
        if (fd < 0) {
                r = storage_error_set(err, fd, w->tmp, STORAGE_NO_OFFSET,
                                  "cannot create snapshot temp file: %s", strerror(-fd));
                goto fail;
        }
        w->fd = fd;
        *ret = w;
        return 0;
fail:
        free(w->buf);
        free(w->dir);
        free(w);
        return r;
}

static int fail(struct snapshot_writer *w, int code, struct storage_error *err, uint64_t off,
                const char *what)
{
        w->state = W_FAILED;
        w->error = code;
        return storage_error_set(err, code, w->tmp, off, "cannot %s: %s", what,
                                 strerror(-code));
}

static int write_at(struct snapshot_writer *w, const uint8_t *p, size_t len, uint64_t off)
{
        ssize_t n;

        if (len == 0)
                return 0;
        n = w->io->pwrite(w->io->ctx, w->fd, p, len, off);
        if (n < 0)
                return (int)n;
        return (size_t)n == len ? 0 : -EIO;
}

static int flush_buf(struct snapshot_writer *w, struct storage_error *err)
{
        uint64_t off = SNAPSHOT_HEADER_SIZE + w->written;
        int r = write_at(w, w->buf, w->buf_len, off);

        if (r < 0)
                return fail(w, r, err, off, "write snapshot data");
        w->written += w->buf_len;
        w->buf_len = 0;
        return 0;
}

static int sticky(const struct snapshot_writer *w, struct storage_error *err, const char *call)
{
        if (w->state == W_FAILED)
                return storage_error_set(err, w->error, w->tmp, STORAGE_NO_OFFSET,
                                         "%s after an earlier failure: %s", call,
                                         strerror(-w->error));
        return storage_error_set(err, -EINVAL, w->tmp, STORAGE_NO_OFFSET,
                                 "%s: the snapshot is already finished", call);
}

int snapshot_writer_append(struct snapshot_writer *w, const uint8_t *data, size_t len,
                           struct storage_error *err)
{
        if (w->state != W_WRITING)
                return sticky(w, err, "snapshot_writer_append");
        if (len == 0)
                return 0;
        w->data_crc = crc32_z(w->data_crc, data, len);
        w->data_len += len;
        while (len > 0) {
                size_t n;
                int r;

                /* Large pieces bypass the buffer when it is empty. */
                if (w->buf_len == 0 && len >= WRITER_BUF_SIZE) {
                        uint64_t off = SNAPSHOT_HEADER_SIZE + w->written;
                        n = len - len % WRITER_BUF_SIZE;
                        r = write_at(w, data, n, off);
                        if (r < 0)
                                return fail(w, r, err, off, "write snapshot data");
                        w->written += n;
                } else {
                        n = WRITER_BUF_SIZE - w->buf_len;
                        if (n > len)
                                n = len;
                        memcpy(w->buf + w->buf_len, data, n);
                        w->buf_len += n;
                        if (w->buf_len == WRITER_BUF_SIZE && (r = flush_buf(w, err)) < 0)
                                return r;
                }
                data += n;
                len -= n;
        }
        return 0;
}

int snapshot_writer_finish(struct snapshot_writer *w, const struct snapshot_meta *meta,
                           struct storage_error *err)
{
        struct snapshot_header h;
        uint8_t hdr[SNAPSHOT_HEADER_SIZE];
        uint64_t off;
        uLong body, mc;
        int r;

        if (w->state != W_WRITING)
                return sticky(w, err, "snapshot_writer_finish");
        if (meta->seq == 0 || (meta->config_len && !meta->config) ||
            (meta->tail_len && !meta->tail) ||
            !memchr(meta->voted_for, 0, sizeof(meta->voted_for)))
                return storage_error_set(err, -EINVAL, w->tmp, STORAGE_NO_OFFSET,
                                         "snapshot_writer_finish: seq must be > 0, config and "
                                         "tail given with their lengths, voted_for terminated");
        r = flush_buf(w, err);
        if (r < 0)
                return r;
        off = SNAPSHOT_HEADER_SIZE + w->data_len;
        r = write_at(w, meta->config, meta->config_len, off);
        if (r < 0)
                return fail(w, r, err, off, "write snapshot configuration");
        off += meta->config_len;
        r = write_at(w, meta->tail, meta->tail_len, off);
        if (r < 0)
                return fail(w, r, err, off, "write snapshot log tail");

        memset(&h, 0, sizeof(h));
        h.seq = meta->seq;
        h.index = meta->index;
        h.term = meta->term;
        h.vote_term = meta->vote_term;
        snprintf(h.voted_for, sizeof(h.voted_for), "%s", meta->voted_for);
        snprintf(h.node_id, sizeof(h.node_id), "%s", w->node_id);
        h.data_len = w->data_len;
        h.config_len = meta->config_len;
        h.tail_len = meta->tail_len;
        h.data_crc = (uint32_t)w->data_crc;
        body = w->data_crc;
        mc = crc32(0L, Z_NULL, 0);
        if (meta->config_len) {
                body = crc32_z(body, meta->config, meta->config_len);
                mc = crc32_z(mc, meta->config, meta->config_len);
        }
        if (meta->tail_len) {
                body = crc32_z(body, meta->tail, meta->tail_len);
                mc = crc32_z(mc, meta->tail, meta->tail_len);
        }
        h.body_crc = (uint32_t)body;
        h.meta_crc = (uint32_t)mc;
        snapshot_header_encode(&h, hdr);
        r = write_at(w, hdr, sizeof(hdr), 0);
        if (r < 0)
                return fail(w, r, err, 0, "write snapshot header");
        r = w->io->fsync(w->io->ctx, w->fd);
        if (r < 0)
                return fail(w, r, err, STORAGE_NO_OFFSET, "fsync snapshot");
        w->seq = meta->seq;
        w->state = W_FINISHED;
        return 0;
}

int snapshot_writer_adopt(struct snapshot_writer *w, struct storage_error *err)
{
        uint8_t hdr[SNAPSHOT_HEADER_SIZE];
        struct snapshot_header h;
        const char *why = NULL;
        uint64_t size, bad_off;
        ssize_t n;
        int r;

        if (w->state != W_WRITING || w->data_len != 0)
                return storage_error_set(err, -EINVAL, w->tmp, STORAGE_NO_OFFSET,
                                         "snapshot_writer_adopt: this process wrote to the "
                                         "snapshot itself");
        r = w->io->size(w->io->ctx, w->fd, &size);
        if (r < 0)
                return storage_error_set(err, r, w->tmp, STORAGE_NO_OFFSET,
                                         "cannot get the size of the snapshot temp file: %s",
                                         strerror(-r));
        n = w->io->pread(w->io->ctx, w->fd, hdr, sizeof(hdr), 0);
        if (n < 0)
                return storage_error_set(err, (int)n, w->tmp, 0,
                                         "cannot read the snapshot temp file header: %s",
                                         strerror((int)-n));
        r = snapshot_header_parse(hdr, (size_t)n, size, &h, &why, &bad_off);
        if (r < 0)
                return storage_error_set(err, r, w->tmp, bad_off,
                                         "snapshot temp file was not finished: %s", why);
        if (strcmp(h.node_id, w->node_id) != 0)
                return storage_error_set(err, -EBADMSG, w->tmp, 72,
                                         "snapshot temp file belongs to node \"%s\", this "
                                         "node is \"%s\"", h.node_id, w->node_id);
        w->seq = h.seq;
        w->data_len = h.data_len;
        w->written = h.data_len;
        w->data_crc = h.data_crc;
        w->state = W_FINISHED;
        return 0;
}

static void writer_free(struct snapshot_writer *w)
{
        if (w->fd >= 0)
                w->io->close(w->io->ctx, w->fd);
        free(w->buf);
        free(w->dir);
        free(w);
}

int snapshot_writer_publish(struct snapshot_writer *w, struct storage_error *err)
{
        const struct storage_io *io = w->io;
        char name[SNAPSHOT_NAME_LEN + 1], path[4200];
        int r;

        if (w->state != W_FINISHED) {
                r = storage_error_set(err, w->state == W_FAILED ? w->error : -EINVAL, w->tmp,
                                      STORAGE_NO_OFFSET,
                                      "snapshot_writer_publish: the snapshot is not finished");
                io->unlink(io->ctx, w->tmp);
                writer_free(w);
                return r;
        }
        snapshot_name(w->seq, name);
        snprintf(path, sizeof(path), "%s/%s", w->dir, name);
        r = io->close(io->ctx, w->fd);
        w->fd = -1;
        if (r < 0) {
                storage_error_set(err, r, w->tmp, STORAGE_NO_OFFSET,
                                  "cannot close snapshot temp file: %s", strerror(-r));
                goto fail_unlink;
        }
        r = io->rename(io->ctx, w->tmp, path);
        if (r < 0) {
                storage_error_set(err, r, w->tmp, STORAGE_NO_OFFSET,
                                  "cannot rename snapshot to %s: %s", name, strerror(-r));
                goto fail_unlink;
        }
        r = io->fsync_dir(io->ctx, w->dir);
        if (r < 0)
                /* The rename may or may not be durable: the file is complete
                 * either way, so leave it; the caller must not compact. */
                storage_error_set(err, r, w->dir, STORAGE_NO_OFFSET,
                                  "cannot fsync directory after snapshot %s: %s", name,
                                  strerror(-r));
        writer_free(w);
        return r;

fail_unlink:
        io->unlink(io->ctx, w->tmp);
        writer_free(w);
        return r;
}

void snapshot_writer_abort(struct snapshot_writer *w)
{
        if (!w)
                return;
        if (w->fd >= 0) {
                w->io->close(w->io->ctx, w->fd);
                w->fd = -1;
        }
        w->io->unlink(w->io->ctx, w->tmp);
        writer_free(w);
}

uint32_t snapshot_writer_data_crc(const struct snapshot_writer *w)
{
        return (uint32_t)w->data_crc;
}

uint64_t snapshot_writer_data_len(const struct snapshot_writer *w)
{
        return w->data_len;
}

const char *snapshot_writer_path(const struct snapshot_writer *w)
{
        return w->tmp;
}

int snapshot_write(const struct storage_io *io, const char *dir, const char *node_id,
                   const struct snapshot_meta *meta, const uint8_t *data, size_t len,
                   struct storage_error *err)
{
        struct snapshot_writer *w;
        int r;

        if (meta->seq == 0)
                return storage_error_set(err, -EINVAL, NULL, STORAGE_NO_OFFSET,
                                         "snapshot sequence number must be > 0");
        r = snapshot_writer_begin(io, dir, node_id, &w, err);
        if (r < 0)
                return r;
        r = snapshot_writer_append(w, data, len, err);
        if (r == 0)
                r = snapshot_writer_finish(w, meta, err);
        if (r < 0) {
                snapshot_writer_abort(w);
                return r;
        }
        return snapshot_writer_publish(w, err);
}
