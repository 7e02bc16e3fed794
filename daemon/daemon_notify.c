/* daemon/daemon_notify.c: sd_notify READY/STATUS/WATCHDOG/STOPPING for rafktord (see
 * daemon_notify.h).
 *
 * Owns: the notify timers (STATUS= refresh, WATCHDOG=1, the throttled STATUS= after a
 * commit) and when STATUS= was last sent. Must never block: sd_notify is
 * one datagram on a unix socket.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "daemon/daemon_notify.h"

struct daemon_notify {
        struct net_loop *loop;
        struct log *log;
        struct node *node;              /* set by daemon_notify_ready() */
        int64_t watchdog_ms;            /* keep-alive interval, 0: off */
        struct net_timer status_timer;
        struct net_timer watchdog_timer;
        struct net_timer commit_timer;  /* a throttled STATUS= for a commit */
        int64_t last_status_ms;         /* when STATUS= was last sent */
        bool stopping;
};

void daemon_notify_format_status(char *buf, size_t size, const char *role, uint64_t term,
                                 uint64_t commit, const char *leader)
{
        if (leader && leader[0])
                snprintf(buf, size, "%s, term %" PRIu64 ", commit %" PRIu64 ", leader %s",
                         role, term, commit, leader);
        else
                snprintf(buf, size, "%s, term %" PRIu64 ", commit %" PRIu64 ", no leader",
                         role, term, commit);
}

static void send_status(struct daemon_notify *dn, const char *prefix, const char *role,
                        uint64_t term, uint64_t commit, const char *leader)
{
        char status[256], msg[320];
        int r;

        daemon_notify_format_status(status, sizeof(status), role, term, commit, leader);
        snprintf(msg, sizeof(msg), "%sSTATUS=%s", prefix, status);
        r = sd_notify(0, msg);
        if (r < 0)
                log_warning_errno(dn->log, r, "sd_notify(%s) failed: %m", msg);
        dn->last_status_ms = net_loop_now_ms();
}

static void send_node_status(struct daemon_notify *dn, const char *prefix)
{
        struct raft_status st;

        node_raft_status(dn->node, &st);
        send_status(dn, prefix, raft_role_str(st.role), st.term, st.commit_index, st.leader);
}

static void status_tick(struct net_timer *t, void *user)
{
        struct daemon_notify *dn = user;

        send_node_status(dn, "");
        net_timer_start(dn->loop, t, net_loop_now_ms() + DAEMON_NOTIFY_STATUS_INTERVAL_MS,
                        status_tick, dn);
}

static void watchdog_tick(struct net_timer *t, void *user)
{
        struct daemon_notify *dn = user;
        int r;

        r = sd_notify(0, "WATCHDOG=1");
        if (r < 0)
                log_warning_errno(dn->log, r, "sd_notify(WATCHDOG=1) failed: %m");
        net_timer_start(dn->loop, t, net_loop_now_ms() + dn->watchdog_ms, watchdog_tick, dn);
}

int daemon_notify_new(struct net_loop *loop, struct log *lg, struct daemon_notify **ret)
{
        struct daemon_notify *dn;
        uint64_t usec = 0;
        int r;

        dn = calloc(1, sizeof(*dn));
        if (!dn)
                return -ENOMEM;
        dn->loop = loop;
        dn->log = lg;
        r = sd_watchdog_enabled(0, &usec);
        if (r < 0)
                log_warning_errno(lg, r, "ignoring the watchdog settings (WATCHDOG_USEC, "
                                  "WATCHDOG_PID): %m");
        else if (r > 0) {
                dn->watchdog_ms = (int64_t)(usec / 2000);
                if (dn->watchdog_ms < 1)
                        dn->watchdog_ms = 1;
                log_info(lg, "watchdog enabled: WATCHDOG=1 every %" PRId64 " ms",
                         dn->watchdog_ms);
        }
        *ret = dn;
        return 0;
}

int64_t daemon_notify_watchdog_ms(const struct daemon_notify *dn)
{
        return dn->watchdog_ms;
}

void daemon_notify_ready(struct daemon_notify *dn, struct node *node)
{
        int64_t now = net_loop_now_ms();

        dn->node = node;
        send_node_status(dn, "READY=1\n");
        net_timer_start(dn->loop, &dn->status_timer, now + DAEMON_NOTIFY_STATUS_INTERVAL_MS,
                        status_tick, dn);
        if (dn->watchdog_ms > 0)
                watchdog_tick(&dn->watchdog_timer, dn);
}

void daemon_notify_role(struct daemon_notify *dn, const struct node_role_info *info)
{
        if (dn->stopping)
                return;
        send_status(dn, "", raft_role_str(info->role), info->term, info->commit_index,
                    info->leader);
}

static void commit_tick(struct net_timer *t, void *user)
{
        struct daemon_notify *dn = user;

        (void)t;
        if (!dn->stopping)
                send_node_status(dn, "");
}

void daemon_notify_commit(struct daemon_notify *dn)
{
        int64_t due;

        if (!dn->node || dn->stopping || dn->commit_timer.armed)
                return;
        due = dn->last_status_ms + DAEMON_NOTIFY_COMMIT_THROTTLE_MS;
        if (net_loop_now_ms() >= due)
                send_node_status(dn, "");
        else
                net_timer_start(dn->loop, &dn->commit_timer, due, commit_tick, dn);
}

void daemon_notify_stopping(struct daemon_notify *dn, const char *why)
{
        char msg[256];
        int r;

        dn->stopping = true;
        /* The watchdog keep-alive goes on while the shutdown dispatches the loop. */
        net_timer_cancel(dn->loop, &dn->status_timer);
        net_timer_cancel(dn->loop, &dn->commit_timer);
        snprintf(msg, sizeof(msg), "STOPPING=1\nSTATUS=stopping (%s)", why);
        r = sd_notify(0, msg);
        if (r < 0)
                log_warning_errno(dn->log, r, "sd_notify(STOPPING=1) failed: %m");
}

void daemon_notify_free(struct daemon_notify *dn)
{
        if (!dn)
                return;
        net_timer_cancel(dn->loop, &dn->status_timer);
        net_timer_cancel(dn->loop, &dn->watchdog_timer);
        net_timer_cancel(dn->loop, &dn->commit_timer);
        free(dn);
}
