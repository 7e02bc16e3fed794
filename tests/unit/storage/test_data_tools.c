/* tests/unit/storage/test_data_tools.c: `rafktord --verify-data/--dump-data`.
 *
 * Owns: the exit codes (0 intact, 1 torn tail only, 2 damage), the summary
 * (events, last term and vote, snapshot), that verify never modifies the
 * directory, and that --json prints one json-c-parsable object per line.
 *
 * Must never: run against the real file system (the simulated disk is used).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <zlib.h>

#include "daemon/storage/data_tools.h"
#include "daemon/storage/event_codec.h"
#include "daemon/storage/lock.h"
#include "tests/unit/storage/helpers.h"

#define SEG1 TEST_DIR "/0000000000000001.seg"

static void append_event(struct evlog *log, const struct raft_event *ev)
{
        uint8_t *buf = NULL;
        size_t len = 0;

        assert_int_equal(event_encode(ev, &buf, &len), 0);
        assert_int_equal(evlog_append(log, ev->seq, (uint8_t)ev->type, buf, len), 0);
        free(buf);
}

/* term 3, vote for node-b, 3 entries, truncate: 6 events. */
static struct io_sim *build(void)
{
        struct io_sim *sim = io_sim_new();
        struct evlog_options o = { .dir = TEST_DIR, .node_id = TEST_NODE, .io = io_sim_io(sim) };
        uint8_t d[2] = { 9, 9 };
        struct raft_entry es[3] = {
                { .index = 1, .term = 3, .type = RAFT_ENTRY_NOOP, .leader_time_ms = 5 },
                { .index = 2, .term = 3, .type = RAFT_ENTRY_COMMAND, .len = 2, .data = d },
                { .index = 3, .term = 3, .type = RAFT_ENTRY_COMMAND, .len = 2, .data = d },
        };
        struct raft_event ev[6] = {
                { .seq = 1, .type = RAFT_EV_TERM, .term = { 2 } },
                { .seq = 2, .type = RAFT_EV_TERM, .term = { 3 } },
                { .seq = 3, .type = RAFT_EV_VOTE },
                { .seq = 4, .type = RAFT_EV_ENTRIES, .entries = { 3, es } },
                { .seq = 5, .type = RAFT_EV_TRUNCATE, .truncate = { 3 } },
                { .seq = 6, .type = RAFT_EV_ENTRIES, .entries = { 1, es + 2 } },
        };
        struct storage_error err;
        struct evlog *log;

        ev[2].vote.term = 3;
        strcpy(ev[2].vote.candidate, "node-b");
        assert_int_equal(evlog_open(&o, NULL, &log, &err), 0);
        for (int i = 0; i < 6; i++)
                append_event(log, &ev[i]);
        assert_int_equal(evlog_flush(log, 6), 0);
        assert_int_equal(evlog_close(log), 0);
        return sim;
}

struct captured {
        char *out, *err;
        size_t out_len, err_len;
        int code;
};

static void verify(struct io_sim *sim, struct captured *c)
{
        FILE *o = open_memstream(&c->out, &c->out_len), *e = open_memstream(&c->err, &c->err_len);
        c->code = data_tools_verify(io_sim_io(sim), TEST_DIR, o, e);
        fclose(o);
        fclose(e);
}

static void dump(struct io_sim *sim, bool json, struct captured *c)
{
        FILE *o = open_memstream(&c->out, &c->out_len), *e = open_memstream(&c->err, &c->err_len);
        c->code = data_tools_dump(io_sim_io(sim), TEST_DIR, json, o, e);
        fclose(o);
        fclose(e);
}

static void captured_free(struct captured *c)
{
        free(c->out);
        free(c->err);
}

static void test_verify_intact_dir_exits_0_with_summary(void **state)
{
        struct io_sim *sim = build();
        struct captured c;

        verify(sim, &c);
        assert_int_equal(c.code, 0);
        assert_non_null(strstr(c.out, "segments: 1\n"));
        assert_non_null(strstr(c.out, "events: 6 (sequence 1..6)"));
        assert_non_null(strstr(c.out, "last term: 3"));
        assert_non_null(strstr(c.out, "voted for: node-b (term 3)"));
        assert_non_null(strstr(c.out, "snapshot: none"));
        assert_non_null(strstr(c.out, "verdict: intact"));
        captured_free(&c);
        io_sim_free(sim);
}

static void test_verify_torn_tail_exits_1_and_does_not_modify(void **state)
{
        struct io_sim *sim = build();
        uint8_t *before, *after;
        size_t blen, alen;
        struct captured c;

        assert_int_equal(io_sim_get(sim, SEG1, &before, &blen), 0);
        assert_int_equal(io_sim_set(sim, SEG1, before, blen - 3), 0);
        verify(sim, &c);
        assert_int_equal(c.code, 1);
        assert_non_null(strstr(c.err, "torn write"));
        assert_non_null(strstr(c.err, SEG1));
        assert_non_null(strstr(c.out, "events: 5"));
        assert_int_equal(io_sim_get(sim, SEG1, &after, &alen), 0);
        assert_int_equal(alen, blen - 3);
        assert_memory_equal(after, before, alen);
        captured_free(&c);
        free(before);
        free(after);
        io_sim_free(sim);
}

static void test_verify_damage_exits_2_naming_file_and_offset(void **state)
{
        struct io_sim *sim = build();
        uint8_t *buf;
        size_t len;
        struct captured c;

        assert_int_equal(io_sim_get(sim, SEG1, &buf, &len), 0);
        buf[96 + 13] ^= 0x40; /* first record's payload; more records follow */
        assert_int_equal(io_sim_set(sim, SEG1, buf, len), 0);
        verify(sim, &c);
        assert_int_equal(c.code, 2);
        assert_non_null(strstr(c.err, SEG1 ": at byte 96: "));
        captured_free(&c);
        free(buf);
        io_sim_free(sim);
}

static void test_verify_refuses_a_locked_dir(void **state)
{
        struct io_sim *sim = build();
        struct storage_error err;
        struct captured c;
        int fd;

        assert_int_equal(storage_lock_dir(io_sim_io(sim), TEST_DIR, true, &fd, &err), 0);
        verify(sim, &c);
        assert_int_equal(c.code, 2);
        assert_non_null(strstr(c.err, "in use"));
        captured_free(&c);
        io_sim_free(sim);
}

static void test_dump_json_one_parsable_object_per_event(void **state)
{
        const char *types[6] = { "TERM_CHANGED", "TERM_CHANGED", "VOTED", "ENTRIES_APPENDED",
                                 "LOG_TRUNCATED", "ENTRIES_APPENDED" };
        struct io_sim *sim = build();
        struct captured c;
        char *line, *save = NULL;
        int n = 0;

        dump(sim, true, &c);
        assert_int_equal(c.code, 0);
        for (line = strtok_r(c.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct json_object *o = json_tokener_parse(line), *v;
                assert_non_null(o);
                assert_true(n < 6);
                assert_true(json_object_object_get_ex(o, "seq", &v));
                assert_int_equal(json_object_get_uint64(v), n + 1);
                assert_true(json_object_object_get_ex(o, "type", &v));
                assert_string_equal(json_object_get_string(v), types[n]);
                if (n == 3) {
                        struct json_object *e0, *t;
                        assert_true(json_object_object_get_ex(o, "entries", &v));
                        assert_int_equal(json_object_array_length(v), 3);
                        e0 = json_object_array_get_idx(v, 0);
                        assert_true(json_object_object_get_ex(e0, "leader_time_ms", &t));
                        assert_int_equal(json_object_get_uint64(t), 5);
                }
                json_object_put(o);
                n++;
        }
        assert_int_equal(n, 6);
        captured_free(&c);

        dump(sim, false, &c);
        assert_int_equal(c.code, 0);
        assert_non_null(strstr(c.out, "seq=3 VOTED term=3 candidate=node-b\n"));
        n = 0;
        for (char *p = c.out; *p; p++)
                n += *p == '\n';
        assert_int_equal(n, 6);
        captured_free(&c);
        io_sim_free(sim);
}

static const uint8_t snap_data[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

/* A snapshot at event 6 (index 3) with a vote and the given tail. */
static void add_snapshot(struct io_sim *sim, const uint8_t *tail, size_t tail_len)
{
        uint8_t conf[2] = { 1, 1 };
        struct snapshot_meta m = { .seq = 6, .index = 3, .term = 3, .vote_term = 3,
                                   .config = conf, .config_len = 2 };
        struct storage_error err;

        strcpy(m.voted_for, "node-b");
        m.tail = (uint8_t *)tail;
        m.tail_len = tail_len;
        assert_int_equal(snapshot_write(io_sim_io(sim), TEST_DIR, TEST_NODE, &m, snap_data,
                                        sizeof(snap_data), &err), 0);
}

static void test_snapshot_vote_tail_and_data_crc_shown_by_verify_and_dump(void **state)
{
        struct raft_entry es[2] = {
                { .index = 4, .term = 3, .type = RAFT_ENTRY_NOOP },
                { .index = 5, .term = 3, .type = RAFT_ENTRY_NOOP },
        };
        struct raft_event tail_ev = { .seq = 1, .type = RAFT_EV_ENTRIES, .entries = { 2, es } };
        const uint8_t garbage[3] = { 0xff, 0xff, 0xff };
        struct io_sim *sim = build();
        struct json_object *o, *s, *v;
        struct captured c;
        uint8_t *tail;
        size_t tail_len;
        char want[160];

        assert_int_equal(event_encode(&tail_ev, &tail, &tail_len), 0);
        add_snapshot(sim, tail, tail_len);
        verify(sim, &c);
        assert_int_equal(c.code, 0);
        snprintf(want, sizeof(want), "snapshot raft state: term 3, voted for node-b, log tail "
                 "2 entries (%zu bytes), data 10 bytes (crc32 0x%08lx)\n", tail_len,
                 crc32(crc32(0L, Z_NULL, 0), snap_data, sizeof(snap_data)));
        assert_non_null(strstr(c.out, want));
        assert_non_null(strstr(c.out, "highest log index appended: 5\n"));
        captured_free(&c);

        dump(sim, true, &c);
        assert_int_equal(c.code, 0);
        *strchr(c.out, '\n') = 0; /* the first line is the snapshot */
        o = json_tokener_parse(c.out);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "snapshot", &s));
        assert_true(json_object_object_get_ex(s, "voted_for", &v));
        assert_string_equal(json_object_get_string(v), "node-b");
        assert_true(json_object_object_get_ex(s, "vote_term", &v));
        assert_int_equal(json_object_get_uint64(v), 3);
        assert_true(json_object_object_get_ex(s, "tail_len", &v));
        assert_int_equal(json_object_get_uint64(v), tail_len);
        assert_true(json_object_object_get_ex(s, "tail", &v));
        assert_int_equal(json_object_array_length(v), 2);
        assert_true(json_object_object_get_ex(json_object_array_get_idx(v, 1), "index", &v));
        assert_int_equal(json_object_get_uint64(v), 5);
        assert_true(json_object_object_get_ex(s, "data_crc", &v));
        assert_int_equal(strlen(json_object_get_string(v)), 10); /* "0x" + 8 hex digits */
        json_object_put(o);
        captured_free(&c);
        free(tail);

        /* A checksum-valid tail that does not decode is damage. */
        add_snapshot(sim, garbage, sizeof(garbage));
        verify(sim, &c);
        assert_int_equal(c.code, 2);
        assert_non_null(strstr(c.err, "0000000000000006.snap"));
        captured_free(&c);
        io_sim_free(sim);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_verify_intact_dir_exits_0_with_summary),
                cmocka_unit_test(test_verify_torn_tail_exits_1_and_does_not_modify),
                cmocka_unit_test(test_verify_damage_exits_2_naming_file_and_offset),
                cmocka_unit_test(test_verify_refuses_a_locked_dir),
                cmocka_unit_test(test_dump_json_one_parsable_object_per_event),
                cmocka_unit_test(test_snapshot_vote_tail_and_data_crc_shown_by_verify_and_dump),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
