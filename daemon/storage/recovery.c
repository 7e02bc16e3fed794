/* daemon/storage/recovery.c: scan a data directory, replay it, judge damage.
 *
 * Owns: the cross-file rules (snapshots valid, segments contiguous, the log
 * reaching the newest snapshot, only the newest segment's tail repairable)
 * and the order of replay: newest snapshot, then every event after it.
 *
 * Must never: write to the directory, skip a record, or accept damage that
 * is not a torn tail of the newest segment.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/storage/recovery.h"
#include "daemon/storage/segment.h"

struct scan_ctx {
        const struct recovery_callbacks *cb;
        uint64_t next_seq; /* sequence number of the record being read */
        uint64_t snap_seq;
        uint64_t last_off; /* offset of the record handed to the callback */
};

static int on_record(void *ud, const struct segment_record *rec)
{
        struct scan_ctx *c = ud;
        uint64_t seq = c->next_seq++;

        if (!c->cb || !c->cb->event)
                return 0;
        if (seq <= c->snap_seq && !c->cb->all_events)
                return 0;
        c->last_off = rec->off;
        return c->cb->event(c->cb->ud, seq, rec->type, rec->payload, rec->len);
}

static int cmp_seg(const void *a, const void *b)
{
        const struct recovery_segment *x = a, *y = b;
        return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static int cmp_seq(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static bool is_temp_name(const char *name)
{
        size_t n = strlen(name);
        char base[64];
        uint64_t seq;

        if (snapshot_tmp_name_parse(name))
                return true; /* a snapshot writer's temp file */
        if (n < 5 || n - 4 >= sizeof(base) || strcmp(name + n - 4, ".tmp") != 0)
                return false;
        memcpy(base, name, n - 4);
        base[n - 4] = 0;
        return segment_name_parse(base, &seq) || snapshot_name_parse(base, &seq);
}

static int check_node(const char *path, uint64_t off, const char *found, const char *expected,
                      struct storage_error *err)
{
        if (expected && strcmp(found, expected) != 0)
                return storage_error_set(err, -EBADMSG, path, off,
                                         "file belongs to node \"%s\", this node is \"%s\"",
                                         found, expected);
        return 0;
}

static int list_files(const struct storage_io *io, const char *dir, struct recovery_result *ret,
                      struct storage_error *err)
{
        char **names;
        size_t n, cap_seg = 0;
        int r;

        r = io->list_dir(io->ctx, dir, &names, &n);
        if (r < 0)
                return storage_error_set(err, r, dir, STORAGE_NO_OFFSET,
                                         "cannot list data directory: %s", strerror(-r));
        ret->temps = calloc(n ? n : 1, sizeof(char *));
        ret->snapshot_seqs = calloc(n ? n : 1, sizeof(uint64_t));
        ret->segments = calloc(n ? n : 1, sizeof(*ret->segments));
        if (!ret->temps || !ret->snapshot_seqs || !ret->segments) {
                r = storage_error_set(err, -ENOMEM, dir, STORAGE_NO_OFFSET, "out of memory");
                goto out;
        }
        cap_seg = n;
        for (size_t i = 0; i < n; i++) {
                uint64_t seq;
                if (segment_name_parse(names[i], &seq) && ret->n_segments < cap_seg) {
                        struct recovery_segment *s = &ret->segments[ret->n_segments++];
                        snprintf(s->name, sizeof(s->name), "%s", names[i]);
                        s->first_seq = seq;
                } else if (snapshot_name_parse(names[i], &seq)) {
                        ret->snapshot_seqs[ret->n_snapshots++] = seq;
                } else if (is_temp_name(names[i])) {
                        ret->temps[ret->n_temps++] = names[i];
                        names[i] = NULL;
                }
        }
        qsort(ret->segments, ret->n_segments, sizeof(*ret->segments), cmp_seg);
        qsort(ret->snapshot_seqs, ret->n_snapshots, sizeof(uint64_t), cmp_seq);
out:
        storage_names_free(names, n);
        return r;
}

/* Verifies every snapshot file; replays the newest. */
static int scan_snapshots(const struct storage_io *io, const char *dir, const char *node_id,
                          const struct recovery_callbacks *cb, struct recovery_result *ret,
                          struct storage_error *err)
{
        for (size_t i = 0; i < ret->n_snapshots; i++) {
                bool newest = i + 1 == ret->n_snapshots;
                char name[SNAPSHOT_NAME_LEN + 1], path[4096];
                struct snapshot_view v;
                const char *why = NULL;
                uint64_t bad_off;
                uint8_t *buf;
                size_t len;
                int r;

                snapshot_name(ret->snapshot_seqs[i], name);
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                r = storage_read_file(io, path, &buf, &len);
                if (r < 0)
                        return storage_error_set(err, r, path, STORAGE_NO_OFFSET,
                                                 "cannot read snapshot: %s", strerror(-r));
                r = snapshot_parse(buf, len, &v, &why, &bad_off);
                if (r < 0)
                        storage_error_set(err, r, path, bad_off, "damaged snapshot: %s", why);
                else if (v.meta.seq != ret->snapshot_seqs[i])
                        r = storage_error_set(err, -EBADMSG, path, 16,
                                              "snapshot header says sequence %" PRIu64
                                              " but its name says %" PRIu64,
                                              v.meta.seq, ret->snapshot_seqs[i]);
                else
                        r = check_node(path, 56, v.node_id, node_id, err);
                if (r == 0 && newest) {
                        ret->has_snapshot = true;
                        ret->snapshot = v.meta;
                        ret->snapshot.config = NULL; /* lengths kept */
                        ret->snapshot.tail = NULL;
                        if (cb && cb->snapshot) {
                                r = cb->snapshot(cb->ud, &v.meta, v.data, v.data_len);
                                if (r)
                                        storage_error_set(err, r < 0 ? r : -ECANCELED, path,
                                                          STORAGE_NO_OFFSET,
                                                          "snapshot rejected by the replay "
                                                          "callback (%d)", r);
                        }
                }
                free(buf);
                if (r)
                        return r;
        }
        return 0;
}

static int scan_segment(const struct storage_io *io, const char *dir, const char *node_id,
                        size_t i, struct scan_ctx *c, struct recovery_result *ret,
                        struct storage_error *err)
{
        struct recovery_segment *s = &ret->segments[i];
        bool newest = i + 1 == ret->n_segments;
        struct segment_header hdr;
        struct segment_scan sc;
        const char *why = NULL;
        char path[4096];
        uint8_t *buf;
        size_t len;
        int r;

        snprintf(path, sizeof(path), "%s/%s", dir, s->name);
        r = storage_read_file(io, path, &buf, &len);
        if (r < 0)
                return storage_error_set(err, r, path, STORAGE_NO_OFFSET,
                                         "cannot read segment: %s", strerror(-r));
        s->size = len;
        c->next_seq = s->first_seq;
        /* Header first: nothing is replayed from a misplaced file. */
        if (segment_header_parse(buf, len, &hdr, &why) < 0) {
                r = storage_error_set(err, -EBADMSG, path, 0, "damaged segment header: %s",
                                      why);
                goto out;
        }
        if (hdr.first_seq != s->first_seq) {
                r = storage_error_set(err, -EBADMSG, path, 16,
                                      "header says first sequence %" PRIu64
                                      " but the file name says %" PRIu64,
                                      hdr.first_seq, s->first_seq);
                goto out;
        }
        r = check_node(path, 24, hdr.node_id, node_id, err);
        if (r < 0)
                goto out;
        if (i > 0 && s->first_seq != ret->last_seq + 1) {
                r = storage_error_set(err, -EBADMSG, path, 16,
                                      "sequence numbers not contiguous: previous segment ends "
                                      "at %" PRIu64 ", this one starts at %" PRIu64,
                                      ret->last_seq, s->first_seq);
                goto out;
        }
        /* One pass: replay each valid record, then judge what follows the
         * last one. If that is damage, the caller discards what it got. */
        r = segment_scan(buf, len, on_record, c, &sc);
        if (r) {
                r = storage_error_set(err, r < 0 ? r : -ECANCELED, path, c->last_off,
                                      "event %" PRIu64 " rejected by replay: %s",
                                      c->next_seq - 1, strerror(r < 0 ? -r : ECANCELED));
                goto out;
        }
        if (sc.damage == SEGMENT_CORRUPT || (sc.damage != SEGMENT_INTACT && !newest)) {
                r = storage_error_set(err, -EBADMSG, path, sc.damage_off,
                                      "damaged record%s: %s",
                                      sc.damage == SEGMENT_CORRUPT
                                              ? " followed by valid records"
                                              : " in a segment that is not the newest",
                                      sc.why);
                goto out;
        }
        s->n_events = sc.n_records;
        s->valid_end = sc.valid_end;
        ret->n_events += sc.n_records;
        if (i == 0)
                ret->first_seq = s->first_seq;
        ret->last_seq = s->first_seq + sc.n_records - 1;
        if (s->valid_end < len) {
                ret->torn = true;
                snprintf(ret->torn_file, sizeof(ret->torn_file), "%s", path);
                ret->torn_off = s->valid_end;
                ret->torn_bytes = len - s->valid_end;
                snprintf(ret->warning, sizeof(ret->warning),
                         "%s: at byte %" PRIu64 ": torn write at the tail of the newest "
                         "segment (%s); truncating %" PRIu64 " bytes",
                         path, ret->torn_off, sc.why, ret->torn_bytes);
        }
out:
        free(buf);
        return r;
}

int recovery_scan(const struct storage_io *io, const char *dir, const char *node_id,
                  const struct recovery_callbacks *cb, struct recovery_result *ret,
                  struct storage_error *err)
{
        struct scan_ctx c = { .cb = cb };
        int r;

        memset(ret, 0, sizeof(*ret));
        storage_error_clear(err);
        r = list_files(io, dir, ret, err);
        if (r < 0)
                return r;
        r = scan_snapshots(io, dir, node_id, cb, ret, err);
        if (r)
                return r;
        c.snap_seq = ret->has_snapshot ? ret->snapshot.seq : 0;
        if (ret->n_segments > 0) {
                uint64_t first = ret->segments[0].first_seq;
                if (first > c.snap_seq + 1) {
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", dir, ret->segments[0].name);
                        return storage_error_set(err, -EBADMSG, path, 16,
                                                 "log starts at sequence %" PRIu64
                                                 " but events 1..%" PRIu64
                                                 " are in no segment or snapshot",
                                                 first, first - 1);
                }
        }
        for (size_t i = 0; i < ret->n_segments; i++) {
                r = scan_segment(io, dir, node_id, i, &c, ret, err);
                if (r)
                        return r;
        }
        if (ret->has_snapshot && (ret->n_segments == 0 || ret->last_seq < c.snap_seq)) {
                /* A snapshot gets its name only once every event it covers
                 * is durable, so this directory is damaged: name the file. */
                char name[SNAPSHOT_NAME_LEN + 1], path[4096];
                snapshot_name(c.snap_seq, name);
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                return storage_error_set(err, -EBADMSG, path, 16,
                                         "snapshot covers events up to %" PRIu64
                                         " but the log ends at %" PRIu64
                                         " (a snapshot is published only after the events it "
                                         "covers are durable: segments are missing or cut)",
                                         c.snap_seq, ret->n_segments ? ret->last_seq : 0);
        }
        ret->next_seq = (ret->n_segments ? ret->last_seq : 0) + 1;
        if (ret->next_seq <= c.snap_seq)
                ret->next_seq = c.snap_seq + 1;
        return 0;
}

void recovery_result_free(struct recovery_result *r)
{
        for (size_t i = 0; i < r->n_temps; i++)
                free(r->temps[i]);
        free(r->temps);
        free(r->snapshot_seqs);
        free(r->segments);
        memset(r, 0, sizeof(*r));
}
