/* cli/exit_codes.h: raftctl's exit codes and the mapping of gRPC status codes onto them.
 *
 * Owns: the numbers documented in raftctl(1) and the sentence that goes with each failure.
 * Must never change a number once released: scripts test them.
 */
#pragma once

#include <stddef.h>

#include <grpc/status.h>

enum raftctl_exit {
        RAFTCTL_EXIT_OK = 0,
        RAFTCTL_EXIT_FAILURE = 1,        /* anything not listed below */
        RAFTCTL_EXIT_USAGE = 2,          /* bad command line, or INVALID_ARGUMENT */
        RAFTCTL_EXIT_NOT_FOUND = 3,      /* get/delete of a missing key, NOT_FOUND */
        RAFTCTL_EXIT_COMPARE_FAILED = 4, /* cas refused, FAILED_PRECONDITION */
        RAFTCTL_EXIT_UNREACHABLE = 5,    /* no endpoint answered */
        RAFTCTL_EXIT_NO_LEADER = 6,      /* UNAVAILABLE "no leader ..." */
        RAFTCTL_EXIT_UNSUPPORTED = 7,    /* the daemon does not implement the operation */
        RAFTCTL_EXIT_TIMEOUT = 8,        /* DEADLINE_EXCEEDED: a write's outcome is unknown */
        RAFTCTL_EXIT_PERMISSION_DENIED = 9, /* PERMISSION_DENIED: an admin mutation over TCP,
                                          * or from a user not root nor in group rafktor */
};

/* The exit code for a call that ended with (code, details). details may be NULL. */
enum raftctl_exit raftctl_exit_from_status(grpc_status_code code, const char *details);

/* True when the answer came from a node that cannot serve it now, so the next endpoint may
 * answer: connection failures, "no leader", deadlines. */
int raftctl_status_retryable(grpc_status_code code);

/* Short name of a gRPC status code: "NOT_FOUND", ... ("code 42" for unknown ones, written
 * into buf). */
const char *raftctl_status_name(grpc_status_code code, char *buf, size_t len);

/* One line saying why a call failed, e.g. "timed out (the outcome of a write is unknown)". */
void raftctl_status_reason(grpc_status_code code, const char *details, char *buf, size_t len);
