/* lib/log-internal.h: what lib/log.c and lib/log-output.c share (and unit
 * tests may look at). Not for other modules: use lib/log.h.
 *
 * Owns: the fixed-size record an entry is copied into before it is written
 * (so the async queue needs no allocation per entry) and the output helpers.
 * Must never: allocate or block on anything but the output fd or socket.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/log.h"

/* Context fields (3) plus caller fields. */
#define LOG_FIELDS_N_MAX 19
/* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE, CODE_LINE, CODE_FUNC, ERRNO. */
#define LOG_JOURNAL_IOV_MAX (7 + LOG_FIELDS_N_MAX)

/* One entry copied out of the caller's arguments. `fields` holds n_fields
 * pairs packed as "KEY\0VALUE\0". */
struct log_record {
        int level;
        int errnum;
        int line;
        const char *file;       /* __FILE__ and __func__: static strings */
        const char *func;
        struct timespec realtime;
        size_t n_fields;
        size_t fields_len;
        bool truncated;         /* the TRUNCATED=1 marker was added */
        char message[LOG_MESSAGE_MAX];
        char fields[LOG_FIELDS_MAX];
};

/* Appends KEY\0VALUE\0 to the record; a pair that does not fit is dropped
 * and the record is marked with a TRUNCATED=1 field when there is room. */
void log_record_add_field(struct log_record *rec, const char *key, const char *value);

/* Points entry at rec (entry->fields at `fields`, which must hold
 * LOG_FIELDS_N_MAX elements). */
void log_record_to_entry(const struct log_record *rec, const char *ident,
                         struct log_field *fields, struct log_entry *entry);

/* Builds the journald iovecs for entry into iov (LOG_JOURNAL_IOV_MAX
 * elements), using buf for the "KEY=value" strings. Returns the count. */
size_t log_journal_build(const struct log_entry *entry, struct iovec *iov, char *buf,
                         size_t size);

/* Sends to journald; 0 or a negative errno. */
int log_journal_send(const struct log_entry *entry);

/* Writes all of buf to fd, retrying on EINTR, giving up on other errors. */
void log_write_all(int fd, const char *buf, size_t len);
