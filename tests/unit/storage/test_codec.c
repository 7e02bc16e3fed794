/* tests/unit/storage/test_codec.c: struct raft_event <-> record payload.
 *
 * Owns: round trips of every event type through event_encode/event_decode
 * (entries with leader_time_ms and data, configurations through the core's
 * raft_config_encode/decode) and the refusal of invalid payloads.
 *
 * Must never: compare against hand-written protobuf bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/storage/event_codec.h"
#include "events.pb-c.h"

static void roundtrip(const struct raft_event *in, struct raft_event *out)
{
        uint8_t *buf = NULL;
        size_t len = 0;

        assert_int_equal(event_encode(in, &buf, &len), 0);
        assert_int_equal(event_decode(in->seq, (uint8_t)in->type, buf, len, out), 0);
        free(buf);
        assert_int_equal(out->seq, in->seq);
        assert_int_equal(out->type, in->type);
}

static void test_term_vote_truncate_round_trip(void **state)
{
        struct raft_event t = { .seq = 1, .type = RAFT_EV_TERM, .term = { .term = 7 } };
        struct raft_event v = { .seq = 2, .type = RAFT_EV_VOTE };
        struct raft_event x = { .seq = 3, .type = RAFT_EV_TRUNCATE,
                                .truncate = { .from_index = 99 } };
        struct raft_event out;

        v.vote.term = 7;
        strcpy(v.vote.candidate, "node-b");
        roundtrip(&t, &out);
        assert_int_equal(out.term.term, 7);
        roundtrip(&v, &out);
        assert_int_equal(out.vote.term, 7);
        assert_string_equal(out.vote.candidate, "node-b");
        roundtrip(&x, &out);
        assert_int_equal(out.truncate.from_index, 99);
}

static void test_entries_round_trip_with_leader_time_and_data(void **state)
{
        uint8_t d0[3] = { 1, 2, 3 };
        struct raft_entry es[3] = {
                { .index = 10, .term = 2, .type = RAFT_ENTRY_COMMAND, .leader_time_ms = 12345,
                  .len = 3, .data = d0 },
                { .index = 11, .term = 2, .type = RAFT_ENTRY_NOOP, .leader_time_ms = 12346 },
                { .index = 12, .term = 3, .type = RAFT_ENTRY_CONFIG, .leader_time_ms = 1,
                  .len = 2, .data = d0 },
        };
        struct raft_event in = { .seq = 9, .type = RAFT_EV_ENTRIES,
                                 .entries = { .n = 3, .entries = es } };
        struct raft_event out;

        roundtrip(&in, &out);
        assert_int_equal(out.entries.n, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(out.entries.entries[i].index, es[i].index);
                assert_int_equal(out.entries.entries[i].term, es[i].term);
                assert_int_equal(out.entries.entries[i].type, es[i].type);
                assert_int_equal(out.entries.entries[i].leader_time_ms, es[i].leader_time_ms);
                assert_int_equal(out.entries.entries[i].len, es[i].len);
                if (es[i].len)
                        assert_memory_equal(out.entries.entries[i].data, es[i].data, es[i].len);
        }
        raft_event_clear(&out);
}

static void test_snapshot_round_trip_with_configuration(void **state)
{
        struct raft_server servers[2] = {
                { .id = "a", .address = "10.0.0.1:7000", .voter = true },
                { .id = "b", .address = "10.0.0.2:7000", .voter = false },
        };
        struct raft_event in = { .seq = 40, .type = RAFT_EV_SNAPSHOT };
        struct raft_event out;

        in.snapshot.index = 100;
        in.snapshot.term = 4;
        in.snapshot.config.n = 2;
        in.snapshot.config.servers = servers;
        roundtrip(&in, &out);
        assert_int_equal(out.snapshot.index, 100);
        assert_int_equal(out.snapshot.term, 4);
        assert_int_equal(out.snapshot.config.n, 2);
        assert_string_equal(out.snapshot.config.servers[0].id, "a");
        assert_string_equal(out.snapshot.config.servers[1].address, "10.0.0.2:7000");
        assert_false(out.snapshot.config.servers[1].voter);
        raft_event_clear(&out);
}

static void test_decode_refuses_invalid_payloads(void **state)
{
        uint8_t junk[4] = { 0xff, 0xff, 0xff, 0xff };
        Raftgrpc__LogEntry e = RAFTGRPC__LOG_ENTRY__INIT, *pe = &e;
        Rafktor__Events__EntriesAppended m = RAFKTOR__EVENTS__ENTRIES_APPENDED__INIT;
        Rafktor__Events__Voted v = RAFKTOR__EVENTS__VOTED__INIT;
        char longname[100];
        uint8_t buf[256];
        size_t len;
        struct raft_event out;

        assert_int_equal(event_decode(1, RAFT_EV_TERM, junk, sizeof(junk), &out), -EBADMSG);
        assert_int_equal(event_decode(1, 0, NULL, 0, &out), -EBADMSG);
        assert_int_equal(event_decode(1, 6, NULL, 0, &out), -EBADMSG);
        /* An entry type the core does not know (BARRIER = 4). */
        e.type = RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_BARRIER;
        m.n_entries = 1;
        m.entries = &pe;
        len = rafktor__events__entries_appended__pack(&m, buf);
        assert_int_equal(event_decode(1, RAFT_EV_ENTRIES, buf, len, &out), -EBADMSG);
        /* A candidate id longer than RAFT_ID_MAX - 1. */
        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        v.candidate = longname;
        len = rafktor__events__voted__pack(&v, buf);
        assert_int_equal(event_decode(1, RAFT_EV_VOTE, buf, len, &out), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_term_vote_truncate_round_trip),
                cmocka_unit_test(test_entries_round_trip_with_leader_time_and_data),
                cmocka_unit_test(test_snapshot_round_trip_with_configuration),
                cmocka_unit_test(test_decode_refuses_invalid_payloads),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
