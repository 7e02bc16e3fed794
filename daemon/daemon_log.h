/* daemon/daemon_log.h: rafktord's logger and the bridges into it.
 *
 * Owns: creating the daemon's lib/log logger from the config (async writer, journald when
 * stderr is the journal stream, plain timestamped stderr otherwise, NODE_ID context) and
 * the net_logger adapter that daemon/net and gRPC's own gpr_log lines go through, and the
 * errors printed before that logger exists (a bad config, a usage error). Must
 * never log synchronously on the loop thread (the logger is async) or keep global state
 * (gRPC's one global hook lives in daemon/net/grpc_log.c).
 */
#pragma once

#include "daemon/config/config.h"
#include "daemon/net/loop.h"
#include "lib/log.h"

/* 0, or a negative errno (nothing allocated). */
int daemon_log_new(const struct rafktor_config *cfg, struct log **ret);

/* A net_logger writing into lg (with "net" as the function name). */
void daemon_log_net_logger(struct log *lg, struct net_logger *ret);

/* Before the logger exists (or when it could not be created): prints `fmt` and a newline
 * to stderr. When stderr is the journal stream ($JOURNAL_STREAM matches it), every line
 * gets the "<3>" prefix, so journald files it at priority err (`journalctl -p err` shows
 * it) instead of the stream's default, info. */
void daemon_log_early_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
