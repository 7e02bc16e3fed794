/* lib/log.c: the logger object: options, level filter, node context, the
 * sync path and the async queue with its writer thread.
 *
 * Owns: turning a log call into a struct log_record and getting it to the
 * output exactly once, in call order per logger.
 * Must never: block a caller of an async logger on output (a full queue
 * drops the entry and counts it), call the sink or write with the lock
 * released in sync mode (entries from two threads must not interleave), or
 * leave errno changed.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log-internal.h"

#define LOG_QUEUE_DEFAULT 256

struct log {
        pthread_mutex_t lock;
        char ident[64];
        int max_level;                  /* read without the lock: atomic int */
        enum log_target target;         /* resolved, never AUTO */
        int out_fd;
        log_sink_fn sink;
        void *sink_userdata;

        /* Node context, under lock. */
        char node_id[64];
        char role[16];
        bool has_term;
        uint64_t term;

        /* Async queue, under lock. */
        bool async;
        bool stopping;
        pthread_t writer;
        pthread_cond_t nonempty;
        pthread_cond_t drained;
        struct log_record *queue;
        size_t queue_size, head, count;
        uint64_t dropped, dropped_reported;
};

void log_options_init(struct log_options *opts) {
        *opts = (struct log_options) {
                .ident = "rafktor",
                .max_level = LOG_INFO,
                .target = LOG_TARGET_AUTO,
                .out_fd = STDERR_FILENO,
                .queue_size = LOG_QUEUE_DEFAULT,
        };
}

/* Adds the context fields; called with the lock held. */
static void add_context(struct log *lg, struct log_record *rec) {
        char num[24];

        if (lg->node_id[0])
                log_record_add_field(rec, "NODE_ID", lg->node_id);
        if (lg->has_term) {
                snprintf(num, sizeof(num), "%llu", (unsigned long long) lg->term);
                log_record_add_field(rec, "RAFT_TERM", num);
        }
        if (lg->role[0])
                log_record_add_field(rec, "RAFT_ROLE", lg->role);
}

/* Writes one record; called with the lock held (sync) or by the writer. */
static void emit(struct log *lg, const struct log_record *rec) {
        struct log_field fields[LOG_FIELDS_N_MAX];
        struct log_entry entry;
        char line[LOG_LINE_MAX];
        size_t len;

        log_record_to_entry(rec, lg->ident, fields, &entry);
        if (lg->target == LOG_TARGET_JOURNAL && !lg->sink && log_journal_send(&entry) >= 0)
                return;
        /* A failed journal send falls back to a "<N>" line on the stream. */
        len = log_format_line(line, sizeof(line) - 1, &entry,
                              lg->target != LOG_TARGET_STDERR);
        if (lg->sink) {
                lg->sink(lg->sink_userdata, &entry, line);
                return;
        }
        line[len++] = '\n';
        log_write_all(lg->out_fd, line, len);
}

static void *writer_main(void *arg) {
        struct log *lg = arg;

        pthread_mutex_lock(&lg->lock);
        for (;;) {
                while (lg->count == 0 && lg->dropped == lg->dropped_reported && !lg->stopping)
                        pthread_cond_wait(&lg->nonempty, &lg->lock);
                if (lg->count > 0) {
                        /* The head slot stays owned by us until count drops:
                         * producers only fill slots after the last counted one. */
                        const struct log_record *rec = &lg->queue[lg->head];

                        pthread_mutex_unlock(&lg->lock);
                        emit(lg, rec);
                        pthread_mutex_lock(&lg->lock);
                        lg->head = (lg->head + 1) % lg->queue_size;
                        lg->count--;
                } else if (lg->dropped != lg->dropped_reported) {
                        struct log_record rec = {
                                .level = LOG_WARNING,
                                .file = __FILE__,
                                .line = __LINE__,
                                .func = __func__,
                        };
                        uint64_t n = lg->dropped - lg->dropped_reported;

                        clock_gettime(CLOCK_REALTIME, &rec.realtime);
                        snprintf(rec.message, sizeof(rec.message),
                                 "%llu log messages dropped: log output too slow",
                                 (unsigned long long) n);
                        add_context(lg, &rec);
                        pthread_mutex_unlock(&lg->lock);
                        emit(lg, &rec);
                        pthread_mutex_lock(&lg->lock);
                        /* Only now: log_flush() waits for the report to be out. */
                        lg->dropped_reported += n;
                } else {
                        break;  /* stopping and drained */
                }
                if (lg->count == 0)
                        pthread_cond_broadcast(&lg->drained);
        }
        pthread_cond_broadcast(&lg->drained);
        pthread_mutex_unlock(&lg->lock);
        return NULL;
}

int log_new(const struct log_options *opts, struct log **ret) {
        pthread_condattr_t attr;
        struct log *lg;
        int r;

        if (!opts || !ret || opts->max_level < 0 || opts->max_level > LOG_DEBUG ||
            opts->target < LOG_TARGET_AUTO || opts->target > LOG_TARGET_STDERR_PREFIX ||
            opts->out_fd < 0 || (opts->async && opts->queue_size == 0))
                return -EINVAL;
        lg = calloc(1, sizeof(*lg));
        if (!lg)
                return -ENOMEM;
        snprintf(lg->ident, sizeof(lg->ident), "%s", opts->ident ? opts->ident : "rafktor");
        lg->max_level = opts->max_level;
        lg->out_fd = opts->out_fd;
        lg->sink = opts->sink;
        lg->sink_userdata = opts->sink_userdata;
        lg->target = opts->target;
        if (lg->target == LOG_TARGET_AUTO)
                lg->target = log_fd_is_journal_stream(opts->out_fd) ? LOG_TARGET_JOURNAL
                                                                    : LOG_TARGET_STDERR;
        r = -pthread_mutex_init(&lg->lock, NULL);
        if (r < 0)
                goto fail_free;
        if (!opts->async) {
                *ret = lg;
                return 0;
        }

        lg->async = true;
        lg->queue_size = opts->queue_size;
        lg->queue = calloc(lg->queue_size, sizeof(*lg->queue));
        if (!lg->queue) {
                r = -ENOMEM;
                goto fail_mutex;
        }
        r = -pthread_cond_init(&lg->nonempty, NULL);
        if (r < 0)
                goto fail_queue;
        /* log_flush() deadlines must not move with the wall clock. */
        r = -pthread_condattr_init(&attr);
        if (r < 0)
                goto fail_nonempty;
        r = -pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (r >= 0)
                r = -pthread_cond_init(&lg->drained, &attr);
        pthread_condattr_destroy(&attr);
        if (r < 0)
                goto fail_nonempty;
        r = -pthread_create(&lg->writer, NULL, writer_main, lg);
        if (r < 0)
                goto fail_drained;
        *ret = lg;
        return 0;

fail_drained:
        pthread_cond_destroy(&lg->drained);
fail_nonempty:
        pthread_cond_destroy(&lg->nonempty);
fail_queue:
        free(lg->queue);
fail_mutex:
        pthread_mutex_destroy(&lg->lock);
fail_free:
        free(lg);
        return r;
}

void log_free(struct log *lg) {
        if (!lg)
                return;
        if (lg->async) {
                pthread_mutex_lock(&lg->lock);
                lg->stopping = true;
                pthread_cond_signal(&lg->nonempty);
                pthread_mutex_unlock(&lg->lock);
                pthread_join(lg->writer, NULL);
                pthread_cond_destroy(&lg->drained);
                pthread_cond_destroy(&lg->nonempty);
                free(lg->queue);
        }
        pthread_mutex_destroy(&lg->lock);
        free(lg);
}

int log_flush(struct log *lg, int timeout_ms) {
        struct timespec deadline;
        int r = 0;

        if (!lg || !lg->async)
                return 0;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&lg->lock);
        while ((lg->count > 0 || lg->dropped != lg->dropped_reported) && r == 0)
                r = -pthread_cond_timedwait(&lg->drained, &lg->lock, &deadline);
        if (lg->count == 0 && lg->dropped == lg->dropped_reported)
                r = 0;
        pthread_mutex_unlock(&lg->lock);
        return r;
}

void log_set_max_level(struct log *lg, int level) {
        if (lg && level >= 0 && level <= LOG_DEBUG)
                __atomic_store_n(&lg->max_level, level, __ATOMIC_RELAXED);
}

int log_get_max_level(struct log *lg) {
        return lg ? __atomic_load_n(&lg->max_level, __ATOMIC_RELAXED) : LOG_INFO;
}

enum log_target log_get_target(struct log *lg) {
        return lg ? lg->target : LOG_TARGET_STDERR;
}

uint64_t log_get_dropped(struct log *lg) {
        uint64_t n;

        if (!lg)
                return 0;
        pthread_mutex_lock(&lg->lock);
        n = lg->dropped;
        pthread_mutex_unlock(&lg->lock);
        return n;
}

void log_set_node_id(struct log *lg, const char *node_id) {
        if (!lg)
                return;
        pthread_mutex_lock(&lg->lock);
        snprintf(lg->node_id, sizeof(lg->node_id), "%s", node_id ? node_id : "");
        pthread_mutex_unlock(&lg->lock);
}

void log_set_raft_state(struct log *lg, uint64_t term, const char *role) {
        if (!lg)
                return;
        pthread_mutex_lock(&lg->lock);
        lg->has_term = true;
        lg->term = term;
        snprintf(lg->role, sizeof(lg->role), "%s", role ? role : "");
        pthread_mutex_unlock(&lg->lock);
}

/* Queues rec for the writer; called with the lock held. */
static void enqueue(struct log *lg, const struct log_record *rec) {
        if (lg->count == lg->queue_size) {
                lg->dropped++;
                return;
        }
        memcpy(&lg->queue[(lg->head + lg->count) % lg->queue_size], rec, sizeof(*rec));
        lg->count++;
        pthread_cond_signal(&lg->nonempty);
}

int log_internal(struct log *lg, int level, int errnum, const char *file, int line,
                 const char *func, const struct log_field *fields, size_t n_fields,
                 const char *fmt, ...) {
        int saved_errno = errno;
        int ret = errnum < 0 ? errnum : -errnum;
        struct log_record rec;
        va_list ap;

        if (level < 0)
                level = 0;
        if (level > LOG_DEBUG || level > log_get_max_level(lg))
                goto out;

        rec.level = level;
        rec.errnum = -ret;
        rec.line = line;
        rec.file = file;
        rec.func = func;
        rec.n_fields = 0;
        rec.fields_len = 0;
        rec.truncated = false;
        clock_gettime(CLOCK_REALTIME, &rec.realtime);
        /* %m prints strerror(errno): make that the errno being logged. */
        errno = errnum != 0 ? -ret : saved_errno;
        va_start(ap, fmt);
        vsnprintf(rec.message, sizeof(rec.message), fmt, ap);
        va_end(ap);

        if (!lg) {
                struct log_field f[LOG_FIELDS_N_MAX];
                struct log_entry entry;
                char buf[LOG_LINE_MAX];
                size_t len;

                for (size_t i = 0; i < n_fields; i++)
                        log_record_add_field(&rec, fields[i].key, fields[i].value);
                log_record_to_entry(&rec, "rafktor", f, &entry);
                len = log_format_line(buf, sizeof(buf) - 1, &entry, false);
                buf[len++] = '\n';
                log_write_all(STDERR_FILENO, buf, len);
                goto out;
        }

        pthread_mutex_lock(&lg->lock);
        add_context(lg, &rec);
        for (size_t i = 0; i < n_fields; i++)
                log_record_add_field(&rec, fields[i].key, fields[i].value);
        if (lg->async)
                enqueue(lg, &rec);
        else
                emit(lg, &rec);
        pthread_mutex_unlock(&lg->lock);
out:
        errno = saved_errno;
        return ret;
}
