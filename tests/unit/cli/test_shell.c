/* tests/unit/cli/test_shell.c: raftctl's interactive shell driven through a pseudo-terminal.
 *
 * Owns: checks of what an operator sees: the prompt with node, role and term; TAB completion
 * of a command prefix and of member ids asked from the node; history kept across runs (up
 * arrow, ctrl-r); a typo answered with a suggestion without leaving the shell; ctrl-c drops
 * the line; ctrl-d leaves.
 * Must never sleep for a fixed time: every step waits until the expected text appears on the
 * terminal, with a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/cli/proc.h"

#define STEP_TIMEOUT_MS 10000

struct term {
        int fd;
        pid_t pid;
        char *screen;           /* everything the terminal received, NUL-terminated */
        size_t len;
        size_t mark;            /* searches start here */
};

static struct {
        char *dir;
        char endpoint[512];
        char state_home[600];
        pid_t fake;
} S;

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
        S.dir = proc_tmpdir();
        if (!S.dir)
                return -1;
        snprintf(S.endpoint, sizeof(S.endpoint), "unix:%s/node.sock", S.dir);
        snprintf(S.state_home, sizeof(S.state_home), "%s/state", S.dir);
        S.fake = proc_start_fake(S.endpoint, NULL, 10000);
        return S.fake > 0 ? 0 : -1;
}

static int teardown(void **state)
{
        proc_stop(S.fake);
        proc_rmtree(S.dir);
        free(S.dir);
        return 0;
}

static void term_start(struct term *t)
{
        struct winsize ws = { .ws_row = 40, .ws_col = 200 };
        char path[4096];

        memset(t, 0, sizeof(*t));
        proc_build_path("cli/raftctl", path, sizeof(path));
        t->pid = forkpty(&t->fd, NULL, NULL, &ws);
        assert_true(t->pid >= 0);
        if (t->pid == 0) {
                setenv("TERM", "xterm", 1);
                setenv("HOME", S.dir, 1);
                setenv("XDG_STATE_HOME", S.state_home, 1);
                unsetenv("RAFTCTL_ENDPOINTS");
                execl(path, path, "-e", S.endpoint, (char *)NULL);
                _exit(127);
        }
        t->screen = calloc(1, 1);
        assert_non_null(t->screen);
}

/* Read what the terminal shows until want appears after the mark; move the mark past it. */
static void term_wait(struct term *t, const char *want)
{
        int64_t deadline = now_ms() + STEP_TIMEOUT_MS;
        char *hit;

        while (!(hit = strstr(t->screen + t->mark, want))) {
                struct pollfd p = { .fd = t->fd, .events = POLLIN };
                int64_t left = deadline - now_ms();
                char buf[4096];
                ssize_t n;

                if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                        break;
                n = read(t->fd, buf, sizeof(buf));
                if (n <= 0)
                        break;
                t->screen = realloc(t->screen, t->len + (size_t)n + 1);
                assert_non_null(t->screen);
                for (ssize_t i = 0; i < n; i++)         /* keep NULs from hiding text */
                        t->screen[t->len++] = buf[i] ? buf[i] : ' ';
                t->screen[t->len] = '\0';
        }
        if (!hit)
                fprintf(stderr, "terminal never showed '%s'; it showed:\n%s\n", want,
                        t->screen + t->mark);
        assert_non_null(hit);
        t->mark = (size_t)(hit - t->screen) + strlen(want);
}

/* The prompt is on the screen, but keys typed before libedit has put the terminal in raw
 * mode would go through the cooked line discipline (a ctrl-d there is an end-of-file that
 * never reaches libedit). Wait until the terminal is raw: the master side reads the slave's
 * termios. */
static void term_prompt(struct term *t, const char *prompt)
{
        int64_t deadline = now_ms() + STEP_TIMEOUT_MS;
        struct termios tio;

        term_wait(t, prompt);
        for (;;) {
                struct timespec tick = { 0, 1000 * 1000 };

                assert_int_equal(tcgetattr(t->fd, &tio), 0);
                if (!(tio.c_lflag & ICANON))
                        return;
                assert_true(now_ms() < deadline);
                nanosleep(&tick, NULL);         /* re-check the condition each millisecond */
        }
}

static void term_type(struct term *t, const char *keys)
{
        size_t len = strlen(keys);

        assert_int_equal(write(t->fd, keys, len), (ssize_t)len);
}

/* Wait for the shell to exit (at most STEP_TIMEOUT_MS); returns its exit code. */
static int term_end(struct term *t)
{
        int pfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
        int st = 0;

        if (pfd >= 0) {
                struct pollfd p = { .fd = pfd, .events = POLLIN };

                poll(&p, 1, STEP_TIMEOUT_MS);
                close(pfd);
        }
        if (waitpid(t->pid, &st, WNOHANG) != t->pid) {
                kill(t->pid, SIGKILL);
                waitpid(t->pid, &st, 0);
                st = -1;
        }
        close(t->fd);
        free(t->screen);
        return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_the_prompt_shows_the_node_its_role_and_term(void **state)
{
        struct term t;

        term_start(&t);
        term_prompt(&t, "n1 (leader, term 7)> ");
        term_type(&t, "exit\r");
        assert_int_equal(term_end(&t), 0);
}

static void test_tab_completes_a_command_prefix_and_the_command_runs(void **state)
{
        struct term t;

        term_start(&t);
        term_prompt(&t, "(leader, term 7)> ");
        term_type(&t, "sta\t");
        term_wait(&t, "tus ");          /* "sta" + TAB shows "status " */
        term_type(&t, "\r");
        term_wait(&t, "ENDPOINT");
        term_wait(&t, "leader");
        term_prompt(&t, "n1 (leader, term 7)> ");  /* the prompt again, refreshed */
        term_type(&t, "\x04");           /* ctrl-d */
        assert_int_equal(term_end(&t), 0);
}

static void test_tab_completes_member_ids_asked_from_the_node(void **state)
{
        struct term t;

        term_start(&t);
        term_prompt(&t, "(leader, term 7)> ");
        term_type(&t, "member rem\t");
        term_wait(&t, "ove ");
        term_type(&t, "n\t\t");          /* ambiguous: the second TAB lists the ids */
        term_wait(&t, "n1");
        term_wait(&t, "n2");
        term_wait(&t, "n3");
        term_type(&t, "\x15" "exit\r");  /* ctrl-u clears the line */
        assert_int_equal(term_end(&t), 0);
}

static void test_history_is_kept_across_runs_and_recalled(void **state)
{
        char path[700];
        struct term t;
        struct stat st;

        term_start(&t);
        term_prompt(&t, "(leader, term 7)> ");
        term_type(&t, "put hist/key remembered\r");
        term_wait(&t, "VERSION");
        term_prompt(&t, "> ");
        term_type(&t, "leader\r");
        term_wait(&t, "ADDRESS");
        term_prompt(&t, "> ");
        term_type(&t, "exit\r");
        assert_int_equal(term_end(&t), 0);
        snprintf(path, sizeof(path), "%s/raftctl/history", S.state_home);
        assert_int_equal(stat(path, &st), 0);

        term_start(&t);
        term_prompt(&t, "(leader, term 7)> ");
        term_type(&t, "\x1b[A");         /* up arrow: the last line of the last run */
        term_wait(&t, "exit");
        term_type(&t, "\x1b[A");         /* and the one before */
        term_wait(&t, "leader");
        term_type(&t, "\x15");           /* ctrl-u, then search back with ctrl-r */
        term_type(&t, "\x12" "hist/k");
        term_wait(&t, "put hist/key remembered");
        term_type(&t, "\r");
        term_wait(&t, "VERSION");       /* it ran again */
        term_wait(&t, "hist/key  2");   /* version 2: applied a second time */
        term_prompt(&t, "> ");
        term_type(&t, "get hist/key -w plain\r");
        term_wait(&t, "remembered");
        term_prompt(&t, "> ");
        term_type(&t, "exit\r");
        assert_int_equal(term_end(&t), 0);
}

static void test_a_typo_gets_a_suggestion_and_errors_or_ctrl_c_never_end_the_shell(
        void **state)
{
        struct term t;

        term_start(&t);
        term_prompt(&t, "(leader, term 7)> ");
        term_type(&t, "stauts\r");
        term_wait(&t, "unknown command 'stauts', did you mean 'status'?");
        term_prompt(&t, "(leader, term 7)> ");
        term_type(&t, "get no/such/key\r");
        term_wait(&t, "not found");
        term_prompt(&t, "(leader, term 7)> ");
        term_type(&t, "help get\r");
        term_wait(&t, "Usage: get KEY");
        term_prompt(&t, "> ");
        term_type(&t, "sta\x03");       /* ctrl-c drops the line, not the shell */
        term_wait(&t, "^C");
        term_prompt(&t, "(leader, term 7)> ");
        term_type(&t, "leader -w plain\r");
        term_wait(&t, "n1\t");          /* "leader", not "staleader" */
        term_prompt(&t, "> ");
        term_type(&t, "\x04");
        assert_int_equal(term_end(&t), 3);      /* the last failure: not found */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_prompt_shows_the_node_its_role_and_term),
                cmocka_unit_test(test_tab_completes_a_command_prefix_and_the_command_runs),
                cmocka_unit_test(test_tab_completes_member_ids_asked_from_the_node),
                cmocka_unit_test(test_history_is_kept_across_runs_and_recalled),
                cmocka_unit_test(
                        test_a_typo_gets_a_suggestion_and_errors_or_ctrl_c_never_end_the_shell),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
