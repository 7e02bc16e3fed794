/* tests/fuzz/fuzz_storage.c: libFuzzer target for the on-disk parsers.
 *
 * Owns: feeding arbitrary bytes to the segment parser (segment_scan, which
 * parses the header and every record and classifies damage) and to the
 * snapshot parsers of format 2 (snapshot_parse, snapshot_header_parse), and
 * checking their invariants.
 *
 * Must never: write files; it only parses memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/storage/segment.h"
#include "daemon/storage/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
        size_t len;
        uint64_t prev_end;
};

static int on_record(void *ud, const struct segment_record *rec)
{
        struct walk *w = ud;

        /* Records are contiguous, aligned, inside the buffer, typed 1..5. */
        if (rec->off != w->prev_end || rec->off % SEGMENT_ALIGN != 0 ||
            rec->off + rec->size > w->len || rec->type < SEGMENT_TYPE_MIN ||
            rec->type > SEGMENT_TYPE_MAX || rec->len + SEGMENT_RECORD_HEADER > rec->size)
                abort();
        w->prev_end = rec->off + rec->size;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct walk w = { .len = size, .prev_end = SEGMENT_HEADER_SIZE };
        struct segment_scan sc;
        struct snapshot_header h;
        struct snapshot_view v;
        const char *why = NULL;
        uint64_t bad_off;

        if (segment_scan(data, size, on_record, &w, &sc) != 0)
                abort();
        if (sc.damage != SEGMENT_BAD_HEADER &&
            (sc.valid_end > size || (sc.damage == SEGMENT_INTACT && sc.valid_end != size)))
                abort();
        if (snapshot_parse(data, size, &v, &why, &bad_off) == 0) {
                /* Format 2: header, data, config, tail fill the file exactly;
                 * the ids are terminated; seq > 0. */
                if (SNAPSHOT_HEADER_SIZE + v.data_len + v.meta.config_len + v.meta.tail_len !=
                            size ||
                    v.data != data + SNAPSHOT_HEADER_SIZE || v.meta.data_len != v.data_len ||
                    (v.meta.config_len &&
                     v.meta.config != data + SNAPSHOT_HEADER_SIZE + v.data_len) ||
                    (v.meta.tail_len && v.meta.tail != data + size - v.meta.tail_len) ||
                    !memchr(v.node_id, 0, sizeof(v.node_id)) ||
                    !memchr(v.meta.voted_for, 0, sizeof(v.meta.voted_for)) || v.meta.seq == 0)
                        abort();
        } else if (!why || bad_off > size) {
                abort();
        }
        /* The header parser alone (what the streaming reader runs) never
         * accepts what the whole-file parser refuses for a header reason. */
        if (snapshot_header_parse(data, size, size, &h, &why, &bad_off) == 0 &&
            h.data_len + h.config_len + h.tail_len + SNAPSHOT_HEADER_SIZE != size)
                abort();
        return 0;
}
