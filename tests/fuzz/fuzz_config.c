/* tests/fuzz/fuzz_config.c: libFuzzer target for the configuration parser.
 *
 * Owns: feeding arbitrary text to rafktor_config_load_string() and checking what it
 * promises: on success every required field is set and within its documented bounds; on
 * failure the config is left zeroed and the error is one non-empty line.
 *
 * Must never: read or write files; it only parses memory.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int all_zero(const void *p, size_t n)
{
        const uint8_t *b = p;

        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return 0;
        return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rafktor_config c;
        char err[RAFKTOR_CONFIG_ERROR_MAX];
        char *text;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        memset(&c, 0xa5, sizeof(c));
        err[0] = '\0';
        r = rafktor_config_load_string(text, "fuzz.conf", &c, err, sizeof(err));
        if (r == 0) {
                if (!c.id || !c.id[0] || !c.listen || !c.data_dir || c.listen_port == 0 ||
                    c.n_peers > RAFKTOR_CONFIG_MAX_PEERS ||
                    c.election_timeout_min_ms > c.election_timeout_max_ms ||
                    c.max_message_size >= c.segment_size)
                        abort();
                for (size_t i = 0; i < c.n_peers; i++)
                        if (!c.peers[i].id || !c.peers[i].host || c.peers[i].port == 0)
                                abort();
        } else {
                if (r == -ENOMEM)
                        goto out;
                if (!all_zero(&c, sizeof(c)) || err[0] == '\0' || strchr(err, '\n'))
                        abort();
        }
out:
        rafktor_config_free(&c);
        free(text);
        return 0;
}
