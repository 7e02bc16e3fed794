/* tests/unit/cli/proc.c: child processes for the raftctl end-to-end and shell tests.
 *
 * Owns: process start, pipe plumbing and deadline-bounded waits. Must never sleep for a
 * fixed time: every wait is poll() on the child's pipes with the time left.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/cli/proc.h"

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *proc_build_path(const char *rel, char *buf, size_t len)
{
        const char *top = getenv("top_builddir");

        snprintf(buf, len, "%s/%s", top && *top ? top : ".", rel);
        return buf;
}

static int append(char **buf, size_t *len, const char *data, size_t n)
{
        char *b = realloc(*buf, *len + n + 1);

        if (!b)
                return -ENOMEM;
        memcpy(b + *len, data, n);
        *len += n;
        b[*len] = '\0';
        *buf = b;
        return 0;
}

/* Wait for the child's exit on a pidfd, at most until deadline (then kill it). */
static int wait_exit(pid_t pid, int64_t deadline)
{
        int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        int st;

        if (pfd >= 0) {
                struct pollfd p = { .fd = pfd, .events = POLLIN };
                int64_t left = deadline - now_ms();

                while (left > 0 && poll(&p, 1, (int)left) < 0 && errno == EINTR)
                        left = deadline - now_ms();
                close(pfd);
        }
        if (waitpid(pid, &st, WNOHANG) != pid) {
                kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                return -1;
        }
        if (WIFEXITED(st))
                return WEXITSTATUS(st);
        return 128 + WTERMSIG(st);
}

int proc_run(char *const argv[], char *const env[], const void *in, size_t in_len,
             int timeout_ms, struct proc_result *res)
{
        int pin[2], pout[2], perr[2];
        int64_t deadline = now_ms() + timeout_ms;
        size_t written = 0;
        pid_t pid;

        memset(res, 0, sizeof(*res));
        if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
            pipe2(perr, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                dup2(pin[0], 0);
                dup2(pout[1], 1);
                dup2(perr[1], 2);
                for (size_t i = 0; env && env[i]; i++)
                        putenv(env[i]);
                execv(argv[0], argv);
                _exit(127);
        }
        close(pin[0]);
        close(pout[1]);
        close(perr[1]);
        if (in_len == 0) {
                close(pin[1]);
                pin[1] = -1;
        } else {
                fcntl(pin[1], F_SETFL, O_NONBLOCK);
        }
        res->out = calloc(1, 1);
        res->err = calloc(1, 1);
        while (pout[0] >= 0 || perr[0] >= 0) {
                struct pollfd p[3] = {
                        { .fd = pout[0], .events = POLLIN },
                        { .fd = perr[0], .events = POLLIN },
                        { .fd = pin[1], .events = POLLOUT },
                };
                int64_t left = deadline - now_ms();
                char buf[4096];

                if (left <= 0)
                        break;
                if (poll(p, 3, (int)left) < 0 && errno != EINTR)
                        break;
                for (int i = 0; i < 2; i++) {
                        int *fd = i == 0 ? &pout[0] : &perr[0];
                        ssize_t n;

                        if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        n = read(*fd, buf, sizeof(buf));
                        if (n > 0)
                                append(i == 0 ? &res->out : &res->err,
                                       i == 0 ? &res->out_len : &res->err_len, buf, (size_t)n);
                        else if (n == 0 || errno != EINTR) {
                                close(*fd);
                                *fd = -1;
                        }
                }
                if (pin[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
                        ssize_t n = write(pin[1], (const char *)in + written, in_len - written);

                        if (n > 0)
                                written += (size_t)n;
                        if (n < 0 || written == in_len) {
                                close(pin[1]);
                                pin[1] = -1;
                        }
                }
        }
        if (pin[1] >= 0)
                close(pin[1]);
        if (pout[0] >= 0)
                close(pout[0]);
        if (perr[0] >= 0)
                close(perr[0]);
        res->status = wait_exit(pid, deadline + 1000);
        return 0;
}

void proc_result_free(struct proc_result *res)
{
        free(res->out);
        free(res->err);
        memset(res, 0, sizeof(*res));
}

pid_t proc_start_fake(const char *addr, char *const extra[], int timeout_ms)
{
        char path[4096];
        char *argv[16];
        int argc = 0, pout[2];
        int64_t deadline = now_ms() + timeout_ms;
        char line[128];
        size_t len = 0;
        pid_t pid;

        argv[argc++] = (char *)proc_build_path("tests/unit/cli/fake_server", path,
                                               sizeof(path));
        argv[argc++] = "--listen";
        argv[argc++] = (char *)addr;
        for (size_t i = 0; extra && extra[i] && argc < 15; i++)
                argv[argc++] = extra[i];
        argv[argc] = NULL;
        if (pipe2(pout, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                dup2(pout[1], 1);
                execv(argv[0], argv);
                _exit(127);
        }
        close(pout[1]);
        while (len < sizeof(line) - 1) {
                struct pollfd p = { .fd = pout[0], .events = POLLIN };
                int64_t left = deadline - now_ms();
                ssize_t n;

                if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                        break;
                n = read(pout[0], line + len, sizeof(line) - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t)n;
                line[len] = '\0';
                if (strchr(line, '\n')) {
                        close(pout[0]);
                        if (strncmp(line, "ready ", 6) == 0)
                                return pid;
                        proc_stop(pid);
                        return -1;
                }
        }
        close(pout[0]);
        proc_stop(pid);
        return -1;
}

void proc_stop(pid_t pid)
{
        int st;

        if (pid <= 0)
                return;
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
}

char *proc_tmpdir(void)
{
        const char *t = getenv("TMPDIR");
        char *d;

        if (asprintf(&d, "%s/raftctl-test-XXXXXX", t && *t ? t : "/tmp") < 0)
                return NULL;
        if (!mkdtemp(d)) {
                free(d);
                return NULL;
        }
        return d;
}

void proc_rmtree(const char *dir)
{
        char *cmd;
        int r;

        if (!dir || asprintf(&cmd, "rm -rf '%s'", dir) < 0)
                return;
        r = system(cmd);
        (void)r;
        free(cmd);
}
