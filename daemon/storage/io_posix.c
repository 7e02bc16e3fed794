/* daemon/storage/io_posix.c: the storage_io vtable on real POSIX calls.
 *
 * Owns: the mapping of each storage_io operation to one system call, EINTR
 * retries, and full-length read/write loops.
 *
 * Must never: retry a failed write or sync (EIO, ENOSPC go straight back to
 * the caller), cache anything, or keep state.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/storage/io.h"

static int posix_open(void *ctx, const char *path, int flags)
{
        int oflags = O_CLOEXEC;
        int fd;

        oflags |= (flags & STORAGE_O_WRITE) ? O_RDWR : O_RDONLY;
        if (flags & STORAGE_O_CREATE)
                oflags |= O_CREAT;
        if (flags & STORAGE_O_EXCL)
                oflags |= O_EXCL;
        if (flags & STORAGE_O_TRUNC)
                oflags |= O_TRUNC;
        do
                fd = open(path, oflags, 0640);
        while (fd < 0 && errno == EINTR);
        return fd < 0 ? -errno : fd;
}

static int posix_close(void *ctx, int fd)
{
        return close(fd) < 0 ? -errno : 0;
}

static ssize_t posix_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        return (ssize_t)done;
}

static ssize_t posix_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done,
                                   (off_t)(off + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                done += (size_t)n;
        }
        return (ssize_t)done;
}

static int posix_fdatasync(void *ctx, int fd)
{
        /* Never retried on EINTR: after a failed sync the page cache state is
         * unknown (the caller treats any failure as sticky). */
        return fdatasync(fd) < 0 ? -errno : 0;
}

static int posix_fsync(void *ctx, int fd)
{
        return fsync(fd) < 0 ? -errno : 0;
}

static int posix_ftruncate(void *ctx, int fd, uint64_t len)
{
        return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

static int io_fallocate(void *ctx, int fd, uint64_t off, uint64_t len)
{
        int r = posix_fallocate(fd, (off_t)off, (off_t)len);
        return r == EINVAL ? -EOPNOTSUPP : -r;
}

static int posix_size(void *ctx, int fd, uint64_t *ret_size)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        *ret_size = (uint64_t)st.st_size;
        return 0;
}

static int posix_rename(void *ctx, const char *from, const char *to)
{
        return rename(from, to) < 0 ? -errno : 0;
}

static int posix_unlink(void *ctx, const char *path)
{
        return unlink(path) < 0 ? -errno : 0;
}

static int posix_mkdir(void *ctx, const char *path)
{
        return mkdir(path, 0750) < 0 ? -errno : 0;
}

static int posix_fsync_dir(void *ctx, const char *dir)
{
        int fd, r = 0;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

static int posix_list_dir(void *ctx, const char *dir, char ***ret_names, size_t *ret_n)
{
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return -errno;
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = -errno;
                        break;
                }
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 16;
                        char **nn = realloc(names, ncap * sizeof(*nn));
                        if (!nn) {
                                r = -ENOMEM;
                                break;
                        }
                        names = nn;
                        cap = ncap;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);
        if (r < 0) {
                storage_names_free(names, n);
                return r;
        }
        *ret_names = names;
        *ret_n = n;
        return 0;
}

static int posix_lock(void *ctx, int fd)
{
        return flock(fd, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
}

static const struct storage_io posix_io = {
        .ctx = NULL,
        .open = posix_open,
        .close = posix_close,
        .pread = posix_pread,
        .pwrite = posix_pwrite,
        .fdatasync = posix_fdatasync,
        .fsync = posix_fsync,
        .ftruncate = posix_ftruncate,
        .fallocate = io_fallocate,
        .size = posix_size,
        .rename = posix_rename,
        .unlink = posix_unlink,
        .mkdir = posix_mkdir,
        .fsync_dir = posix_fsync_dir,
        .list_dir = posix_list_dir,
        .lock = posix_lock,
};

const struct storage_io *storage_io_posix(void)
{
        return &posix_io;
}

void storage_names_free(char **names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

int storage_read_full(const struct storage_io *io, int fd, void *buf, size_t len, uint64_t off)
{
        ssize_t n = io->pread(io->ctx, fd, buf, len, off);

        if (n < 0)
                return (int)n;
        return (size_t)n == len ? 0 : -EIO;
}

int storage_read_file(const struct storage_io *io, const char *path, uint8_t **ret_buf,
                      size_t *ret_len)
{
        uint64_t size;
        uint8_t *buf;
        int fd, r;

        fd = io->open(io->ctx, path, STORAGE_O_READ);
        if (fd < 0)
                return fd;
        r = io->size(io->ctx, fd, &size);
        if (r < 0)
                goto out_close;
        if (size > SIZE_MAX - 1) {
                r = -EFBIG;
                goto out_close;
        }
        buf = malloc(size ? (size_t)size : 1);
        if (!buf) {
                r = -ENOMEM;
                goto out_close;
        }
        r = storage_read_full(io, fd, buf, (size_t)size, 0);
        if (r < 0) {
                free(buf);
                goto out_close;
        }
        *ret_buf = buf;
        *ret_len = (size_t)size;
out_close:
        io->close(io->ctx, fd);
        return r;
}
