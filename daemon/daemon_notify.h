/* daemon/daemon_notify.h: rafktord's messages to the service manager (sd_notify).
 *
 * Owns: READY=1, STATUS= ("leader, term 7, commit 1234, leader n1") on role changes, after
 * commits (throttled) and as a periodic refresh, the WATCHDOG=1 keep-alive timer (half of
 * WATCHDOG_USEC) and STOPPING=1. Must never decide anything about the node: it only
 * reports. Without NOTIFY_SOCKET every
 * message is a harmless no-op.
 *
 * Threads: everything runs on the loop thread (timers are net_loop timers, so a stuck
 * loop stops the watchdog keep-alive, which is the point of it).
 */
#pragma once

#include <stdint.h>

#include "daemon/net/loop.h"
#include "daemon/node/node.h"
#include "lib/log.h"

/* How often STATUS= is refreshed even when nothing changed. */
#define DAEMON_NOTIFY_STATUS_INTERVAL_MS 5000
/* After a commit, STATUS= is sent at most this often (a role change is sent at once). */
#define DAEMON_NOTIFY_COMMIT_THROTTLE_MS 250

struct daemon_notify;

/* Reads WATCHDOG_USEC (sd_watchdog_enabled). 0 or -ENOMEM. */
int daemon_notify_new(struct net_loop *loop, struct log *lg, struct daemon_notify **ret);

/* Sends READY=1 with the node's status and starts the STATUS= and WATCHDOG=1 timers. */
void daemon_notify_ready(struct daemon_notify *dn, struct node *node);

/* STATUS= for a role, term or leader change (the node's on_role callback), at once. */
void daemon_notify_role(struct daemon_notify *dn, const struct node_role_info *info);

/* The commit index advanced (the node's on_commit callback): STATUS= now if none was sent
 * in the last DAEMON_NOTIFY_COMMIT_THROTTLE_MS, else once that much time has passed. */
void daemon_notify_commit(struct daemon_notify *dn);

/* STOPPING=1 with STATUS=stopping (WHY); stops the STATUS= refresh (the watchdog
 * keep-alive goes on until daemon_notify_free()). */
void daemon_notify_stopping(struct daemon_notify *dn, const char *why);

/* Formats "ROLE, term T, commit C, leader L" ("no leader" when none is known). */
void daemon_notify_format_status(char *buf, size_t size, const char *role, uint64_t term,
                                 uint64_t commit, const char *leader);

/* The keep-alive interval in ms, 0 when the watchdog is off. */
int64_t daemon_notify_watchdog_ms(const struct daemon_notify *dn);

/* Cancels the timers and frees. NULL is a no-op. */
void daemon_notify_free(struct daemon_notify *dn);
