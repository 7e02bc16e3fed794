/* daemon/net/grpc_log.h: route gRPC's own log lines (gpr_log) into the daemon's logger.
 *
 * Owns: the one process-wide gpr log hook. gRPC offers a single global log function with no
 * user pointer, so the target is the one piece of process-wide state in daemon/net (kept
 * behind a mutex). Must never log from inside the hook back into gRPC.
 */
#pragma once

#include "daemon/net/loop.h"

/* Send gpr_log output to logger->fn with a syslog priority (ERROR->3, INFO->6, DEBUG->7)
 * and "grpc: file:line: message" text. logger NULL or logger->fn NULL: back to gRPC's
 * default (stderr). Any thread; the hook may run on any gRPC thread. */
void net_grpc_log_route(const struct net_logger *logger);
