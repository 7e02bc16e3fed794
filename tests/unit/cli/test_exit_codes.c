/* tests/unit/cli/test_exit_codes.c: gRPC status -> raftctl exit code and reason.
 *
 * Owns: the checks of the table in raftctl(1) EXIT STATUS. Must never depend on a server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/exit_codes.h"

static void test_documented_codes_keep_their_numbers(void **state)
{
        assert_int_equal(RAFTCTL_EXIT_OK, 0);
        assert_int_equal(RAFTCTL_EXIT_FAILURE, 1);
        assert_int_equal(RAFTCTL_EXIT_USAGE, 2);
        assert_int_equal(RAFTCTL_EXIT_NOT_FOUND, 3);
        assert_int_equal(RAFTCTL_EXIT_COMPARE_FAILED, 4);
        assert_int_equal(RAFTCTL_EXIT_UNREACHABLE, 5);
        assert_int_equal(RAFTCTL_EXIT_NO_LEADER, 6);
        assert_int_equal(RAFTCTL_EXIT_UNSUPPORTED, 7);
        assert_int_equal(RAFTCTL_EXIT_TIMEOUT, 8);
        assert_int_equal(RAFTCTL_EXIT_PERMISSION_DENIED, 9);
}

static void test_status_codes_map_to_exit_codes(void **state)
{
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_OK, NULL), 0);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_NOT_FOUND, "x"), 3);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_FAILED_PRECONDITION,
                                                  "compare failed"), 4);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_UNAVAILABLE,
                                                  "failed to connect to all addresses"), 5);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_UNAVAILABLE, NULL), 5);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_UNAVAILABLE,
                                                  "no leader elected yet"), 6);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_UNAVAILABLE, "No leader"), 6);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_UNIMPLEMENTED, NULL), 7);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_DEADLINE_EXCEEDED, NULL), 8);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_PERMISSION_DENIED,
                                                  "admin mutations are accepted only ..."), 9);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_INVALID_ARGUMENT, "empty key"), 2);
        assert_int_equal(raftctl_exit_from_status(GRPC_STATUS_INTERNAL, "boom"), 1);
        assert_int_equal(raftctl_exit_from_status((grpc_status_code)99, NULL), 1);
}

static void test_only_try_elsewhere_answers_move_to_the_next_endpoint(void **state)
{
        assert_true(raftctl_status_retryable(GRPC_STATUS_UNAVAILABLE));
        assert_true(raftctl_status_retryable(GRPC_STATUS_DEADLINE_EXCEEDED));
        assert_false(raftctl_status_retryable(GRPC_STATUS_NOT_FOUND));
        assert_false(raftctl_status_retryable(GRPC_STATUS_FAILED_PRECONDITION));
        assert_false(raftctl_status_retryable(GRPC_STATUS_UNIMPLEMENTED));
        assert_false(raftctl_status_retryable(GRPC_STATUS_INVALID_ARGUMENT));
}

static void test_reasons_are_one_readable_line(void **state)
{
        char buf[256], name[16];

        raftctl_status_reason(GRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded", buf,
                              sizeof(buf));
        assert_string_equal(buf, "timed out (the outcome of a write is unknown)");
        raftctl_status_reason(GRPC_STATUS_UNAVAILABLE, "no leader elected yet", buf, sizeof(buf));
        assert_string_equal(buf, "no leader elected yet");
        raftctl_status_reason(GRPC_STATUS_UNAVAILABLE, "failed to connect", buf, sizeof(buf));
        assert_string_equal(buf, "unreachable (failed to connect)");
        raftctl_status_reason(GRPC_STATUS_UNIMPLEMENTED, "", buf, sizeof(buf));
        assert_string_equal(buf, "not supported by this daemon yet");
        raftctl_status_reason(GRPC_STATUS_FAILED_PRECONDITION, NULL, buf, sizeof(buf));
        assert_string_equal(buf, "compare failed");
        raftctl_status_reason(GRPC_STATUS_INTERNAL, "disk on fire", buf, sizeof(buf));
        assert_string_equal(buf, "INTERNAL: disk on fire");
        assert_string_equal(raftctl_status_name((grpc_status_code)42, name, sizeof(name)),
                            "code 42");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_documented_codes_keep_their_numbers),
                cmocka_unit_test(test_status_codes_map_to_exit_codes),
                cmocka_unit_test(test_only_try_elsewhere_answers_move_to_the_next_endpoint),
                cmocka_unit_test(test_reasons_are_one_readable_line),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
