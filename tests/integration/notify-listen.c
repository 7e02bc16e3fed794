/* tests/integration/notify-listen.c: a stand-in for the service manager's notify socket.
 *
 *   notify-listen PATH      bind a unix datagram socket at PATH and print every line of
 *                           every message received (READY=1, STATUS=..., WATCHDOG=1, ...)
 *
 * Owns: that one socket. Must never interpret the messages (the tests do). Runs until
 * killed; the socket file is the caller's to remove.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[4096];
        int fd;

        if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: notify-listen PATH (shorter than %zu bytes)\n",
                        sizeof(sa.sun_path));
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                fprintf(stderr, "notify-listen: cannot bind %s: %s\n", argv[1],
                        strerror(errno));
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "notify-listen: recv: %s\n", strerror(errno));
                        return 1;
                }
                buf[n] = '\0';
                fputs(buf, stdout);
                if (n == 0 || buf[n - 1] != '\n')
                        fputc('\n', stdout);
        }
}
