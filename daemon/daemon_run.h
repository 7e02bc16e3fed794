/* daemon/daemon_run.h: rafktord's life cycle, from a loaded config to a clean exit.
 *
 * Owns: the order of start-up (logger, loop, recovery, server, listening, Raft, READY=1)
 * and of shutdown (STOPPING=1, stop accepting, fail pending calls, server shutdown,
 * evlog close which finishes the in-flight sync). Must never parse the command line or
 * the config (main does) and never exit() by itself.
 */
#pragma once

#include "daemon/config/config.h"

/* Runs the daemon until SIGTERM/SIGINT. The signals must already be blocked
 * (daemon_signals_block()) before any thread starts. Returns the exit code: 0 after a
 * clean stop, 1 when the start failed (the reason was logged). */
int daemon_run(const struct rafktor_config *cfg);
