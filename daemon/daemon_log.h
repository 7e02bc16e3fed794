/* daemon/daemon_log.h: rafktord's logger and the bridges into it.
 *
 * Owns: creating the daemon's lib/log logger from the config (async writer, journald when
 * stderr is the journal stream, plain timestamped stderr otherwise, NODE_ID context) and
 * the net_logger adapter that daemon/net and gRPC's own gpr_log lines go through. Must
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
