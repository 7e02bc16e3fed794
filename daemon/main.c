/* daemon/main.c: the rafktord entry point.
 *
 * Owns: the command line (-c/--config, --check-config, --version, --help, and the offline
 * data tools --verify-data/--dump-data of daemon/storage/data_tools.c), loading the
 * config and handing over to daemon_run(). Must never grow daemon logic here: the life
 * cycle is daemon_run.c, signals, sd_notify and listening each have their own file.
 *
 * Exit codes: 0 success (or a clean stop), 1 a bad config or a failed start, 2 a usage
 * error; the data tools keep their own (0 intact, 1 repairable, 2 damaged). Errors before
 * the logger exists go through daemon_log_early_error() ("<3>" for the journal).
 */
#include <getopt.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon/config/config.h"
#include "daemon/daemon_log.h"
#include "daemon/daemon_run.h"
#include "daemon/daemon_signals.h"
#include "daemon/storage/data_tools.h"

enum action {
        ACTION_RUN,
        ACTION_CHECK_CONFIG,
        ACTION_VERSION,
        ACTION_HELP,
        ACTION_VERIFY_DATA,
        ACTION_DUMP_DATA,
};

struct args {
        enum action action;
        const char *config;
        const char *data_dir;
        bool json;
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: rafktord [-c|--config FILE]     run the daemon (default FILE: %s)\n"
                "       rafktord [-c FILE] --check-config  validate FILE and exit\n"
                "       rafktord --verify-data DIR        check a data directory offline\n"
                "       rafktord --dump-data DIR [--json] print every event of a data "
                "directory\n"
                "       rafktord --version | -h|--help\n"
                "exit codes: 0 ok, 1 bad config or failed start, 2 usage error; the data "
                "tools:\n"
                "0 intact, 1 only a torn tail or temporary files start-up would remove, 2 "
                "damaged\n",
                RAFKTOR_CONFIG_DEFAULT_PATH);
}

/* 0, or 2 after printing why the command line is wrong. */
static int parse_args(int argc, char **argv, struct args *a)
{
        enum { OPT_CHECK = 0x100, OPT_VERSION, OPT_VERIFY, OPT_DUMP, OPT_JSON };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, OPT_CHECK },
                { "version", no_argument, NULL, OPT_VERSION },
                { "help", no_argument, NULL, 'h' },
                { "verify-data", required_argument, NULL, OPT_VERIFY },
                { "dump-data", required_argument, NULL, OPT_DUMP },
                { "json", no_argument, NULL, OPT_JSON },
                {}
        };
        bool have_action = false;
        int c;

        *a = (struct args){ .action = ACTION_RUN, .config = RAFKTOR_CONFIG_DEFAULT_PATH };
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                enum action act;

                switch (c) {
                case 'c':
                        a->config = optarg;
                        continue;
                case OPT_JSON:
                        a->json = true;
                        continue;
                case OPT_CHECK:
                        act = ACTION_CHECK_CONFIG;
                        break;
                case OPT_VERSION:
                        act = ACTION_VERSION;
                        break;
                case 'h':
                        act = ACTION_HELP;
                        break;
                case OPT_VERIFY:
                        act = ACTION_VERIFY_DATA;
                        a->data_dir = optarg;
                        break;
                case OPT_DUMP:
                        act = ACTION_DUMP_DATA;
                        a->data_dir = optarg;
                        break;
                default:
                        usage(stderr);
                        return 2;
                }
                if (have_action && act != a->action) {
                        daemon_log_early_error("rafktord: give only one of --check-config, "
                                               "--version, --help, --verify-data, "
                                               "--dump-data");
                        return 2;
                }
                have_action = true;
                a->action = act;
        }
        if (optind < argc) {
                daemon_log_early_error("rafktord: unexpected argument '%s'", argv[optind]);
                usage(stderr);
                return 2;
        }
        if (a->json && a->action != ACTION_DUMP_DATA) {
                daemon_log_early_error("rafktord: --json goes with --dump-data");
                return 2;
        }
        return 0;
}

static int load_config(const char *path, struct rafktor_config *cfg)
{
        char err[RAFKTOR_CONFIG_ERROR_MAX];
        int r;

        r = rafktor_config_load_file(path, cfg, err, sizeof(err));
        if (r < 0) {
                daemon_log_early_error("%s", err);
                return r;
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct rafktor_config cfg;
        struct args a;
        int r;

        r = parse_args(argc, argv, &a);
        if (r != 0)
                return r;
        switch (a.action) {
        case ACTION_HELP:
                usage(stdout);
                return 0;
        case ACTION_VERSION:
                printf("rafktord %s\n", PACKAGE_VERSION);
                return 0;
        case ACTION_VERIFY_DATA:
                return data_tools_verify(storage_io_posix(), a.data_dir, stdout, stderr);
        case ACTION_DUMP_DATA:
                return data_tools_dump(storage_io_posix(), a.data_dir, a.json, stdout, stderr);
        case ACTION_CHECK_CONFIG:
                if (load_config(a.config, &cfg) < 0)
                        return 1;
                printf("%s: ok\n", a.config);
                rafktor_config_free(&cfg);
                return 0;
        case ACTION_RUN:
                break;
        }

#ifndef HAVE_JEMALLOC
        /* With glibc's malloc (--disable-jemalloc, sanitizer builds): allocations of
         * 128 KiB and more get their own mapping, returned to the system when freed.
         * Pinning the threshold turns off glibc's sliding one, which after the first such
         * free would serve them from the heap, where freed space between long-lived small
         * allocations (the KV's keys) is never handed back. The Raft log's chunks and
         * payload blocks (daemon/raft/raft_private.h) are sized above it, so a compaction
         * gives their memory back. jemalloc does that by itself. */
        if (mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1)
                daemon_log_early_error("rafktord: mallopt(M_MMAP_THRESHOLD, 128 KiB) failed: "
                                       "memory freed by log compaction may stay in the heap");
#endif

        /* Before any thread exists (the logger's writer, gRPC's): every later thread
         * inherits the mask, so only the signal thread sees SIGTERM/SIGINT. */
        r = daemon_signals_block();
        if (r < 0) {
                daemon_log_early_error("rafktord: cannot block signals: %s", strerror(-r));
                return 1;
        }
        if (load_config(a.config, &cfg) < 0)
                return 1;
        r = daemon_run(&cfg);
        rafktor_config_free(&cfg);
        return r;
}
