/* tests/unit/cli/test_output.c: documents rendered as table, JSON and plain text, and the
 * replies of each command as documents.
 *
 * Owns: checks of column alignment, escaping, JSON field names and types. Must never print
 * to the terminal: every rendering goes to a memory stream.
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

#include "cli/format.h"
#include "cli/output.h"

/* Render d in format f; the result is malloc'd. */
static char *render(const struct out_doc *d, enum out_format f)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);

        assert_non_null(m);
        assert_int_equal(out_doc_print(d, f, m), 0);
        fclose(m);
        return buf;
}

static void test_tables_align_columns_and_drop_empty_ones_and_trailing_blanks(void **state)
{
        static const char *const cols[] = { "ID", "NOTE", "ADDRESS" };
        const char *r1[] = { "n1", "", "127.0.0.1:7401" };
        const char *r2[] = { "node-22", "", "x" };
        struct out_doc d;
        char *s;

        assert_int_equal(out_doc_init(&d, 3, cols, true), 0);
        assert_int_equal(out_doc_add_row(&d, r1), 0);
        assert_int_equal(out_doc_add_row(&d, r2), 0);
        s = render(&d, OUT_TABLE);
        assert_string_equal(s, "ID       ADDRESS\n"
                               "n1       127.0.0.1:7401\n"
                               "node-22  x\n");
        free(s);
        s = render(&d, OUT_PLAIN);
        assert_string_equal(s, "n1\t\t127.0.0.1:7401\nnode-22\t\tx\n");
        free(s);
        out_doc_clear(&d);
}

static void test_utf8_counts_one_column_per_character(void **state)
{
        static const char *const cols[] = { "K", "V" };
        const char *r1[] = { "\xc3\xa9t\xc3\xa9", "1" };        /* "été": 3 columns */
        const char *r2[] = { "abcd", "2" };
        struct out_doc d;
        char *s;

        assert_int_equal(out_doc_init(&d, 2, cols, true), 0);
        assert_int_equal(out_doc_add_row(&d, r1), 0);
        assert_int_equal(out_doc_add_row(&d, r2), 0);
        s = render(&d, OUT_TABLE);
        assert_string_equal(s, "K     V\n\xc3\xa9t\xc3\xa9   1\nabcd  2\n");
        free(s);
        out_doc_clear(&d);
}

static void test_escaping_keeps_utf8_and_shows_other_bytes_as_hex(void **state)
{
        const uint8_t in[] = { 'a', '\\', 0x01, 0xc3, 0xa9, 0xff, '\n', 0 };
        char *e = out_escape(in, sizeof(in));

        assert_string_equal(e, "a\\\\\\x01\xc3\xa9\\xff\\x0a\\x00");
        free(e);
        assert_true(out_utf8_text((const uint8_t *)"\xc3\xa9", 2));
        assert_false(out_utf8_text((const uint8_t *)"\xc0\xaf", 2));      /* overlong */
        assert_false(out_utf8_text((const uint8_t *)"\xed\xa0\x80", 3));  /* surrogate */
        assert_false(out_utf8_text((const uint8_t *)"a\0b", 3));
}

static void test_json_bytes_are_strings_when_text_else_hex(void **state)
{
        json_object *o = json_object_new_object(), *v;

        assert_int_equal(out_json_bytes(o, "value", (const uint8_t *)"hi", 2), 0);
        assert_int_equal(out_json_bytes(o, "key", (const uint8_t *)"\x00\xff", 2), 0);
        assert_true(json_object_object_get_ex(o, "value", &v));
        assert_string_equal(json_object_get_string(v), "hi");
        assert_false(json_object_object_get_ex(o, "key", NULL));
        assert_true(json_object_object_get_ex(o, "key_hex", &v));
        assert_string_equal(json_object_get_string(v), "00ff");
        json_object_put(o);
}

static Rafktor__V1__StatusResponse *status(const char *id, Rafktor__V1__Role role)
{
        static Rafktor__V1__StatusResponse s;

        rafktor__v1__status_response__init(&s);
        s.id = (char *)id;
        s.address = "127.0.0.1:7401";
        s.role = role;
        s.term = 7;
        s.leader = "n1";
        s.commit_index = 10;
        s.applied_index = 9;
        s.last_index = 11;
        s.uptime_ms = 3723000;
        s.version = "0.1.0";
        return &s;
}

static void test_status_rows_carry_the_fields_scripts_rely_on(void **state)
{
        struct out_doc d;
        json_object *j, *o, *v;
        char *s;

        assert_int_equal(format_status_init(&d), 0);
        assert_int_equal(format_status_row(&d, "e1", status("n1", RAFKTOR__V1__ROLE__ROLE_LEADER),
                                           0, NULL), 0);
        assert_int_equal(format_status_row(&d, "e2", NULL, FORMAT_LAG_UNKNOWN, "unreachable"),
                         0);
        s = render(&d, OUT_JSON);
        j = json_tokener_parse(s);
        assert_non_null(j);
        assert_int_equal(json_object_array_length(j), 2);
        o = json_object_array_get_idx(j, 0);
        assert_true(json_object_object_get_ex(o, "role", &v));
        assert_string_equal(json_object_get_string(v), "leader");
        assert_true(json_object_object_get_ex(o, "term", &v));
        assert_int_equal(json_object_get_uint64(v), 7);
        assert_true(json_object_object_get_ex(o, "commit_index", &v));
        assert_int_equal(json_object_get_uint64(v), 10);
        assert_true(json_object_object_get_ex(o, "applied_index", &v));
        assert_int_equal(json_object_get_uint64(v), 9);
        assert_true(json_object_object_get_ex(o, "last_index", &v));
        assert_int_equal(json_object_get_uint64(v), 11);
        assert_true(json_object_object_get_ex(o, "leader", &v));
        assert_string_equal(json_object_get_string(v), "n1");
        o = json_object_array_get_idx(j, 1);
        assert_true(json_object_object_get_ex(o, "error", &v));
        assert_string_equal(json_object_get_string(v), "unreachable");
        assert_false(json_object_object_get_ex(o, "role", NULL));
        json_object_put(j);
        free(s);

        s = render(&d, OUT_TABLE);
        assert_non_null(strstr(s, "ENDPOINT  ID  ADDRESS         ROLE    TERM  LEADER  COMMIT  "
                                  "APPLIED  LAST  LAG  UPTIME  ERROR\n"));
        assert_non_null(strstr(s, "e1        n1  127.0.0.1:7401  leader  7     n1      10      "
                                  "9        11    0    1h02m\n"));
        assert_non_null(strstr(s, "\ne2" "                                                    "
                                  "                                  unreachable\n"));
        free(s);
        out_doc_clear(&d);
}

static void test_roles_have_lowercase_names(void **state)
{
        assert_string_equal(format_role(RAFKTOR__V1__ROLE__ROLE_LEADER), "leader");
        assert_string_equal(format_role(RAFKTOR__V1__ROLE__ROLE_FOLLOWER), "follower");
        assert_string_equal(format_role(RAFKTOR__V1__ROLE__ROLE_CANDIDATE), "candidate");
        assert_string_equal(format_role(RAFKTOR__V1__ROLE__ROLE_LEARNER), "learner");
}

static void test_a_key_value_renders_in_the_three_formats(void **state)
{
        Rafktor__V1__KeyValue kv = RAFKTOR__V1__KEY_VALUE__INIT;
        struct out_doc d;
        char *s;

        kv.key = (ProtobufCBinaryData){ 3, (uint8_t *)"a\tb" };
        kv.value = (ProtobufCBinaryData){ 5, (uint8_t *)"hello" };
        kv.version = 4;
        kv.mod_index = 99;
        assert_int_equal(format_kv_init(&d, false), 0);
        assert_int_equal(format_kv_row(&d, &kv), 0);
        s = render(&d, OUT_TABLE);
        assert_string_equal(s, "KEY     VALUE  VERSION  MOD_INDEX\na\\x09b  hello  4        99\n");
        free(s);
        s = render(&d, OUT_PLAIN);
        assert_string_equal(s, "a\\x09b\thello\t4\t99\n");
        free(s);
        s = render(&d, OUT_JSON);
        assert_non_null(strstr(s, "\"key\": \"a\\tb\""));
        assert_non_null(strstr(s, "\"version\": 4"));
        assert_non_null(strstr(s, "\"mod_index\": 99"));
        free(s);
        out_doc_clear(&d);
}

static void test_members_mark_the_leader_and_learners(void **state)
{
        Rafktor__V1__Member m1 = RAFKTOR__V1__MEMBER__INIT, m2 = RAFKTOR__V1__MEMBER__INIT;
        Rafktor__V1__Member *mp[] = { &m1, &m2 };
        Rafktor__V1__ResponseHeader h = RAFKTOR__V1__RESPONSE_HEADER__INIT;
        Rafktor__V1__MembersResponse m = RAFKTOR__V1__MEMBERS_RESPONSE__INIT;
        struct out_doc d;
        char *s;

        m1.id = "n1";
        m1.address = "h:1";
        m1.voter = true;
        m2.id = "n2";
        m2.address = "h:2";
        h.leader_id = "n1";
        m.header = &h;
        m.n_members = 2;
        m.members = mp;
        assert_int_equal(format_members(&d, &m), 0);
        s = render(&d, OUT_TABLE);
        assert_string_equal(s, "ID  ADDRESS  ROLE     LEADER\nn1  h:1      voter    *\n"
                               "n2  h:2      learner\n");
        free(s);
        s = render(&d, OUT_JSON);
        assert_non_null(strstr(s, "\"voter\": false"));
        assert_non_null(strstr(s, "\"leader\": true"));
        free(s);
        out_doc_clear(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tables_align_columns_and_drop_empty_ones_and_trailing_blanks),
                cmocka_unit_test(test_utf8_counts_one_column_per_character),
                cmocka_unit_test(test_escaping_keeps_utf8_and_shows_other_bytes_as_hex),
                cmocka_unit_test(test_json_bytes_are_strings_when_text_else_hex),
                cmocka_unit_test(test_status_rows_carry_the_fields_scripts_rely_on),
                cmocka_unit_test(test_roles_have_lowercase_names),
                cmocka_unit_test(test_a_key_value_renders_in_the_three_formats),
                cmocka_unit_test(test_members_mark_the_leader_and_learners),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
