/* daemon/main.c: the rafktord entry point.
 *
 * Owns: command-line dispatch. For now only the offline data tools exist
 * (daemon/storage/data_tools.c); the daemon itself is a later issue and will
 * replace the "not built yet" branch.
 *
 * Must never: grow daemon logic here; each concern gets its own file.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon/storage/data_tools.h"

static int usage(FILE *f, int code)
{
        fprintf(f, "usage: rafktord --verify-data DIR\n"
                   "       rafktord --dump-data DIR [--json]\n"
                   "exit codes of the data tools: 0 intact, 1 only a torn tail or temporary\n"
                   "files start-up would remove, 2 damaged or unusable\n");
        return code;
}

int main(int argc, char **argv)
{
        const struct storage_io *io = storage_io_posix();

        if (argc == 3 && strcmp(argv[1], "--verify-data") == 0)
                return data_tools_verify(io, argv[2], stdout, stderr);
        if ((argc == 3 || argc == 4) && strcmp(argv[1], "--dump-data") == 0) {
                bool json = false;
                if (argc == 4) {
                        if (strcmp(argv[3], "--json") != 0)
                                return usage(stderr, 2);
                        json = true;
                }
                return data_tools_dump(io, argv[2], json, stdout, stderr);
        }
        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
                return usage(stdout, 0);
        if (argc >= 2 && (strcmp(argv[1], "--verify-data") == 0 ||
                          strcmp(argv[1], "--dump-data") == 0))
                return usage(stderr, 2);
        fprintf(stderr, "rafktord: the daemon is not built yet; only --verify-data and "
                        "--dump-data exist\n");
        return 2;
}
