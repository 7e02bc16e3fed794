/* tests/unit/storage/helpers.c: shared fixtures (see helpers.h).
 *
 * Must never: be linked outside the storage tests.
 */
#include <string.h>

#include "tests/unit/storage/helpers.h"

static uint64_t mix(uint64_t z)
{
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

size_t test_payload(uint64_t seq, uint64_t salt, uint8_t *buf, size_t cap)
{
        uint64_t h = mix(seq * 31 + salt + 1);
        size_t len = (size_t)(h % 120);

        if (len > cap)
                len = cap;
        for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)(mix(h + i) & 0xff);
        return len;
}

uint8_t test_type(uint64_t seq)
{
        return (uint8_t)(1 + seq % 5);
}

static int on_snapshot(void *ud, const struct snapshot_meta *m, const uint8_t *data, size_t len)
{
        struct collected *c = ud;

        c->has_snapshot = true;
        c->snap_seq = m->seq;
        return 0;
}

static int on_event(void *ud, uint64_t seq, uint8_t type, const uint8_t *p, size_t len)
{
        struct collected *c = ud;
        uint8_t want[256];
        size_t wlen = test_payload(seq, c->salt, want, sizeof(want));

        if (c->n == 0)
                c->first_seq = seq;
        else if (seq != c->last_seq + 1)
                c->mismatch = true;
        c->last_seq = seq;
        c->n++;
        if (type != test_type(seq) || len != wlen || (len && memcmp(p, want, len) != 0))
                c->mismatch = true;
        return 0;
}

struct recovery_callbacks test_collector(struct collected *c, uint64_t salt)
{
        memset(c, 0, sizeof(*c));
        c->salt = salt;
        return (struct recovery_callbacks){
                .snapshot = on_snapshot, .event = on_event, .ud = c,
        };
}

int test_open(struct io_sim *sim, uint64_t segment_size, struct collected *c,
              struct evlog **ret, struct storage_error *err)
{
        struct recovery_callbacks cb = test_collector(c, 0);
        struct evlog_options o = {
                .dir = TEST_DIR, .node_id = TEST_NODE, .io = io_sim_io(sim),
                .segment_size = segment_size,
        };

        return evlog_open(&o, &cb, ret, err);
}

int test_append_range(struct evlog *log, uint64_t from, uint64_t to, uint64_t salt)
{
        uint8_t buf[256];

        for (uint64_t s = from; s <= to; s++) {
                size_t len = test_payload(s, salt, buf, sizeof(buf));
                int r = evlog_append(log, s, test_type(s), buf, len);
                if (r < 0)
                        return r;
        }
        return 0;
}
