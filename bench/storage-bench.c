/* bench/storage-bench.c: how fast the event log is on this disk.
 *
 * Owns: one run that prints the raw fdatasync loop rate of the disk (append
 * 112 bytes + fdatasync; also into a preallocated file, to judge whether
 * preallocation would pay), the log's appends/s and MB/s for batches of 1,
 * 16 and 256 events of 100 bytes (append a batch, wait until durable), and
 * the replay speed of 1,000,000 events. Each figure is the median of
 * --runs runs (default 3).
 *
 * Must never: run in `make check` (it is a program, not a test) or leave its
 * scratch directory behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/storage/evlog.h"

#define EVENT_BYTES 100
#define MEASURE_SECONDS 1.5
#define REPLAY_EVENTS 1000000ull

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
        qsort(v, (size_t)n, sizeof(*v), cmp_double);
        return v[n / 2];
}

static void rm_dir(const char *dir)
{
        char cmd[8400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* Appends 112 bytes + fdatasync in a loop; returns syncs per second. */
static double raw_fdatasync_rate(const char *dir, bool prealloc)
{
        char path[4200];
        uint8_t buf[112];
        uint64_t off = 0, n = 0;
        double t0, t;
        int fd;

        memset(buf, 0x5a, sizeof(buf));
        snprintf(path, sizeof(path), "%s/raw", dir);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0) {
                perror(path);
                exit(1);
        }
        if (prealloc) {
                int r = posix_fallocate(fd, 0, 64 << 20);
                if (r != 0 || fsync(fd) < 0) {
                        fprintf(stderr, "fallocate: %s\n", strerror(r ? r : errno));
                        exit(1);
                }
        }
        t0 = now();
        do {
                if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf) ||
                    fdatasync(fd) < 0) {
                        perror("raw write/fdatasync");
                        exit(1);
                }
                off += sizeof(buf);
                n++;
                t = now();
        } while (t - t0 < MEASURE_SECONDS);
        close(fd);
        unlink(path);
        return (double)n / (t - t0);
}

static struct evlog *open_log(const char *dir, const struct recovery_callbacks *cb)
{
        struct evlog_options o = { .dir = dir, .node_id = "bench" };
        struct storage_error err;
        struct evlog *log;

        if (evlog_open(&o, cb, &log, &err) < 0) {
                fprintf(stderr, "evlog_open: %s\n", err.msg);
                exit(1);
        }
        return log;
}

/* Appends batches of `batch` events and waits for each; events per second. */
static double log_rate(const char *base, int batch)
{
        char dir[4200];
        uint8_t payload[EVENT_BYTES];
        struct evlog *log;
        uint64_t seq = 1;
        double t0, t;

        memset(payload, 0xa5, sizeof(payload));
        snprintf(dir, sizeof(dir), "%s/log-%d", base, batch);
        log = open_log(dir, NULL);
        t0 = now();
        do {
                for (int i = 0; i < batch; i++, seq++)
                        if (evlog_append(log, seq, 3, payload, sizeof(payload)) < 0) {
                                fprintf(stderr, "append failed\n");
                                exit(1);
                        }
                if (evlog_flush(log, seq - 1) < 0) {
                        fprintf(stderr, "flush failed\n");
                        exit(1);
                }
                t = now();
        } while (t - t0 < MEASURE_SECONDS);
        evlog_close(log);
        rm_dir(dir);
        return (double)(seq - 1) / (t - t0);
}

struct replay_count {
        uint64_t n, bytes;
};

static int count_event(void *ud, uint64_t seq, uint8_t type, const uint8_t *p, size_t len)
{
        struct replay_count *c = ud;
        c->n++;
        c->bytes += len;
        return 0;
}

static void write_replay_log(const char *dir)
{
        uint8_t payload[EVENT_BYTES];
        struct evlog *log = open_log(dir, NULL);

        memset(payload, 0x3c, sizeof(payload));
        for (uint64_t s = 1; s <= REPLAY_EVENTS; s++) {
                if (evlog_append(log, s, 3, payload, sizeof(payload)) < 0) {
                        fprintf(stderr, "append failed\n");
                        exit(1);
                }
                if (s % 65536 == 0 && evlog_flush(log, s) < 0) {
                        fprintf(stderr, "flush failed\n");
                        exit(1);
                }
        }
        if (evlog_close(log) < 0) {
                fprintf(stderr, "close failed\n");
                exit(1);
        }
}

/* Seconds to open (recover) the log and replay every event; the CPU time
 * it took in *ret_cpu (the wall time suffers on a loaded machine). */
static double replay_seconds(const char *dir, double *ret_cpu)
{
        struct replay_count c = { 0 };
        struct recovery_callbacks cb = { .event = count_event, .ud = &c };
        struct evlog *log;
        double c0 = cpu_now(), t0 = now(), t;

        log = open_log(dir, &cb);
        t = now();
        *ret_cpu = cpu_now() - c0;
        evlog_close(log);
        if (c.n != REPLAY_EVENTS) {
                fprintf(stderr, "replayed %llu events, expected %llu\n",
                        (unsigned long long)c.n, REPLAY_EVENTS);
                exit(1);
        }
        return t - t0;
}

int main(int argc, char **argv)
{
        const char *parent = "/var/tmp";
        char base[4096], dir[4200];
        double v[16], b1[16], ratio[16], pre[16], raw;
        int runs = 3;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
                        runs = atoi(argv[++i]);
                else if (argv[i][0] != '-')
                        parent = argv[i];
                else {
                        fprintf(stderr, "usage: storage-bench [--runs N] [PARENT_DIR]\n");
                        return 2;
                }
        }
        if (runs < 1 || runs > 15)
                runs = 3;
        snprintf(base, sizeof(base), "%s/storage-bench-XXXXXX", parent);
        if (!mkdtemp(base)) {
                perror(base);
                return 1;
        }
        printf("storage-bench in %s, medians of %d runs, %d-byte events\n", base, runs,
               EVENT_BYTES);

        /* The disk may be shared and its speed drifts: measure the raw loop
         * and the log at batch 1 back to back and compare within each run. */
        for (int r = 0; r < runs; r++) {
                v[r] = raw_fdatasync_rate(base, false);
                b1[r] = log_rate(base, 1);
                ratio[r] = b1[r] / v[r];
                pre[r] = raw_fdatasync_rate(base, true);
        }
        raw = median(v, runs);
        printf("raw fdatasync loop (append 112 B + fdatasync): %.0f syncs/s\n", raw);
        printf("raw fdatasync loop, preallocated file:        %.0f syncs/s\n",
               median(pre, runs));
        {
                double rate = median(b1, runs);
                printf("evlog batch   1: %9.0f appends/s %7.2f MB/s %7.0f syncs/s"
                       "  (%.0f%% of the raw rate measured beside it)\n",
                       rate, rate * EVENT_BYTES / 1e6, rate, 100.0 * median(ratio, runs));
        }
        for (int b = 16; b <= 256; b *= 16) {
                double rate;
                for (int r = 0; r < runs; r++)
                        v[r] = log_rate(base, b);
                rate = median(v, runs);
                printf("evlog batch %3d: %9.0f appends/s %7.2f MB/s %7.0f syncs/s\n", b, rate,
                       rate * EVENT_BYTES / 1e6, rate / b);
        }

        snprintf(dir, sizeof(dir), "%s/replay", base);
        write_replay_log(dir);
        for (int r = 0; r < runs; r++)
                v[r] = replay_seconds(dir, &pre[r]);
        {
                double s = median(v, runs);
                printf("replay of %llu events: %.3f s wall, %.3f s CPU (%.0f events/s, "
                       "%.0f MB/s wall)\n",
                       REPLAY_EVENTS, s, median(pre, runs), (double)REPLAY_EVENTS / s,
                       (double)REPLAY_EVENTS * EVENT_BYTES / s / 1e6);
        }
        printf("load average at the end: ");
        fflush(stdout);
        if (system("cat /proc/loadavg") != 0)
                printf("unknown\n");
        rm_dir(base);
        return 0;
}
