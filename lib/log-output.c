/* lib/log-output.c: how one log entry looks on each output.
 *
 * Owns: level names, the JOURNAL_STREAM check, plain and "<N>" stderr lines,
 * the journald field list, and the raw writes.
 * Must never: take the logger's lock or keep state; every function here is a
 * pure transformation or one write.
 */
#define SD_JOURNAL_SUPPRESS_LOCATION 1

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "lib/log-internal.h"

static const char *const level_names[8] = {
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

const char *log_level_to_string(int level) {
        if (level < 0 || level > 7)
                return NULL;
        return level_names[level];
}

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < 8; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        return -EINVAL;
}

static bool parse_u64_strict(const char *s, const char *end, uint64_t *ret) {
        uint64_t v = 0;

        if (s == end)
                return false;
        for (const char *p = s; p < end; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return false;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        *ret = v;
        return true;
}

bool log_fd_is_journal_stream(int fd) {
        const char *e = getenv("JOURNAL_STREAM");
        const char *colon;
        uint64_t dev, ino;
        struct stat st;

        if (!e || !*e)
                return false;
        colon = strchr(e, ':');
        if (!colon)
                return false;
        if (!parse_u64_strict(e, colon, &dev) ||
            !parse_u64_strict(colon + 1, colon + 1 + strlen(colon + 1), &ino))
                return false;
        if (fstat(fd, &st) < 0)
                return false;
        return (uint64_t) st.st_dev == dev && (uint64_t) st.st_ino == ino;
}

/* Appends src to buf at *pos, replacing control characters (a newline would
 * forge a second entry on a line-oriented stream) with '?'. */
static void append_clean(char *buf, size_t size, size_t *pos, const char *src) {
        for (; *src && *pos + 1 < size; src++, (*pos)++) {
                unsigned char c = (unsigned char) *src;
                buf[*pos] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char) c;
        }
        buf[*pos] = '\0';
}

static void append_raw(char *buf, size_t size, size_t *pos, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void append_raw(char *buf, size_t size, size_t *pos, const char *fmt, ...) {
        va_list ap;
        int n;

        if (*pos + 1 >= size)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        *pos += (size_t) n < size - *pos ? (size_t) n : size - *pos - 1;
}

size_t log_format_line(char *buf, size_t size, const struct log_entry *entry, bool prefix) {
        size_t pos = 0;

        if (size == 0)
                return 0;
        buf[0] = '\0';
        if (prefix) {
                append_raw(buf, size, &pos, "<%d>", entry->level);
        } else {
                struct tm tm;
                time_t sec = entry->realtime.tv_sec;
                const char *name = log_level_to_string(entry->level);

                if (!gmtime_r(&sec, &tm))
                        memset(&tm, 0, sizeof(tm));
                append_raw(buf, size, &pos, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
                           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                           tm.tm_min, tm.tm_sec, entry->realtime.tv_nsec / 1000000L,
                           name ? name : "?");
                append_clean(buf, size, &pos, entry->ident ? entry->ident : "rafktor");
                append_raw(buf, size, &pos, ": ");
        }
        append_clean(buf, size, &pos, entry->message);
        for (size_t i = 0; i < entry->n_fields; i++) {
                append_raw(buf, size, &pos, i == 0 ? " [" : " ");
                append_clean(buf, size, &pos, entry->fields[i].key);
                append_raw(buf, size, &pos, "=");
                append_clean(buf, size, &pos, entry->fields[i].value);
                if (i + 1 == entry->n_fields)
                        append_raw(buf, size, &pos, "]");
        }
        return pos;
}

void log_record_add_field(struct log_record *rec, const char *key, const char *value) {
        static const char marker[] = "TRUNCATED\0" "1";
        size_t kl = strlen(key), vl = strlen(value);

        if (rec->truncated)
                return;
        /* Every pair added leaves room (bytes and one slot) for the marker. */
        if (rec->n_fields < LOG_FIELDS_N_MAX - 1 &&
            rec->fields_len + kl + vl + 2 + sizeof(marker) <= sizeof(rec->fields)) {
                memcpy(rec->fields + rec->fields_len, key, kl + 1);
                memcpy(rec->fields + rec->fields_len + kl + 1, value, vl + 1);
                rec->fields_len += kl + vl + 2;
                rec->n_fields++;
                return;
        }
        memcpy(rec->fields + rec->fields_len, marker, sizeof(marker));
        rec->fields_len += sizeof(marker);
        rec->n_fields++;
        rec->truncated = true;
}

void log_record_to_entry(const struct log_record *rec, const char *ident,
                         struct log_field *fields, struct log_entry *entry) {
        const char *p = rec->fields;

        for (size_t i = 0; i < rec->n_fields; i++) {
                fields[i].key = p;
                p += strlen(p) + 1;
                fields[i].value = p;
                p += strlen(p) + 1;
        }
        *entry = (struct log_entry) {
                .level = rec->level,
                .errnum = rec->errnum,
                .file = rec->file,
                .line = rec->line,
                .func = rec->func,
                .ident = ident,
                .message = rec->message,
                .fields = fields,
                .n_fields = rec->n_fields,
                .realtime = rec->realtime,
        };
}

/* Formats one "KEY=value" into buf at *pos and points iov at it. */
static void iov_add(struct iovec *iov, size_t *n, char *buf, size_t size, size_t *pos,
                    const char *key, const char *value) {
        int len;

        if (*pos >= size)
                return;
        len = snprintf(buf + *pos, size - *pos, "%s=%s", key, value);
        if (len < 0)
                return;
        if ((size_t) len >= size - *pos)
                len = (int) (size - *pos - 1);
        iov[*n] = (struct iovec) { .iov_base = buf + *pos, .iov_len = (size_t) len };
        (*n)++;
        *pos += (size_t) len + 1;
}

size_t log_journal_build(const struct log_entry *entry, struct iovec *iov, char *buf,
                         size_t size) {
        char num[24];
        size_t n = 0, pos = 0;

        iov_add(iov, &n, buf, size, &pos, "MESSAGE", entry->message);
        snprintf(num, sizeof(num), "%d", entry->level);
        iov_add(iov, &n, buf, size, &pos, "PRIORITY", num);
        iov_add(iov, &n, buf, size, &pos, "SYSLOG_IDENTIFIER",
                entry->ident ? entry->ident : "rafktor");
        if (entry->file) {
                iov_add(iov, &n, buf, size, &pos, "CODE_FILE", entry->file);
                snprintf(num, sizeof(num), "%d", entry->line);
                iov_add(iov, &n, buf, size, &pos, "CODE_LINE", num);
        }
        if (entry->func)
                iov_add(iov, &n, buf, size, &pos, "CODE_FUNC", entry->func);
        if (entry->errnum > 0) {
                snprintf(num, sizeof(num), "%d", entry->errnum);
                iov_add(iov, &n, buf, size, &pos, "ERRNO", num);
        }
        for (size_t i = 0; i < entry->n_fields && n < LOG_JOURNAL_IOV_MAX; i++)
                iov_add(iov, &n, buf, size, &pos, entry->fields[i].key, entry->fields[i].value);
        return n;
}

int log_journal_send(const struct log_entry *entry) {
        struct iovec iov[LOG_JOURNAL_IOV_MAX];
        char buf[LOG_LINE_MAX + 512];
        size_t n = log_journal_build(entry, iov, buf, sizeof(buf));

        return sd_journal_sendv(iov, (int) n);
}

void log_write_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t w = write(fd, buf, len);

                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                buf += w;
                len -= (size_t) w;
        }
}
