/* tests/unit/cli/test_decode_log.c: `raftctl log` entry decoding.
 *
 * Owns: checks that each entry type (put, delete, cas on value and version, noop,
 * configuration, unknown, undecodable) reads as documented in text and JSON. Must never
 * accept a crash or raw bytes for bad data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cli/decode_log.h"
#include "daemon/raft/raft.h"
#include "raft.pb-c.h"

/* An entry whose data is cmd packed (static buffer; the test owns one at a time). */
static Rafktor__V1__LogEntryView *command_entry(const Rafktor__V1__Command *cmd)
{
        static Rafktor__V1__LogEntryView e;
        static uint8_t buf[4096];

        rafktor__v1__log_entry_view__init(&e);
        e.index = 12;
        e.term = 3;
        e.type = RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND;
        e.data.len = rafktor__v1__command__pack(cmd, buf);
        e.data.data = buf;
        return &e;
}

static void check_text(const Rafktor__V1__LogEntryView *e, const char *want)
{
        char *s;

        assert_int_equal(log_entry_describe(e, &s), 0);
        assert_string_equal(s, want);
        free(s);
}

static json_object *as_json(const Rafktor__V1__LogEntryView *e)
{
        json_object *o;

        assert_int_equal(log_entry_json(e, &o), 0);
        return o;
}

static const char *field(json_object *o, const char *k)
{
        json_object *v;

        assert_true(json_object_object_get_ex(o, k, &v));
        return json_object_get_string(v);
}

static void test_a_put_reads_as_key_equals_value_with_its_session(void **state)
{
        Rafktor__V1__Command c = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__PutRequest p = RAFKTOR__V1__PUT_REQUEST__INIT;
        Rafktor__V1__RequestSession s = RAFKTOR__V1__REQUEST_SESSION__INIT;
        json_object *o;

        p.key = (ProtobufCBinaryData){ 3, (uint8_t *)"k/1" };
        p.value = (ProtobufCBinaryData){ 2, (uint8_t *)"v\n" };
        s.client_id = 0xabc;
        s.request_id = 5;
        c.session = &s;
        c.op_case = RAFKTOR__V1__COMMAND__OP_PUT;
        c.put = &p;
        check_text(command_entry(&c), "put k/1=v\\x0a [client 0000000000000abc request 5]");
        o = as_json(command_entry(&c));
        assert_string_equal(field(o, "type"), "command");
        assert_string_equal(field(o, "op"), "put");
        assert_string_equal(field(o, "key"), "k/1");
        assert_string_equal(field(o, "value"), "v\n");
        assert_string_equal(field(o, "client_id"), "0000000000000abc");
        assert_string_equal(field(o, "request_id"), "5");
        assert_string_equal(field(o, "index"), "12");
        assert_string_equal(field(o, "term"), "3");
        json_object_put(o);

        c.session = NULL;       /* the session inside the request, as the daemon keeps it */
        p.session = &s;
        check_text(command_entry(&c), "put k/1=v\\x0a [client 0000000000000abc request 5]");
        p.session = NULL;       /* no session: nothing appended */
        check_text(command_entry(&c), "put k/1=v\\x0a");
}

static void test_delete_and_both_cas_forms_read_as_documented(void **state)
{
        Rafktor__V1__Command c = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__DeleteRequest d = RAFKTOR__V1__DELETE_REQUEST__INIT;
        Rafktor__V1__CompareAndSwapRequest cas;
        json_object *o;

        d.key = (ProtobufCBinaryData){ 1, (uint8_t *)"x" };
        c.op_case = RAFKTOR__V1__COMMAND__OP_DELETE;
        c.delete_ = &d;
        check_text(command_entry(&c), "delete x");

        rafktor__v1__compare_and_swap_request__init(&cas);
        cas.key = (ProtobufCBinaryData){ 1, (uint8_t *)"k" };
        cas.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VALUE;
        cas.compare_value = (ProtobufCBinaryData){ 3, (uint8_t *)"old" };
        cas.new_value = (ProtobufCBinaryData){ 3, (uint8_t *)"new" };
        c.op_case = RAFKTOR__V1__COMMAND__OP_CAS;
        c.cas = &cas;
        check_text(command_entry(&c), "cas k if value=old then new");
        cas.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VERSION;
        cas.compare_version = 0;
        check_text(command_entry(&c), "cas k if version=0 then new");
        o = as_json(command_entry(&c));
        assert_string_equal(field(o, "op"), "cas");
        assert_string_equal(field(o, "compare_version"), "0");
        assert_string_equal(field(o, "new_value"), "new");
        json_object_put(o);
}

static void test_noop_and_configuration_entries_are_named_and_decoded(void **state)
{
        Rafktor__V1__LogEntryView e = RAFKTOR__V1__LOG_ENTRY_VIEW__INIT;
        struct raft_server servers[2] = {
                { .id = "n1", .address = "h:1", .voter = true },
                { .id = "n2", .address = "h:2", .voter = false },
        };
        struct raft_config cfg = { .n = 2, .servers = servers };
        json_object *o, *members;

        e.type = RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_NOOP;
        check_text(&e, "noop");
        e.type = RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_CONFIGURATION;
        assert_int_equal(raft_config_encode(&cfg, &e.data.data, &e.data.len), 0);
        check_text(&e, "configuration n1=h:1 (voter), n2=h:2 (learner)");
        o = as_json(&e);
        assert_string_equal(field(o, "type"), "configuration");
        assert_true(json_object_object_get_ex(o, "members", &members));
        assert_int_equal(json_object_array_length(members), 2);
        assert_string_equal(field(json_object_array_get_idx(members, 1), "voter"), "false");
        json_object_put(o);
        free(e.data.data);
}

static void test_bad_data_is_described_never_trusted(void **state)
{
        Rafktor__V1__LogEntryView e = RAFKTOR__V1__LOG_ENTRY_VIEW__INIT;
        uint8_t junk[] = { 0xff, 0xff, 0xff };
        json_object *o;

        e.data = (ProtobufCBinaryData){ sizeof(junk), junk };
        e.type = RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND;
        check_text(&e, "undecodable command (3 bytes)");
        o = as_json(&e);
        assert_string_equal(field(o, "undecodable"), "true");
        json_object_put(o);
        e.type = RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_CONFIGURATION;
        check_text(&e, "undecodable configuration (3 bytes)");
        e.type = 42;
        check_text(&e, "unknown entry type 42 (3 bytes)");
        o = as_json(&e);
        assert_string_equal(field(o, "type"), "42");
        json_object_put(o);
        assert_null(log_entry_type_name(42));
        assert_string_equal(log_entry_type_name(RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_BARRIER),
                            "barrier");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_put_reads_as_key_equals_value_with_its_session),
                cmocka_unit_test(test_delete_and_both_cas_forms_read_as_documented),
                cmocka_unit_test(test_noop_and_configuration_entries_are_named_and_decoded),
                cmocka_unit_test(test_bad_data_is_described_never_trusted),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
