/* daemon/storage/error.h: how storage code tells its caller what went wrong.
 *
 * Owns: struct storage_error, a negative errno plus the file and byte offset
 * concerned and a full sentence for humans.
 *
 * Must never: log or exit; the caller decides.
 */
#ifndef RAFKTOR_STORAGE_ERROR_H
#define RAFKTOR_STORAGE_ERROR_H

#include <stdbool.h>
#include <stdint.h>

#define STORAGE_NO_OFFSET UINT64_MAX

struct storage_error {
        int code;           /* negative errno (-EBADMSG for damaged data) */
        char file[512];     /* full path, "" if no file is concerned */
        uint64_t offset;    /* byte offset in `file`, STORAGE_NO_OFFSET if none */
        char msg[1024];     /* "FILE: at byte N: what is wrong" */
};

/* Fills *e (if e is not NULL) and returns `code`. */
int storage_error_set(struct storage_error *e, int code, const char *file, uint64_t offset,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void storage_error_clear(struct storage_error *e);

#endif
