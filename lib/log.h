/* lib/log.h: the logger shared by rafktord and raftctl.
 *
 * Owns: turning one log call into one entry on the right output: structured
 * journald entries (sd_journal_sendv) when stderr is connected to the
 * journal, plain stderr lines ("2026-11-26T19:11:32.123Z info rafktord:
 * text") otherwise, or "<N>text" lines for SyslogLevelPrefix when asked.
 * Level filtering, the errno helpers (`return log_error_errno(lg, r, "Failed
 * to open %s: %m", path);` returns -|r| and %m prints strerror(|r|)), the
 * node context (NODE_ID, RAFT_TERM, RAFT_ROLE) attached to every entry, and a
 * sink callback that replaces the output so tests can capture entries.
 *
 * Must never: keep global state (every call takes a `struct log *`; NULL is
 * allowed and means "plain stderr, level info, no context"), block a caller
 * for long (async mode queues entries for a writer thread and drops, with a
 * count, when the queue is full), or change errno as seen by the caller.
 *
 * Thread safety: every function may be called from any thread once log_new()
 * returned, except log_free(). The sink is called with the logger's lock
 * held (sync mode) or from the writer thread (async mode), one entry at a
 * time.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

/* Levels are the syslog priorities: LOG_ERR (3), LOG_WARNING (4),
 * LOG_NOTICE (5), LOG_INFO (6), LOG_DEBUG (7). LOG_EMERG..LOG_CRIT are
 * accepted and printed as "emerg", "alert", "crit". */

enum log_target {
        LOG_TARGET_AUTO = 0,      /* journal if stderr is the journal stream, else STDERR */
        LOG_TARGET_JOURNAL,       /* structured entries with sd_journal_sendv() */
        LOG_TARGET_STDERR,        /* "TIMESTAMP LEVEL IDENT: text [FIELDS]" lines */
        LOG_TARGET_STDERR_PREFIX, /* "<N>text [FIELDS]" lines, for SyslogLevelPrefix= */
};

/* One caller-given field. Keys follow journald rules: uppercase letters,
 * digits and '_', not starting with '_'; journald drops other keys. */
struct log_field {
        const char *key;
        const char *value;
};

/* What a sink receives. `fields` holds the context fields (NODE_ID,
 * RAFT_TERM, RAFT_ROLE, each only when set) followed by the caller's fields.
 * Everything is valid only during the sink call. */
struct log_entry {
        int level;
        int errnum;             /* positive errno the entry was logged with, or 0 */
        const char *file;
        int line;
        const char *func;
        const char *ident;
        const char *message;    /* formatted text, %m already expanded */
        const struct log_field *fields;
        size_t n_fields;
        struct timespec realtime;       /* CLOCK_REALTIME when the call was made */
};

/* `line` is the entry rendered as a stderr line, without '\n': plain for
 * LOG_TARGET_STDERR, "<N>" prefixed for the other targets (the journal
 * target falls back to that form when sd_journal_sendv() fails). */
typedef void (*log_sink_fn)(void *userdata, const struct log_entry *entry, const char *line);

struct log_options {
        const char *ident;      /* SYSLOG_IDENTIFIER and name in plain lines; copied */
        int max_level;          /* entries with level > max_level are dropped */
        enum log_target target;
        int out_fd;             /* stderr targets write here (and AUTO checks it) */
        bool async;             /* hand entries to a writer thread (daemon) */
        unsigned queue_size;    /* async: entries the queue holds before dropping */
        log_sink_fn sink;       /* when set, replaces every output */
        void *sink_userdata;
};

/* Size limits: longer text or fields are truncated, never rejected. */
#define LOG_MESSAGE_MAX 1024
#define LOG_FIELDS_MAX 512
#define LOG_LINE_MAX (LOG_MESSAGE_MAX + LOG_FIELDS_MAX + 128)

struct log;

/* Defaults: ident "rafktor", max_level LOG_INFO, LOG_TARGET_AUTO, out_fd
 * STDERR_FILENO, sync, queue_size 256, no sink. */
void log_options_init(struct log_options *opts);

/* 0 on success, -EINVAL on bad options, -ENOMEM, or the error of starting
 * the writer thread. AUTO is resolved here (see log_get_target()). */
int log_new(const struct log_options *opts, struct log **ret);

/* Drains the queue (async), stops the writer, frees. NULL is a no-op. */
void log_free(struct log *lg);

/* Waits, on a condition, until every entry queued so far was written.
 * 0, or -ETIMEDOUT after timeout_ms. Sync loggers return 0 at once. */
int log_flush(struct log *lg, int timeout_ms);

void log_set_max_level(struct log *lg, int level);
int log_get_max_level(struct log *lg);
enum log_target log_get_target(struct log *lg);

/* Entries dropped because the async queue was full, since log_new(). */
uint64_t log_get_dropped(struct log *lg);

/* The node context attached to every later entry. A NULL or empty id, or a
 * NULL role, removes that field; log_set_raft_state() also turns on
 * RAFT_TERM. Strings are copied (id up to 63 bytes, role up to 15). */
void log_set_node_id(struct log *lg, const char *node_id);
void log_set_raft_state(struct log *lg, uint64_t term, const char *role);

/* "err", "warning", "notice", "info", "debug" (and "emerg", "alert",
 * "crit"). log_level_to_string returns NULL for a level outside 0..7;
 * log_level_from_string returns the level or -EINVAL. */
const char *log_level_to_string(int level);
int log_level_from_string(const char *s);

/* True when `fd` is the stream the service manager connected to journald:
 * $JOURNAL_STREAM is "DEV:INO" (decimal) and equals fstat(fd)'s st_dev and
 * st_ino. False when the variable is unset, malformed or different. */
bool log_fd_is_journal_stream(int fd);

/* Renders one entry as a stderr line (no '\n') into buf; with `prefix` as
 * "<N>text", otherwise as "YYYY-MM-DDTHH:MM:SS.mmmZ LEVEL IDENT: text".
 * Fields follow as " [KEY=value KEY=value]" when there are any. Returns the
 * length written (truncated to size - 1). */
size_t log_format_line(char *buf, size_t size, const struct log_entry *entry, bool prefix);

/* The one entry point behind the macros. errnum is 0 (none) or an errno of
 * either sign; when it is non-zero, %m in fmt prints strerror(|errnum|) and
 * the entry carries ERRNO=. Returns -|errnum| (0 when errnum is 0), also
 * when the level is filtered out. errno is preserved. */
int log_internal(struct log *lg, int level, int errnum, const char *file, int line,
                 const char *func, const struct log_field *fields, size_t n_fields,
                 const char *fmt, ...) __attribute__((format(printf, 9, 10)));

/* For the _errno macros: an error path must never return 0, so an errno of
 * 0 (a caller bug) becomes -EIO. */
static inline int log_errno_value(int r) {
        return r == 0 ? -EIO : r;
}

#define log_full(lg, level, ...) \
        log_internal((lg), (level), 0, __FILE__, __LINE__, __func__, NULL, 0, __VA_ARGS__)
#define log_full_errno(lg, level, r, ...) \
        log_internal((lg), (level), log_errno_value(r), __FILE__, __LINE__, __func__, \
                     NULL, 0, __VA_ARGS__)

#define log_error(lg, ...) log_full((lg), LOG_ERR, __VA_ARGS__)
#define log_warning(lg, ...) log_full((lg), LOG_WARNING, __VA_ARGS__)
#define log_notice(lg, ...) log_full((lg), LOG_NOTICE, __VA_ARGS__)
#define log_info(lg, ...) log_full((lg), LOG_INFO, __VA_ARGS__)
#define log_debug(lg, ...) log_full((lg), LOG_DEBUG, __VA_ARGS__)

#define log_error_errno(lg, r, ...) log_full_errno((lg), LOG_ERR, (r), __VA_ARGS__)
#define log_warning_errno(lg, r, ...) log_full_errno((lg), LOG_WARNING, (r), __VA_ARGS__)
#define log_notice_errno(lg, r, ...) log_full_errno((lg), LOG_NOTICE, (r), __VA_ARGS__)
#define log_info_errno(lg, r, ...) log_full_errno((lg), LOG_INFO, (r), __VA_ARGS__)
#define log_debug_errno(lg, r, ...) log_full_errno((lg), LOG_DEBUG, (r), __VA_ARGS__)

/* Structured entry with extra fields:
 *     log_struct(lg, LOG_INFO, LOG_FIELDS({ "PEER_ID", peer }, { "RAFT_INDEX", buf }),
 *                "sent %zu entries to %s", n, peer);
 */
#define LOG_FIELDS(...) \
        ((const struct log_field[]){ __VA_ARGS__ }), \
        (sizeof((const struct log_field[]){ __VA_ARGS__ }) / sizeof(struct log_field))
#define log_struct(lg, level, ...) \
        log_internal((lg), (level), 0, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_struct_errno(lg, level, r, ...) \
        log_internal((lg), (level), log_errno_value(r), __FILE__, __LINE__, __func__, \
                     __VA_ARGS__)
