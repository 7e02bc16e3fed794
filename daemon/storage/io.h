/* daemon/storage/io.h: the file operations the event log is allowed to use.
 *
 * Owns: the vtable every storage file operation goes through, so tests can
 * swap in a simulated disk (tests/unit/storage/io_sim.c) that loses unsynced
 * data at a "crash" and injects EIO/ENOSPC at chosen calls.
 *
 * Must never: hold state of its own (the context pointer carries it) or hide
 * an error: every operation returns a negative errno on failure and the
 * caller decides what it means.
 *
 * Handles are small non-negative integers chosen by the implementation (file
 * descriptors for the POSIX one). Paths are full paths ("dir/name").
 */
#ifndef RAFKTOR_STORAGE_IO_H
#define RAFKTOR_STORAGE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum storage_open_flags {
        STORAGE_O_READ = 1 << 0,   /* read only */
        STORAGE_O_WRITE = 1 << 1,  /* read and write */
        STORAGE_O_CREATE = 1 << 2, /* create if missing */
        STORAGE_O_EXCL = 1 << 3,   /* with CREATE: fail with -EEXIST if present */
        STORAGE_O_TRUNC = 1 << 4,  /* truncate to 0 on open */
};

struct storage_io {
        void *ctx;
        /* Returns a handle >= 0 or -errno. */
        int (*open)(void *ctx, const char *path, int flags);
        int (*close)(void *ctx, int fd);
        /* Full reads/writes: return the byte count (short only at end of file
         * for pread) or -errno. Implementations retry EINTR themselves. */
        ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len, uint64_t off);
        ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, uint64_t off);
        int (*fdatasync)(void *ctx, int fd);
        int (*fsync)(void *ctx, int fd);
        int (*ftruncate)(void *ctx, int fd, uint64_t len);
        int (*fallocate)(void *ctx, int fd, uint64_t off, uint64_t len); /* may be -EOPNOTSUPP */
        int (*size)(void *ctx, int fd, uint64_t *ret_size);
        int (*rename)(void *ctx, const char *from, const char *to);
        int (*unlink)(void *ctx, const char *path);
        int (*mkdir)(void *ctx, const char *path);  /* -EEXIST if present */
        int (*fsync_dir)(void *ctx, const char *dir);
        /* Names in `dir` (without "." and ".."), malloc'd array of malloc'd
         * strings; free with storage_names_free(). */
        int (*list_dir)(void *ctx, const char *dir, char ***ret_names, size_t *ret_n);
        /* Exclusive advisory lock of an open handle, non-blocking:
         * -EWOULDBLOCK if another process holds it. */
        int (*lock)(void *ctx, int fd);
};

/* The real thing: POSIX calls on the local file system. Stateless. */
const struct storage_io *storage_io_posix(void);

void storage_names_free(char **names, size_t n);

/* Reads exactly `len` bytes at `off`: -EIO (a short file) if fewer exist. */
int storage_read_full(const struct storage_io *io, int fd, void *buf, size_t len, uint64_t off);
/* Reads a whole file into a malloc'd buffer. */
int storage_read_file(const struct storage_io *io, const char *path, uint8_t **ret_buf,
                      size_t *ret_len);

#endif
