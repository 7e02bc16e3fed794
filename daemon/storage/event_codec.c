/* daemon/storage/event_codec.c: encode/decode events with protobuf-c.
 *
 * Owns: field-by-field mapping between struct raft_event and events.proto
 * (raftgrpc.LogEntry for entries, including leader_time_ms).
 *
 * Must never: hand-roll protobuf encoding, accept a message with values the
 * core cannot represent, or leak on an error path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/storage/event_codec.h"
#include "daemon/wire/entry_codec.h"
#include "events.pb-c.h"
#include "raft.pb-c.h"

#define PACK(kind, msg, ret_buf, ret_len)                                     \
        do {                                                                  \
                size_t n_ = rafktor__events__##kind##__get_packed_size(msg);  \
                uint8_t *b_ = malloc(n_ ? n_ : 1);                            \
                if (!b_)                                                      \
                        return -ENOMEM;                                       \
                rafktor__events__##kind##__pack(msg, b_);                     \
                *(ret_buf) = b_;                                              \
                *(ret_len) = n_;                                              \
        } while (0)

static int encode_entries(const struct raft_event *ev, uint8_t **ret_buf, size_t *ret_len)
{
        Rafktor__Events__EntriesAppended m = RAFKTOR__EVENTS__ENTRIES_APPENDED__INIT;
        struct entry_pb_view view;
        int r;

        r = entry_pb_view_init(&view, ev->entries.entries, ev->entries.n);
        if (r < 0)
                return r;
        m.n_entries = view.n;
        m.entries = view.ptrs;
        {
                size_t len = rafktor__events__entries_appended__get_packed_size(&m);
                uint8_t *b = malloc(len ? len : 1);

                if (!b) {
                        r = -ENOMEM;
                        goto out;
                }
                rafktor__events__entries_appended__pack(&m, b);
                *ret_buf = b;
                *ret_len = len;
        }
out:
        entry_pb_view_free(&view);
        return r;
}

static int encode_snapshot(const struct raft_event *ev, uint8_t **ret_buf, size_t *ret_len)
{
        Rafktor__Events__SnapshotTaken m = RAFKTOR__EVENTS__SNAPSHOT_TAKEN__INIT;
        uint8_t *conf = NULL;
        size_t conf_len = 0;
        int r;

        r = raft_config_encode(&ev->snapshot.config, &conf, &conf_len);
        if (r != RAFT_OK)
                return r == RAFT_ENOMEM ? -ENOMEM : -EINVAL;
        m.index = ev->snapshot.index;
        m.term = ev->snapshot.term;
        m.configuration.len = conf_len;
        m.configuration.data = conf;
        {
                size_t len = rafktor__events__snapshot_taken__get_packed_size(&m);
                uint8_t *b = malloc(len ? len : 1);
                if (!b) {
                        free(conf);
                        return -ENOMEM;
                }
                rafktor__events__snapshot_taken__pack(&m, b);
                *ret_buf = b;
                *ret_len = len;
        }
        free(conf);
        return 0;
}

int event_encode(const struct raft_event *ev, uint8_t **ret_buf, size_t *ret_len)
{
        switch (ev->type) {
        case RAFT_EV_TERM: {
                Rafktor__Events__TermChanged m = RAFKTOR__EVENTS__TERM_CHANGED__INIT;
                m.term = ev->term.term;
                PACK(term_changed, &m, ret_buf, ret_len);
                return 0;
        }
        case RAFT_EV_VOTE: {
                Rafktor__Events__Voted m = RAFKTOR__EVENTS__VOTED__INIT;
                m.term = ev->vote.term;
                m.candidate = (char *)ev->vote.candidate;
                PACK(voted, &m, ret_buf, ret_len);
                return 0;
        }
        case RAFT_EV_ENTRIES:
                return encode_entries(ev, ret_buf, ret_len);
        case RAFT_EV_TRUNCATE: {
                Rafktor__Events__LogTruncated m = RAFKTOR__EVENTS__LOG_TRUNCATED__INIT;
                m.from_index = ev->truncate.from_index;
                PACK(log_truncated, &m, ret_buf, ret_len);
                return 0;
        }
        case RAFT_EV_SNAPSHOT:
                return encode_snapshot(ev, ret_buf, ret_len);
        }
        return -EINVAL;
}

static int decode_entries(const Rafktor__Events__EntriesAppended *m, struct raft_event *ret)
{
        char why[160];
        int r;

        r = entries_from_pb(m->entries, m->n_entries, &ret->entries.entries, why, sizeof(why));
        if (r < 0)
                return r;
        ret->entries.n = m->n_entries;
        return 0;
}

int event_decode(uint64_t seq, uint8_t type, const uint8_t *buf, size_t len,
                 struct raft_event *ret)
{
        int r = 0;

        memset(ret, 0, sizeof(*ret));
        ret->seq = seq;
        ret->type = (enum raft_event_type)type;
        switch (type) {
        case RAFT_EV_TERM: {
                Rafktor__Events__TermChanged *m =
                        rafktor__events__term_changed__unpack(NULL, len, buf);
                if (!m)
                        return -EBADMSG;
                ret->term.term = m->term;
                rafktor__events__term_changed__free_unpacked(m, NULL);
                return 0;
        }
        case RAFT_EV_VOTE: {
                Rafktor__Events__Voted *m = rafktor__events__voted__unpack(NULL, len, buf);
                if (!m)
                        return -EBADMSG;
                if (strlen(m->candidate) >= RAFT_ID_MAX)
                        r = -EBADMSG;
                else
                        strcpy(ret->vote.candidate, m->candidate);
                ret->vote.term = m->term;
                rafktor__events__voted__free_unpacked(m, NULL);
                return r;
        }
        case RAFT_EV_ENTRIES: {
                Rafktor__Events__EntriesAppended *m =
                        rafktor__events__entries_appended__unpack(NULL, len, buf);
                if (!m)
                        return -EBADMSG;
                r = decode_entries(m, ret);
                rafktor__events__entries_appended__free_unpacked(m, NULL);
                if (r < 0)
                        raft_event_clear(ret);
                return r;
        }
        case RAFT_EV_TRUNCATE: {
                Rafktor__Events__LogTruncated *m =
                        rafktor__events__log_truncated__unpack(NULL, len, buf);
                if (!m)
                        return -EBADMSG;
                ret->truncate.from_index = m->from_index;
                rafktor__events__log_truncated__free_unpacked(m, NULL);
                return 0;
        }
        case RAFT_EV_SNAPSHOT: {
                Rafktor__Events__SnapshotTaken *m =
                        rafktor__events__snapshot_taken__unpack(NULL, len, buf);
                if (!m)
                        return -EBADMSG;
                ret->snapshot.index = m->index;
                ret->snapshot.term = m->term;
                r = raft_config_decode(m->configuration.data, m->configuration.len,
                                       &ret->snapshot.config);
                rafktor__events__snapshot_taken__free_unpacked(m, NULL);
                if (r != RAFT_OK)
                        return r == RAFT_ENOMEM ? -ENOMEM : -EBADMSG;
                return 0;
        }
        }
        return -EBADMSG;
}
