/* daemon/config/local-config-main.c: rafktor-local-config, a build-tree
 * helper for the README's local run: prints rafktor.conf for node N (1..3)
 * of a local three-node cluster whose data lives under DIR.
 *
 * Owns: the command line around rafktor_config_render_local(), and checking
 * that what it prints loads.
 * Must never: write files (the run script redirects stdout).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config.h"

int main(int argc, char **argv) {
        char buf[2048], err[RAFKTOR_CONFIG_ERROR_MAX];
        struct rafktor_config c;
        char *end;
        unsigned long node;
        int n, r;

        if (argc != 3) {
                fprintf(stderr, "usage: %s NODE(1-3) DIR\n", argv[0]);
                return 2;
        }
        errno = 0;
        node = strtoul(argv[1], &end, 10);
        if (errno != 0 || *end != '\0' || node < 1 || node > 3) {
                fprintf(stderr, "%s: NODE must be 1, 2 or 3, got \"%s\"\n", argv[0], argv[1]);
                return 2;
        }
        n = rafktor_config_render_local((unsigned) node, argv[2], buf, sizeof(buf));
        if (n < 0) {
                fprintf(stderr, "%s: cannot render the config for DIR \"%s\": %s\n", argv[0],
                        argv[2], strerror(-n));
                return 1;
        }
        r = rafktor_config_load_string(buf, "generated", &c, err, sizeof(err));
        if (r < 0) {
                fprintf(stderr, "%s: generated config does not load: %s\n", argv[0], err);
                return 1;
        }
        rafktor_config_free(&c);
        if (fputs(buf, stdout) == EOF || fflush(stdout) == EOF) {
                fprintf(stderr, "%s: cannot write the config: %s\n", argv[0], strerror(errno));
                return 1;
        }
        return 0;
}
