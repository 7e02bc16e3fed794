/* tests/unit/kv/kv-test-util.c: helpers the KV unit tests share (see the
 * header).
 *
 * Must never: hide a failure (every helper asserts what it relies on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/kv/kv-test-util.h"

static ProtobufCBinaryData bin(const char *s)
{
        return (ProtobufCBinaryData){ .len = s ? strlen(s) : 0, .data = (uint8_t *)s };
}

static struct cmd encode(Rafktor__V1__Command *c, struct sess s)
{
        Rafktor__V1__RequestSession rs = RAFKTOR__V1__REQUEST_SESSION__INIT;
        struct cmd out;

        if (s.client_id != 0 || s.request_id != 0 || s.first_outstanding != 0) {
                rs.client_id = s.client_id;
                rs.request_id = s.request_id;
                rs.first_outstanding = s.first_outstanding;
                c->session = &rs;
        }
        out.len = rafktor__v1__command__get_packed_size(c);
        out.buf = malloc(out.len + 1);
        assert_non_null(out.buf);
        assert_int_equal(rafktor__v1__command__pack(c, out.buf), out.len);
        return out;
}

struct cmd cmd_put(const char *key, const char *value, struct sess s)
{
        Rafktor__V1__Command c = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__PutRequest put = RAFKTOR__V1__PUT_REQUEST__INIT;

        put.key = bin(key);
        put.value = bin(value);
        c.op_case = RAFKTOR__V1__COMMAND__OP_PUT;
        c.put = &put;
        return encode(&c, s);
}

struct cmd cmd_delete(const char *key, struct sess s)
{
        Rafktor__V1__Command c = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__DeleteRequest del = RAFKTOR__V1__DELETE_REQUEST__INIT;

        del.key = bin(key);
        c.op_case = RAFKTOR__V1__COMMAND__OP_DELETE;
        c.delete_ = &del;
        return encode(&c, s);
}

struct cmd cmd_cas_value(const char *key, const char *compare, const char *value, struct sess s)
{
        Rafktor__V1__Command c = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__CompareAndSwapRequest cas;

        /* The _INIT macro trips -Wmissing-braces on its oneof union. */
        rafktor__v1__compare_and_swap_request__init(&cas);
        cas.key = bin(key);
        cas.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VALUE;
        cas.compare_value = bin(compare);
        cas.new_value = bin(value);
        c.op_case = RAFKTOR__V1__COMMAND__OP_CAS;
        c.cas = &cas;
        return encode(&c, s);
}

struct cmd cmd_cas_version(const char *key, uint64_t version, const char *value, struct sess s)
{
        Rafktor__V1__Command c = RAFKTOR__V1__COMMAND__INIT;
        Rafktor__V1__CompareAndSwapRequest cas;

        /* The _INIT macro trips -Wmissing-braces on its oneof union. */
        rafktor__v1__compare_and_swap_request__init(&cas);
        cas.key = bin(key);
        cas.compare_case = RAFKTOR__V1__COMPARE_AND_SWAP_REQUEST__COMPARE_COMPARE_VERSION;
        cas.compare_version = version;
        cas.new_value = bin(value);
        c.op_case = RAFKTOR__V1__COMMAND__OP_CAS;
        c.cas = &cas;
        return encode(&c, s);
}

struct cmd cmd_raw(const void *buf, size_t len)
{
        struct cmd out = { .buf = malloc(len + 1), .len = len };

        assert_non_null(out.buf);
        if (len > 0)
                memcpy(out.buf, buf, len);
        return out;
}

void cmd_free(struct cmd *c)
{
        free(c->buf);
        c->buf = NULL;
        c->len = 0;
}

void apply_cmd(struct kv *kv, uint64_t index, uint64_t time_ms, struct cmd c,
               struct applied *ret)
{
        struct raft_entry e = {
                .index = index,
                .term = 1,
                .type = RAFT_ENTRY_COMMAND,
                .leader_time_ms = time_ms,
                .len = c.len,
                .data = c.buf,
        };

        memset(ret, 0, sizeof(*ret));
        assert_int_equal(kv_apply(kv, &e, &ret->raw, &ret->len), 0);
        cmd_free(&c);
        assert_non_null(ret->raw);
        assert_int_equal(kv_applied_index(kv), index);
        ret->res = rafktor__v1__command_result__unpack(NULL, ret->len, ret->raw);
        assert_non_null(ret->res);
}

void apply_noop(struct kv *kv, uint64_t index, uint64_t time_ms)
{
        struct raft_entry e = {
                .index = index, .term = 1, .type = RAFT_ENTRY_NOOP, .leader_time_ms = time_ms
        };
        uint8_t *reply = (uint8_t *)&e;
        size_t len = 1;

        assert_int_equal(kv_apply(kv, &e, &reply, &len), 0);
        assert_null(reply);
        assert_int_equal(len, 0);
        assert_int_equal(kv_applied_index(kv), index);
}

void applied_clear(struct applied *a)
{
        if (a->res)
                rafktor__v1__command_result__free_unpacked(a->res, NULL);
        free(a->raw);
        memset(a, 0, sizeof(*a));
}

struct kv *kv_make(const struct kv_options *o)
{
        struct kv *kv = NULL;

        assert_int_equal(kv_new(o, &kv), 0);
        assert_non_null(kv);
        return kv;
}

void assert_key(const struct kv *kv, const char *key, const char *value, uint64_t version)
{
        struct kv_item it;

        assert_true(kv_get(kv, (const uint8_t *)key, strlen(key), &it));
        assert_int_equal(it.value_len, strlen(value));
        assert_memory_equal(it.value, value, it.value_len);
        assert_int_equal(it.version, version);
}

/* A seeded log of puts, deletes, compare-and-swaps, retries and invalid
 * commands over few keys and clients, applied to two replicas. */
uint64_t test_lcg(uint64_t *s)
{
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        return *s >> 33;
}

struct cmd random_cmd(uint64_t *seed, uint64_t *next_rid)
{
        char key[8], value[24];
        uint64_t client = test_lcg(seed) % 4; /* 0 = no session */
        struct sess s = NO_SESSION;

        snprintf(key, sizeof(key), "k%u", (unsigned)(test_lcg(seed) % 8));
        snprintf(value, sizeof(value), "v%u", (unsigned)(test_lcg(seed) % 1000));
        if (client != 0) {
                uint64_t rid = next_rid[client];

                if (test_lcg(seed) % 4 == 0 && rid > 1)
                        rid -= 1 + test_lcg(seed) % (rid - 1); /* a retry, maybe too old */
                else
                        next_rid[client]++;
                s = (struct sess){ client, rid, rid > 3 ? rid - 3 : 1 };
        }
        switch (test_lcg(seed) % 6) {
        case 0:
                return cmd_delete(key, s);
        case 1:
                return cmd_cas_value(key, value, "swapped", s);
        case 2:
                return cmd_cas_version(key, test_lcg(seed) % 3, value, s);
        case 3:
                return cmd_put("", value, s); /* invalid */
        default:
                return cmd_put(key, value, s);
        }
}
