/* daemon/storage/error.c: fill a struct storage_error.
 *
 * Owns: the wording pattern "FILE: at byte N: reason (errno text)".
 *
 * Must never: log, allocate, or keep state.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/storage/error.h"

int storage_error_set(struct storage_error *e, int code, const char *file, uint64_t offset,
                      const char *fmt, ...)
{
        char reason[600];
        va_list ap;

        if (!e)
                return code;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        e->code = code;
        snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
        e->offset = offset;
        if (file && offset != STORAGE_NO_OFFSET)
                snprintf(e->msg, sizeof(e->msg), "%s: at byte %" PRIu64 ": %s", file, offset,
                         reason);
        else if (file)
                snprintf(e->msg, sizeof(e->msg), "%s: %s", file, reason);
        else
                snprintf(e->msg, sizeof(e->msg), "%s", reason);
        return code;
}

void storage_error_clear(struct storage_error *e)
{
        if (!e)
                return;
        memset(e, 0, sizeof(*e));
        e->offset = STORAGE_NO_OFFSET;
}
