/* daemon/storage/data_tools.c: offline verify and dump of a data directory.
 *
 * Owns: the output of `rafktord --verify-data DIR` (summary, exit 0/1/2) and
 * `rafktord --dump-data DIR [--json]` (one line per event; JSON through
 * json-c, never formatted by hand).
 *
 * Must never: write to the directory; it runs recovery_scan() only, which
 * proposes repairs without applying them.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/storage/data_tools.h"
#include "daemon/storage/lock.h"
#include "daemon/storage/recovery.h"
#include "events.pb-c.h"
#include "raft.pb-c.h"

static const char *const event_names[] = {
        [1] = "TERM_CHANGED", [2] = "VOTED", [3] = "ENTRIES_APPENDED",
        [4] = "LOG_TRUNCATED", [5] = "SNAPSHOT_TAKEN",
};

static const char *entry_type_name(Raftgrpc__LogEntryType t)
{
        switch (t) {
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_COMMAND:
                return "COMMAND";
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_NOOP:
                return "NOOP";
        case RAFTGRPC__LOG_ENTRY_TYPE__LOG_ENTRY_CONFIGURATION:
                return "CONFIGURATION";
        default:
                return "UNKNOWN";
        }
}

struct tool_ctx {
        FILE *out;
        bool json;
        bool print;
        uint64_t last_term;
        uint64_t vote_term;
        char vote[64];
        uint64_t max_index;
        size_t snap_tail_entries;
};

/* Decodes one event into a json-c object (also used for the plain format). */
static struct json_object *event_json(struct tool_ctx *c, uint64_t seq, uint8_t type,
                                      const uint8_t *p, size_t len)
{
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "seq", json_object_new_uint64(seq));
        json_object_object_add(o, "type", json_object_new_string(event_names[type]));
        switch (type) {
        case 1: {
                Rafktor__Events__TermChanged *m =
                        rafktor__events__term_changed__unpack(NULL, len, p);
                if (!m)
                        goto bad;
                json_object_object_add(o, "term", json_object_new_uint64(m->term));
                c->last_term = m->term;
                c->vote[0] = 0;
                rafktor__events__term_changed__free_unpacked(m, NULL);
                break;
        }
        case 2: {
                Rafktor__Events__Voted *m = rafktor__events__voted__unpack(NULL, len, p);
                if (!m)
                        goto bad;
                json_object_object_add(o, "term", json_object_new_uint64(m->term));
                json_object_object_add(o, "candidate", json_object_new_string(m->candidate));
                snprintf(c->vote, sizeof(c->vote), "%s", m->candidate);
                c->vote_term = m->term;
                rafktor__events__voted__free_unpacked(m, NULL);
                break;
        }
        case 3: {
                Rafktor__Events__EntriesAppended *m =
                        rafktor__events__entries_appended__unpack(NULL, len, p);
                struct json_object *a;
                if (!m)
                        goto bad;
                a = json_object_new_array();
                for (size_t i = 0; i < m->n_entries; i++) {
                        const Raftgrpc__LogEntry *e = m->entries[i];
                        struct json_object *eo = json_object_new_object();
                        json_object_object_add(eo, "index", json_object_new_uint64(e->index));
                        json_object_object_add(eo, "term", json_object_new_uint64(e->term));
                        json_object_object_add(eo, "type",
                                               json_object_new_string(entry_type_name(e->type)));
                        json_object_object_add(eo, "leader_time_ms",
                                               json_object_new_uint64(e->leader_time_ms));
                        json_object_object_add(eo, "data_len",
                                               json_object_new_uint64(e->data.len));
                        json_object_array_add(a, eo);
                        if (e->index > c->max_index)
                                c->max_index = e->index;
                }
                json_object_object_add(o, "entries", a);
                rafktor__events__entries_appended__free_unpacked(m, NULL);
                break;
        }
        case 4: {
                Rafktor__Events__LogTruncated *m =
                        rafktor__events__log_truncated__unpack(NULL, len, p);
                if (!m)
                        goto bad;
                json_object_object_add(o, "from_index", json_object_new_uint64(m->from_index));
                rafktor__events__log_truncated__free_unpacked(m, NULL);
                break;
        }
        case 5: {
                Rafktor__Events__SnapshotTaken *m =
                        rafktor__events__snapshot_taken__unpack(NULL, len, p);
                if (!m)
                        goto bad;
                json_object_object_add(o, "index", json_object_new_uint64(m->index));
                json_object_object_add(o, "term", json_object_new_uint64(m->term));
                json_object_object_add(o, "configuration_len",
                                       json_object_new_uint64(m->configuration.len));
                rafktor__events__snapshot_taken__free_unpacked(m, NULL);
                break;
        }
        default:
                goto bad;
        }
        return o;
bad:
        json_object_put(o);
        return NULL;
}

/* Plain format: "seq=7 TERM_CHANGED term=3", entries on the same line. */
static void print_plain(FILE *out, struct json_object *o)
{
        json_object_object_foreach(o, key, val) {
                if (strcmp(key, "type") == 0) {
                        fprintf(out, " %s", json_object_get_string(val));
                } else if (json_object_is_type(val, json_type_array)) {
                        size_t n = json_object_array_length(val);
                        fprintf(out, " %s=%zu", key, n);
                        for (size_t i = 0; i < n; i++) {
                                fprintf(out, " [");
                                print_plain(out, json_object_array_get_idx(val, i));
                                fprintf(out, " ]");
                        }
                } else {
                        fprintf(out, "%s%s=%s", strcmp(key, "seq") == 0 ? "" : " ", key,
                                json_object_get_string(val));
                }
        }
}

static int on_event(void *ud, uint64_t seq, uint8_t type, const uint8_t *p, size_t len)
{
        struct tool_ctx *c = ud;
        struct json_object *o = event_json(c, seq, type, p, len);

        if (!o)
                return -EBADMSG; /* checksum-valid record that does not decode */
        if (c->print) {
                if (c->json)
                        fprintf(c->out, "%s\n",
                                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                else {
                        print_plain(c->out, o);
                        fputc('\n', c->out);
                }
        }
        json_object_put(o);
        return 0;
}

/* The snapshot's log tail (an EntriesAppended payload) as a json array of
 * its entries; NULL if it does not decode (damage, like an event). */
static struct json_object *tail_json(struct tool_ctx *c, const struct snapshot_meta *m)
{
        Rafktor__Events__EntriesAppended *t;
        struct json_object *a = json_object_new_array();

        if (m->tail_len == 0)
                return a;
        t = rafktor__events__entries_appended__unpack(NULL, m->tail_len, m->tail);
        if (!t) {
                json_object_put(a);
                return NULL;
        }
        for (size_t i = 0; i < t->n_entries; i++) {
                const Raftgrpc__LogEntry *e = t->entries[i];
                struct json_object *eo = json_object_new_object();
                json_object_object_add(eo, "index", json_object_new_uint64(e->index));
                json_object_object_add(eo, "term", json_object_new_uint64(e->term));
                json_object_object_add(eo, "type",
                                       json_object_new_string(entry_type_name(e->type)));
                json_object_object_add(eo, "data_len", json_object_new_uint64(e->data.len));
                json_object_array_add(a, eo);
                if (e->index > c->max_index)
                        c->max_index = e->index;
        }
        rafktor__events__entries_appended__free_unpacked(t, NULL);
        return a;
}

/* The newest snapshot: it also starts the raft state the events continue
 * (term, vote, highest index), since compaction removed the events before. */
static int on_snapshot(void *ud, const struct snapshot_meta *m, const uint8_t *data, size_t len)
{
        struct tool_ctx *c = ud;
        struct json_object *o, *s, *tail;
        char crc[16];

        c->last_term = m->vote_term;
        c->vote_term = m->vote_term;
        snprintf(c->vote, sizeof(c->vote), "%s", m->voted_for);
        if (m->index > c->max_index)
                c->max_index = m->index;
        tail = tail_json(c, m);
        if (!tail)
                return -EBADMSG; /* checksum-valid tail that does not decode */
        c->snap_tail_entries = json_object_array_length(tail);
        if (!c->print) {
                json_object_put(tail);
                return 0;
        }
        o = json_object_new_object();
        s = json_object_new_object();
        snprintf(crc, sizeof(crc), "0x%08" PRIx32, m->data_crc);
        json_object_object_add(s, "seq", json_object_new_uint64(m->seq));
        json_object_object_add(s, "index", json_object_new_uint64(m->index));
        json_object_object_add(s, "term", json_object_new_uint64(m->term));
        json_object_object_add(s, "vote_term", json_object_new_uint64(m->vote_term));
        json_object_object_add(s, "voted_for", json_object_new_string(m->voted_for));
        json_object_object_add(s, "configuration_len", json_object_new_uint64(m->config_len));
        json_object_object_add(s, "tail_len", json_object_new_uint64(m->tail_len));
        json_object_object_add(s, "data_len", json_object_new_uint64(len));
        json_object_object_add(s, "data_crc", json_object_new_string(crc));
        json_object_object_add(s, "tail", tail);
        json_object_object_add(o, "snapshot", s);
        if (c->json) {
                fprintf(c->out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        } else {
                fprintf(c->out, "snapshot ");
                print_plain(c->out, s);
                fputc('\n', c->out);
        }
        json_object_put(o);
        return 0;
}

static int scan(const struct storage_io *io, const char *dir, struct tool_ctx *c,
                struct recovery_result *res, FILE *err)
{
        struct recovery_callbacks cb = {
                .snapshot = on_snapshot, .event = on_event, .ud = c, .all_events = true,
        };
        struct storage_error e;
        int lock_fd, r;

        memset(res, 0, sizeof(*res));
        storage_error_clear(&e);
        r = storage_lock_dir(io, dir, false, &lock_fd, &e);
        if (r < 0) {
                fprintf(err, "error: %s\n", e.msg);
                return DATA_TOOLS_DAMAGED;
        }
        r = recovery_scan(io, dir, NULL, &cb, res, &e);
        if (lock_fd >= 0)
                io->close(io->ctx, lock_fd);
        if (r < 0) {
                fprintf(err, "error: %s\n", e.msg);
                return DATA_TOOLS_DAMAGED;
        }
        if (res->torn)
                fprintf(err, "warning: %s (start-up would do this; not modified)\n",
                        res->warning);
        for (size_t i = 0; i < res->n_temps; i++)
                fprintf(err, "warning: %s/%s: unfinished temporary file (start-up would "
                        "remove it; not modified)\n", dir, res->temps[i]);
        return res->torn || res->n_temps ? DATA_TOOLS_REPAIRABLE : DATA_TOOLS_INTACT;
}

int data_tools_verify(const struct storage_io *io, const char *dir, FILE *out, FILE *err)
{
        struct tool_ctx c = { .out = out };
        struct recovery_result res;
        int code;

        code = scan(io, dir, &c, &res, err);
        if (code != DATA_TOOLS_DAMAGED) {
                fprintf(out, "data directory: %s\n", dir);
                fprintf(out, "segments: %zu\n", res.n_segments);
                fprintf(out, "events: %" PRIu64 " (sequence %" PRIu64 "..%" PRIu64 ")\n",
                        res.n_events, res.n_events ? res.first_seq : 0,
                        res.n_events ? res.last_seq : 0);
                fprintf(out, "last term: %" PRIu64 "\n", c.last_term);
                if (c.vote[0])
                        fprintf(out, "voted for: %s (term %" PRIu64 ")\n", c.vote, c.vote_term);
                else
                        fprintf(out, "voted for: nobody in the last term\n");
                fprintf(out, "highest log index appended: %" PRIu64 "\n", c.max_index);
                if (res.has_snapshot)
                        fprintf(out, "snapshot: index %" PRIu64 ", term %" PRIu64
                                ", covers events up to %" PRIu64 "\n",
                                res.snapshot.index, res.snapshot.term, res.snapshot.seq);
                if (res.has_snapshot)
                        fprintf(out, "snapshot raft state: term %" PRIu64 ", voted for %s, "
                                "log tail %zu entries (%zu bytes), data %" PRIu64
                                " bytes (crc32 0x%08" PRIx32 ")\n",
                                res.snapshot.vote_term,
                                res.snapshot.voted_for[0] ? res.snapshot.voted_for : "nobody",
                                c.snap_tail_entries, res.snapshot.tail_len,
                                res.snapshot.data_len, res.snapshot.data_crc);
                else
                        fprintf(out, "snapshot: none\n");
                fprintf(out, "verdict: %s\n", code == DATA_TOOLS_INTACT
                                ? "intact"
                                : "repairable at start-up (torn tail or temporary files)");
        } else {
                fprintf(out, "verdict: damaged; start-up would refuse this directory\n");
        }
        recovery_result_free(&res);
        return code;
}

int data_tools_dump(const struct storage_io *io, const char *dir, bool json, FILE *out,
                    FILE *err)
{
        struct tool_ctx c = { .out = out, .json = json, .print = true };
        struct recovery_result res;
        int code = scan(io, dir, &c, &res, err);

        recovery_result_free(&res);
        return code;
}
