/* daemon/raft/msg.c: deep copy and release of messages and events.
 *
 * Owns: raft_msg_copy/clear and raft_event_copy/clear (the parts of a
 * message or event that are heap-allocated: entries and configurations).
 * Must never: interpret a message or an event.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/raft/raft_private.h"

static int entries_copy(const struct raft_entry *src, size_t n, struct raft_entry **ret)
{
        struct raft_entry *dst;
        size_t i;
        int rc;

        *ret = NULL;
        if (n == 0)
                return RAFT_OK;
        if (!src)
                return RAFT_EINVAL;
        dst = calloc(n, sizeof(*dst));
        if (!dst)
                return RAFT_ENOMEM;
        for (i = 0; i < n; i++) {
                rc = raft__entry_copy(&src[i], &dst[i]);
                if (rc < 0) {
                        raft__entries_free(dst, i);
                        return rc;
                }
        }
        *ret = dst;
        return RAFT_OK;
}

void raft_msg_clear(struct raft_msg *m)
{
        if (!m)
                return;
        if (m->type == RAFT_MSG_APPEND) {
                raft__entries_free(m->append.entries, m->append.n_entries);
                m->append.entries = NULL;
                m->append.n_entries = 0;
        }
}

int raft_msg_copy(const struct raft_msg *src, struct raft_msg *ret)
{
        struct raft_msg m;
        int rc;

        if (!src || !ret)
                return RAFT_EINVAL;
        m = *src;
        if (src->type == RAFT_MSG_APPEND) {
                rc = entries_copy(src->append.entries, src->append.n_entries,
                                  &m.append.entries);
                if (rc < 0)
                        return rc;
        }
        *ret = m;
        return RAFT_OK;
}

void raft_event_clear(struct raft_event *ev)
{
        if (!ev)
                return;
        if (ev->type == RAFT_EV_ENTRIES) {
                raft__entries_free(ev->entries.entries, ev->entries.n);
                ev->entries.entries = NULL;
                ev->entries.n = 0;
        } else if (ev->type == RAFT_EV_SNAPSHOT) {
                raft_config_clear(&ev->snapshot.config);
        }
}

int raft_event_copy(const struct raft_event *src, struct raft_event *ret)
{
        struct raft_event ev;
        int rc = RAFT_OK;

        if (!src || !ret)
                return RAFT_EINVAL;
        ev = *src;
        if (src->type == RAFT_EV_ENTRIES)
                rc = entries_copy(src->entries.entries, src->entries.n, &ev.entries.entries);
        else if (src->type == RAFT_EV_SNAPSHOT)
                rc = raft_config_copy(&src->snapshot.config, &ev.snapshot.config);
        if (rc < 0)
                return rc;
        *ret = ev;
        return RAFT_OK;
}
