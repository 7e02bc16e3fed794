/* tests/unit/lib/test-log.c: unit tests of lib/log (the logger).
 *
 * Owns: checking JOURNAL_STREAM detection, line formats, level filtering,
 * the errno helpers, context and caller fields, the journald field list, and
 * the async queue (order, flush, drops).
 * Must never: depend on journald or on the real stderr of the test runner
 * (outputs go to pipes or to a capturing sink).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/log-internal.h"
#include "lib/log.h"

#define CAPTURE_MAX 2048

/* A sink that keeps every line and a copy of the last entry's fields. */
struct capture {
        pthread_mutex_t lock;
        size_t n;
        char lines[CAPTURE_MAX][256];
        int levels[CAPTURE_MAX];
        int last_errnum;
        size_t last_message_len;
        char last_fields[512];
        /* When block_first is set, the first call waits until released. */
        bool block_first, released, blocked;
        pthread_cond_t cond;
};

static void capture_sink(void *userdata, const struct log_entry *e, const char *line) {
        struct capture *c = userdata;
        size_t pos = 0;

        pthread_mutex_lock(&c->lock);
        if (c->block_first) {
                c->block_first = false;
                c->blocked = true;
                pthread_cond_broadcast(&c->cond);
                while (!c->released)
                        pthread_cond_wait(&c->cond, &c->lock);
        }
        if (c->n < CAPTURE_MAX) {
                snprintf(c->lines[c->n], sizeof(c->lines[0]), "%s", line);
                c->levels[c->n] = e->level;
                c->n++;
        }
        c->last_errnum = e->errnum;
        c->last_message_len = strlen(e->message);
        c->last_fields[0] = '\0';
        for (size_t i = 0; i < e->n_fields; i++) {
                int w = snprintf(c->last_fields + pos, sizeof(c->last_fields) - pos, "%s%s=%s",
                                 i ? "," : "", e->fields[i].key, e->fields[i].value);
                if (w < 0 || (size_t) w >= sizeof(c->last_fields) - pos)
                        break;
                pos += (size_t) w;
        }
        pthread_mutex_unlock(&c->lock);
}

static struct capture *capture_new(void) {
        struct capture *c = calloc(1, sizeof(*c));

        assert_non_null(c);
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->cond, NULL);
        return c;
}

static void capture_free(struct capture *c) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

static struct log *new_capturing_log(struct capture *c, int max_level, enum log_target target,
                                     bool async, unsigned queue_size) {
        struct log_options o;
        struct log *lg = NULL;

        log_options_init(&o);
        o.ident = "rafktord";
        o.max_level = max_level;
        o.target = target;
        o.async = async;
        if (queue_size)
                o.queue_size = queue_size;
        o.sink = capture_sink;
        o.sink_userdata = c;
        assert_int_equal(log_new(&o, &lg), 0);
        return lg;
}

static void set_journal_stream_of(int fd, long long ino_delta) {
        struct stat st;
        char v[64];

        assert_int_equal(fstat(fd, &st), 0);
        snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino + (unsigned long long) ino_delta);
        assert_int_equal(setenv("JOURNAL_STREAM", v, 1), 0);
}

static void test_journal_stream_detected_when_dev_ino_match(void **state) {
        int p[2];

        assert_int_equal(pipe(p), 0);
        set_journal_stream_of(p[1], 0);
        assert_true(log_fd_is_journal_stream(p[1]));
        close(p[0]);
        close(p[1]);
        unsetenv("JOURNAL_STREAM");
}

static void test_journal_stream_not_detected_on_mismatch_or_garbage(void **state) {
        static const char *const bad[] = { "", "12", "12:", ":12", "1:2x", "x:1", "-1:-1",
                                           "99999999999999999999999:1" };
        char path[] = "/tmp/test-log-XXXXXX";
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        unlink(path);
        unsetenv("JOURNAL_STREAM");
        assert_false(log_fd_is_journal_stream(fd));
        set_journal_stream_of(fd, 1);
        assert_false(log_fd_is_journal_stream(fd));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                setenv("JOURNAL_STREAM", bad[i], 1);
                assert_false(log_fd_is_journal_stream(fd));
        }
        /* The same file, checked through another fd, still matches. */
        set_journal_stream_of(fd, 0);
        assert_true(log_fd_is_journal_stream(fd));
        close(fd);
        unsetenv("JOURNAL_STREAM");
}

static void test_auto_target_follows_journal_stream(void **state) {
        struct log_options o;
        struct log *lg;
        int p[2];

        assert_int_equal(pipe(p), 0);
        log_options_init(&o);
        o.out_fd = p[1];
        set_journal_stream_of(p[1], 0);
        assert_int_equal(log_new(&o, &lg), 0);
        assert_int_equal(log_get_target(lg), LOG_TARGET_JOURNAL);
        log_free(lg);
        set_journal_stream_of(p[1], 7);
        assert_int_equal(log_new(&o, &lg), 0);
        assert_int_equal(log_get_target(lg), LOG_TARGET_STDERR);
        log_free(lg);
        unsetenv("JOURNAL_STREAM");
        close(p[0]);
        close(p[1]);
}

static void test_plain_line_has_utc_ms_timestamp_level_ident_and_fields(void **state) {
        const struct log_field f[] = { { "NODE_ID", "n1" }, { "RAFT_TERM", "7" } };
        struct log_entry e = {
                .level = LOG_WARNING,
                .ident = "rafktord",
                .message = "peer n2 unreachable",
                .fields = f,
                .n_fields = 2,
                /* 2026-11-26T19:11:32Z */
                .realtime = { .tv_sec = 1795720292, .tv_nsec = 123999999 },
        };
        char buf[256];

        log_format_line(buf, sizeof(buf), &e, false);
        assert_string_equal(buf, "2026-11-26T19:11:32.123Z warning rafktord: peer n2 unreachable"
                                 " [NODE_ID=n1 RAFT_TERM=7]");
        e.n_fields = 0;
        e.level = LOG_INFO;
        log_format_line(buf, sizeof(buf), &e, false);
        assert_string_equal(buf, "2026-11-26T19:11:32.123Z info rafktord: peer n2 unreachable");
}

static void test_prefix_line_is_priority_then_text(void **state) {
        struct log_entry e = { .level = LOG_ERR, .ident = "rafktord", .message = "boom" };
        char buf[64];

        assert_int_equal(log_format_line(buf, sizeof(buf), &e, true), strlen("<3>boom"));
        assert_string_equal(buf, "<3>boom");
}

static void test_line_replaces_control_characters(void **state) {
        struct log_entry e = { .level = LOG_INFO, .message = "a\nb\rc\td" };
        char buf[64];

        log_format_line(buf, sizeof(buf), &e, true);
        assert_string_equal(buf, "<6>a?b?c\td");
}

static void test_line_truncates_to_buffer(void **state) {
        struct log_entry e = { .level = LOG_INFO, .message = "0123456789" };
        char buf[8];

        assert_int_equal(log_format_line(buf, sizeof(buf), &e, true), 7);
        assert_string_equal(buf, "<6>0123");
}

static void test_stderr_target_writes_one_line_to_fd(void **state) {
        struct log_options o;
        struct log *lg;
        char buf[512];
        ssize_t n;
        int p[2];

        assert_int_equal(pipe(p), 0);
        log_options_init(&o);
        o.ident = "raftctl";
        o.target = LOG_TARGET_STDERR;
        o.out_fd = p[1];
        assert_int_equal(log_new(&o, &lg), 0);
        log_info(lg, "hello %d", 42);
        n = read(p[0], buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        /* YYYY-MM-DDTHH:MM:SS.mmmZ is 24 characters. */
        assert_true(n > 24);
        assert_int_equal(buf[4], '-');
        assert_int_equal(buf[10], 'T');
        assert_int_equal(buf[19], '.');
        assert_int_equal(buf[23], 'Z');
        assert_string_equal(buf + 24, " info raftctl: hello 42\n");
        log_free(lg);
        close(p[0]);
        close(p[1]);
}

static void test_prefix_target_writes_priority_prefix(void **state) {
        struct log_options o;
        struct log *lg;
        char buf[128];
        ssize_t n;
        int p[2];

        assert_int_equal(pipe(p), 0);
        log_options_init(&o);
        o.target = LOG_TARGET_STDERR_PREFIX;
        o.out_fd = p[1];
        assert_int_equal(log_new(&o, &lg), 0);
        log_notice(lg, "started");
        n = read(p[0], buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_string_equal(buf, "<5>started\n");
        log_free(lg);
        close(p[0]);
        close(p[1]);
}

static void test_levels_above_max_are_dropped(void **state) {
        struct capture *c = capture_new();
        struct log *lg = new_capturing_log(c, LOG_NOTICE, LOG_TARGET_STDERR_PREFIX, false, 0);

        log_debug(lg, "d1");
        log_info(lg, "i1");
        log_notice(lg, "n1");
        log_warning(lg, "w1");
        log_error(lg, "e1");
        assert_int_equal(c->n, 3);
        assert_string_equal(c->lines[0], "<5>n1");
        assert_string_equal(c->lines[1], "<4>w1");
        assert_string_equal(c->lines[2], "<3>e1");
        log_set_max_level(lg, LOG_DEBUG);
        assert_int_equal(log_get_max_level(lg), LOG_DEBUG);
        log_debug(lg, "d2");
        assert_int_equal(c->n, 4);
        assert_string_equal(c->lines[3], "<7>d2");
        log_set_max_level(lg, LOG_ERR);
        log_warning(lg, "w2");
        assert_int_equal(c->n, 4);
        log_free(lg);
        capture_free(c);
}

static int open_missing_file(struct log *lg, const char *path) {
        int fd = open(path, O_RDONLY);

        if (fd < 0)
                return log_error_errno(lg, -errno, "Failed to open %s: %m", path);
        close(fd);
        return 0;
}

static void test_errno_helper_returns_negative_errno_and_formats_m(void **state) {
        struct capture *c = capture_new();
        struct log *lg = new_capturing_log(c, LOG_INFO, LOG_TARGET_STDERR_PREFIX, false, 0);
        char want[256];

        assert_int_equal(open_missing_file(lg, "/nonexistent/rafktor"), -ENOENT);
        snprintf(want, sizeof(want), "<3>Failed to open /nonexistent/rafktor: %s",
                 strerror(ENOENT));
        assert_string_equal(c->lines[0], want);
        assert_int_equal(c->last_errnum, ENOENT);

        /* Positive errno values are accepted too; the return is negative. */
        assert_int_equal(log_warning_errno(lg, EACCES, "x: %m"), -EACCES);
        snprintf(want, sizeof(want), "<4>x: %s", strerror(EACCES));
        assert_string_equal(c->lines[1], want);

        /* Filtered out: nothing logged, same return. */
        assert_int_equal(log_debug_errno(lg, -EBUSY, "hidden %m"), -EBUSY);
        assert_int_equal(c->n, 2);

        /* An errno of 0 must not turn an error path into success. */
        assert_int_equal(log_error_errno(lg, 0, "bug"), -EIO);

        /* Plain log calls return 0 and errno survives every call. */
        errno = EAGAIN;
        assert_int_equal(log_info(lg, "plain"), 0);
        assert_int_equal(log_error_errno(lg, -EPIPE, "p %m"), -EPIPE);
        assert_int_equal(errno, EAGAIN);
        log_free(lg);
        capture_free(c);
}

static void test_context_and_caller_fields_are_attached(void **state) {
        struct capture *c = capture_new();
        struct log *lg = new_capturing_log(c, LOG_INFO, LOG_TARGET_STDERR_PREFIX, false, 0);

        log_info(lg, "no context");
        assert_string_equal(c->last_fields, "");
        log_set_node_id(lg, "n1");
        log_info(lg, "id only");
        assert_string_equal(c->last_fields, "NODE_ID=n1");
        log_set_raft_state(lg, 7, "leader");
        log_struct(lg, LOG_INFO, LOG_FIELDS({ "PEER_ID", "n2" }, { "RAFT_INDEX", "12" }),
                   "sent %d", 3);
        assert_string_equal(c->last_fields,
                            "NODE_ID=n1,RAFT_TERM=7,RAFT_ROLE=leader,PEER_ID=n2,RAFT_INDEX=12");
        assert_string_equal(c->lines[2],
                            "<6>sent 3 [NODE_ID=n1 RAFT_TERM=7 RAFT_ROLE=leader PEER_ID=n2"
                            " RAFT_INDEX=12]");
        log_set_node_id(lg, NULL);
        log_set_raft_state(lg, 8, NULL);
        log_info(lg, "term only");
        assert_string_equal(c->last_fields, "RAFT_TERM=8");
        log_free(lg);
        capture_free(c);
}

static void test_too_many_fields_end_with_truncated_marker(void **state) {
        struct log_record rec = { 0 };
        char value[200];

        memset(value, 'v', sizeof(value) - 1);
        value[sizeof(value) - 1] = '\0';
        for (int i = 0; i < 10; i++)
                log_record_add_field(&rec, "BIG", value);
        assert_true(rec.truncated);
        assert_true(rec.fields_len <= sizeof(rec.fields));
        assert_int_equal(rec.n_fields, 3);   /* two 204-byte pairs fit in 512, then the marker */
        assert_string_equal(rec.fields + rec.fields_len - 12, "TRUNCATED");
}

static void test_long_message_is_truncated(void **state) {
        struct capture *c = capture_new();
        struct log *lg = new_capturing_log(c, LOG_INFO, LOG_TARGET_STDERR_PREFIX, false, 0);
        char big[LOG_MESSAGE_MAX * 2];

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        log_info(lg, "%s", big);
        assert_int_equal(c->n, 1);
        assert_int_equal(c->last_message_len, LOG_MESSAGE_MAX - 1);
        log_free(lg);
        capture_free(c);
}

static void test_journal_fields_carry_message_priority_code_and_context(void **state) {
        const struct log_field f[] = { { "NODE_ID", "n1" }, { "RAFT_ROLE", "follower" } };
        struct log_entry e = {
                .level = LOG_ERR,
                .errnum = ENOSPC,
                .file = "daemon/storage/segment.c",
                .line = 42,
                .func = "segment_append",
                .ident = "rafktord",
                .message = "append failed",
                .fields = f,
                .n_fields = 2,
        };
        static const char *const want[] = {
                "MESSAGE=append failed", "PRIORITY=3", "SYSLOG_IDENTIFIER=rafktord",
                "CODE_FILE=daemon/storage/segment.c", "CODE_LINE=42",
                "CODE_FUNC=segment_append", "ERRNO=28", "NODE_ID=n1", "RAFT_ROLE=follower",
        };
        struct iovec iov[LOG_JOURNAL_IOV_MAX];
        char buf[1024];
        size_t n = log_journal_build(&e, iov, buf, sizeof(buf));

        assert_int_equal(n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(iov[i].iov_len, strlen(want[i]));
                assert_memory_equal(iov[i].iov_base, want[i], iov[i].iov_len);
        }
}

struct writer_arg {
        struct log *lg;
        int id;
};

static void *writer_thread(void *p) {
        struct writer_arg *a = p;

        for (int i = 0; i < 200; i++)
                log_info(a->lg, "t%d %03d", a->id, i);
        return NULL;
}

static void test_async_keeps_every_entry_in_order_per_thread(void **state) {
        struct capture *c = capture_new();
        struct log *lg = new_capturing_log(c, LOG_INFO, LOG_TARGET_STDERR_PREFIX, true, 1024);
        struct writer_arg args[4];
        pthread_t t[4];
        int next[4] = { 0 };

        for (int i = 0; i < 4; i++) {
                args[i] = (struct writer_arg) { lg, i };
                assert_int_equal(pthread_create(&t[i], NULL, writer_thread, &args[i]), 0);
        }
        for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);
        assert_int_equal(log_flush(lg, 10000), 0);
        assert_int_equal(log_get_dropped(lg), 0);
        assert_int_equal(c->n, 800);
        for (size_t k = 0; k < c->n; k++) {
                int id, seq;

                assert_int_equal(sscanf(c->lines[k], "<6>t%d %d", &id, &seq), 2);
                assert_true(id >= 0 && id < 4);
                assert_int_equal(seq, next[id]);
                next[id]++;
        }
        log_free(lg);
        capture_free(c);
}

static void test_async_full_queue_drops_and_reports_count(void **state) {
        struct capture *c = capture_new();
        struct log *lg;

        c->block_first = true;
        lg = new_capturing_log(c, LOG_INFO, LOG_TARGET_STDERR_PREFIX, true, 1);
        log_info(lg, "first");          /* occupies the only slot until the sink returns */
        for (int i = 0; i < 5; i++)
                log_info(lg, "lost %d", i);
        assert_int_equal(log_get_dropped(lg), 5);
        /* Callers were not blocked by the stuck sink: we got here. Release it. */
        pthread_mutex_lock(&c->lock);
        while (!c->blocked)
                pthread_cond_wait(&c->cond, &c->lock);
        c->released = true;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        assert_int_equal(log_flush(lg, 10000), 0);
        assert_int_equal(c->n, 2);
        assert_string_equal(c->lines[0], "<6>first");
        assert_string_equal(c->lines[1], "<4>5 log messages dropped: log output too slow");
        log_free(lg);
        capture_free(c);
}

static void test_null_logger_writes_plain_line_to_stderr(void **state) {
        int saved = dup(STDERR_FILENO);
        char buf[256];
        ssize_t n;
        int p[2];

        assert_true(saved >= 0);
        assert_int_equal(pipe(p), 0);
        assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
        assert_int_equal(log_error_errno(NULL, -EEXIST, "no logger yet: %m"), -EEXIST);
        log_debug(NULL, "filtered");
        log_info(NULL, "second");
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        close(p[1]);
        n = read(p[0], buf, sizeof(buf) - 1);
        close(p[0]);
        assert_true(n > 24);
        buf[n] = '\0';
        assert_non_null(strstr(buf, " err rafktor: no logger yet: File exists\n"));
        assert_non_null(strstr(buf, " info rafktor: second\n"));
        assert_null(strstr(buf, "filtered"));
}

static void test_level_names_round_trip(void **state) {
        static const char *const names[] = { "err", "warning", "notice", "info", "debug" };

        for (int i = 0; i < 5; i++) {
                assert_string_equal(log_level_to_string(LOG_ERR + i), names[i]);
                assert_int_equal(log_level_from_string(names[i]), LOG_ERR + i);
        }
        assert_int_equal(log_level_from_string("verbose"), -EINVAL);
        assert_int_equal(log_level_from_string("INFO"), -EINVAL);
        assert_int_equal(log_level_from_string(NULL), -EINVAL);
        assert_null(log_level_to_string(8));
        assert_null(log_level_to_string(-1));
}

static void test_bad_options_are_refused(void **state) {
        struct log_options o;
        struct log *lg = NULL;

        log_options_init(&o);
        o.max_level = 9;
        assert_int_equal(log_new(&o, &lg), -EINVAL);
        log_options_init(&o);
        o.async = true;
        o.queue_size = 0;
        assert_int_equal(log_new(&o, &lg), -EINVAL);
        log_options_init(&o);
        o.out_fd = -1;
        assert_int_equal(log_new(&o, &lg), -EINVAL);
        assert_null(lg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_journal_stream_detected_when_dev_ino_match),
                cmocka_unit_test(test_journal_stream_not_detected_on_mismatch_or_garbage),
                cmocka_unit_test(test_auto_target_follows_journal_stream),
                cmocka_unit_test(test_plain_line_has_utc_ms_timestamp_level_ident_and_fields),
                cmocka_unit_test(test_prefix_line_is_priority_then_text),
                cmocka_unit_test(test_line_replaces_control_characters),
                cmocka_unit_test(test_line_truncates_to_buffer),
                cmocka_unit_test(test_stderr_target_writes_one_line_to_fd),
                cmocka_unit_test(test_prefix_target_writes_priority_prefix),
                cmocka_unit_test(test_levels_above_max_are_dropped),
                cmocka_unit_test(test_errno_helper_returns_negative_errno_and_formats_m),
                cmocka_unit_test(test_context_and_caller_fields_are_attached),
                cmocka_unit_test(test_too_many_fields_end_with_truncated_marker),
                cmocka_unit_test(test_long_message_is_truncated),
                cmocka_unit_test(test_journal_fields_carry_message_priority_code_and_context),
                cmocka_unit_test(test_async_keeps_every_entry_in_order_per_thread),
                cmocka_unit_test(test_async_full_queue_drops_and_reports_count),
                cmocka_unit_test(test_null_logger_writes_plain_line_to_stderr),
                cmocka_unit_test(test_level_names_round_trip),
                cmocka_unit_test(test_bad_options_are_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
