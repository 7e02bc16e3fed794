/* daemon/storage/data_tools.h: `rafktord --verify-data` and `--dump-data`.
 *
 * Owns: the offline inspection of a data directory: a summary and verdict
 * (verify), or one line per event, plain or JSON (dump).
 *
 * Must never: modify the directory (not even the torn-tail repair that
 * start-up would do) or open it while a daemon holds its lock.
 */
#ifndef RAFKTOR_STORAGE_DATA_TOOLS_H
#define RAFKTOR_STORAGE_DATA_TOOLS_H

#include <stdbool.h>
#include <stdio.h>

#include "daemon/storage/io.h"

/* Exit codes of both tools. */
enum data_tools_exit {
        DATA_TOOLS_INTACT = 0,   /* nothing to repair */
        DATA_TOOLS_REPAIRABLE = 1, /* only a torn tail / temp files start-up would remove */
        DATA_TOOLS_DAMAGED = 2,  /* start-up would refuse (or the dir is unusable) */
};

int data_tools_verify(const struct storage_io *io, const char *dir, FILE *out, FILE *err);
int data_tools_dump(const struct storage_io *io, const char *dir, bool json, FILE *out,
                    FILE *err);

#endif
