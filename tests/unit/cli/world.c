/* tests/unit/cli/world.c: the fake cluster the raftctl end-to-end tests run against.
 *
 * Owns: starting and stopping the fake servers (each on its own unix socket in a private
 * directory), running raftctl with arguments and stdin, and JSON helpers for its output.
 * Must never wait with a fixed sleep: the fake server says "ready", raftctl runs to its exit
 * under a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tests/unit/cli/world.h"

#define RUN_TIMEOUT_MS 20000

struct world W;

static void endpoint(char *buf, size_t len, const char *name)
{
        snprintf(buf, len, "unix:%s/%s.sock", W.dir, name);
}

int setup_world(void **state)
{
        char *const follower[] = { "--id", "n2", "--role", "follower", NULL };
        char *const noleader[] = { "--id", "n3", "--no-leader", NULL };
        char *const hang[] = { "--hang-get", NULL };
        char *const lossy[] = { "--lose-first-reply", NULL };

        unsetenv("RAFTCTL_ENDPOINTS");
        W.dir = proc_tmpdir();
        if (!W.dir)
                return -1;
        setenv("HOME", W.dir, 1);
        unsetenv("XDG_STATE_HOME");
        endpoint(W.ep_leader, sizeof(W.ep_leader), "leader");
        endpoint(W.ep_follower, sizeof(W.ep_follower), "follower");
        endpoint(W.ep_noleader, sizeof(W.ep_noleader), "noleader");
        endpoint(W.ep_hang, sizeof(W.ep_hang), "hang");
        endpoint(W.ep_lossy, sizeof(W.ep_lossy), "lossy");
        endpoint(W.ep_dead, sizeof(W.ep_dead), "nobody-listens");
        W.pids[0] = proc_start_fake(W.ep_leader, NULL, 10000);
        W.pids[1] = proc_start_fake(W.ep_follower, follower, 10000);
        W.pids[2] = proc_start_fake(W.ep_noleader, noleader, 10000);
        W.pids[3] = proc_start_fake(W.ep_hang, hang, 10000);
        W.pids[4] = proc_start_fake(W.ep_lossy, lossy, 10000);
        for (int i = 0; i < 5; i++)
                if (W.pids[i] < 0) {
                        fprintf(stderr, "fake server %d did not start\n", i);
                        return -1;
                }
        return 0;
}

int teardown_world(void **state)
{
        for (int i = 0; i < 5; i++)
                proc_stop(W.pids[i]);
        proc_rmtree(W.dir);
        free(W.dir);
        return 0;
}

/* raftctl ARGS... (NULL-terminated), stdin from in/in_len. */
void run_in(struct proc_result *r, const void *in, size_t in_len, ...)
{
        char path[4096];
        char *argv[32];
        int argc = 0;
        va_list ap;

        argv[argc++] = (char *)proc_build_path("cli/raftctl", path, sizeof(path));
        va_start(ap, in_len);
        for (char *a = va_arg(ap, char *); a && argc < 31; a = va_arg(ap, char *))
                argv[argc++] = a;
        va_end(ap);
        argv[argc] = NULL;
        assert_int_equal(proc_run(argv, NULL, in, in_len, RUN_TIMEOUT_MS, r), 0);
        if (getenv("CLI_TEST_VERBOSE"))
                fprintf(stderr, "[%d] out:\n%s\nerr:\n%s\n", r->status, r->out, r->err);
}

json_object *parse(const struct proc_result *r)
{
        json_object *j = json_tokener_parse(r->out);

        if (!j)
                fprintf(stderr, "not JSON: %s\n", r->out);
        assert_non_null(j);
        return j;
}

const char *jstr(json_object *o, const char *k)
{
        json_object *v;

        assert_true(json_object_object_get_ex(o, k, &v));
        return json_object_get_string(v);
}

uint64_t ju64(json_object *o, const char *k)
{
        json_object *v;

        assert_true(json_object_object_get_ex(o, k, &v));
        return json_object_get_uint64(v);
}

