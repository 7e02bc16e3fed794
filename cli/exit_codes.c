/* cli/exit_codes.c: gRPC status -> raftctl exit code and reason sentence.
 *
 * Owns: the mapping table documented in raftctl(1) EXIT STATUS. Must never do I/O.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/exit_codes.h"

static int is_no_leader(const char *details)
{
        return details && strncasecmp(details, "no leader", strlen("no leader")) == 0;
}

enum raftctl_exit raftctl_exit_from_status(grpc_status_code code, const char *details)
{
        switch (code) {
        case GRPC_STATUS_OK:
                return RAFTCTL_EXIT_OK;
        case GRPC_STATUS_NOT_FOUND:
                return RAFTCTL_EXIT_NOT_FOUND;
        case GRPC_STATUS_FAILED_PRECONDITION:
                return RAFTCTL_EXIT_COMPARE_FAILED;
        case GRPC_STATUS_INVALID_ARGUMENT:
                return RAFTCTL_EXIT_USAGE;
        case GRPC_STATUS_UNAVAILABLE:
                return is_no_leader(details) ? RAFTCTL_EXIT_NO_LEADER : RAFTCTL_EXIT_UNREACHABLE;
        case GRPC_STATUS_UNIMPLEMENTED:
                return RAFTCTL_EXIT_UNSUPPORTED;
        case GRPC_STATUS_DEADLINE_EXCEEDED:
                return RAFTCTL_EXIT_TIMEOUT;
        case GRPC_STATUS_PERMISSION_DENIED:
                return RAFTCTL_EXIT_PERMISSION_DENIED;
        default:
                return RAFTCTL_EXIT_FAILURE;
        }
}

int raftctl_status_retryable(grpc_status_code code)
{
        return code == GRPC_STATUS_UNAVAILABLE || code == GRPC_STATUS_DEADLINE_EXCEEDED;
}

const char *raftctl_status_name(grpc_status_code code, char *buf, size_t len)
{
        static const char *const names[] = {
                [GRPC_STATUS_OK] = "OK",
                [GRPC_STATUS_CANCELLED] = "CANCELLED",
                [GRPC_STATUS_UNKNOWN] = "UNKNOWN",
                [GRPC_STATUS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
                [GRPC_STATUS_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
                [GRPC_STATUS_NOT_FOUND] = "NOT_FOUND",
                [GRPC_STATUS_ALREADY_EXISTS] = "ALREADY_EXISTS",
                [GRPC_STATUS_PERMISSION_DENIED] = "PERMISSION_DENIED",
                [GRPC_STATUS_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
                [GRPC_STATUS_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
                [GRPC_STATUS_ABORTED] = "ABORTED",
                [GRPC_STATUS_OUT_OF_RANGE] = "OUT_OF_RANGE",
                [GRPC_STATUS_UNIMPLEMENTED] = "UNIMPLEMENTED",
                [GRPC_STATUS_INTERNAL] = "INTERNAL",
                [GRPC_STATUS_UNAVAILABLE] = "UNAVAILABLE",
                [GRPC_STATUS_DATA_LOSS] = "DATA_LOSS",
                [GRPC_STATUS_UNAUTHENTICATED] = "UNAUTHENTICATED",
        };

        if ((unsigned)code < sizeof(names) / sizeof(names[0]) && names[code])
                return names[code];
        snprintf(buf, len, "code %d", (int)code);
        return buf;
}

void raftctl_status_reason(grpc_status_code code, const char *details, char *buf, size_t len)
{
        char name[32];
        const char *d = details && *details ? details : NULL;

        switch (code) {
        case GRPC_STATUS_DEADLINE_EXCEEDED:
                snprintf(buf, len, "timed out (the outcome of a write is unknown)");
                break;
        case GRPC_STATUS_UNIMPLEMENTED:
                snprintf(buf, len, "not supported by this daemon yet%s%s",
                         d ? ": " : "", d ? d : "");
                break;
        case GRPC_STATUS_FAILED_PRECONDITION:
                snprintf(buf, len, "%s", d ? d : "compare failed");
                break;
        case GRPC_STATUS_NOT_FOUND:
                snprintf(buf, len, "%s", d ? d : "not found");
                break;
        case GRPC_STATUS_PERMISSION_DENIED:
                snprintf(buf, len, "permission denied%s%s", d ? ": " : "", d ? d : "");
                break;
        case GRPC_STATUS_UNAVAILABLE:
                if (is_no_leader(d))
                        snprintf(buf, len, "%s", d);
                else
                        snprintf(buf, len, "unreachable (%s)", d ? d : "UNAVAILABLE");
                break;
        default:
                snprintf(buf, len, "%s%s%s", raftctl_status_name(code, name, sizeof(name)),
                         d ? ": " : "", d ? d : "");
                break;
        }
}
