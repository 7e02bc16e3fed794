/* tests/fuzz/fuzz_storage.c: libFuzzer target for the on-disk parsers.
 *
 * Owns: feeding arbitrary bytes to the segment parser (segment_scan, which
 * parses the header and every record and classifies damage) and to the
 * snapshot parser (snapshot_parse), and checking their invariants.
 *
 * Must never: write files; it only parses memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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
        struct snapshot_view v;
        const char *why = NULL;
        uint64_t bad_off;

        if (segment_scan(data, size, on_record, &w, &sc) != 0)
                abort();
        if (sc.damage != SEGMENT_BAD_HEADER &&
            (sc.valid_end > size || (sc.damage == SEGMENT_INTACT && sc.valid_end != size)))
                abort();
        if (snapshot_parse(data, size, &v, &why, &bad_off) == 0) {
                if (SNAPSHOT_HEADER_SIZE + v.meta.config_len + v.data_len != size)
                        abort();
        } else if (!why || bad_off > size) {
                abort();
        }
        return 0;
}
