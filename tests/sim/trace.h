/* tests/sim/trace.h: the recent-event trace printed with a violation.
 *
 * Owns: a ring of the last TRACE_KEEP formatted lines (and, with -v, an echo
 * of every line to stderr).
 * Must never: decide anything; it only records.
 */
#ifndef RAFKTOR_SIM_TRACE_H
#define RAFKTOR_SIM_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_KEEP 48
#define TRACE_LINE 200

struct trace {
        bool verbose;
        uint64_t n; /* lines ever added */
        char lines[TRACE_KEEP][TRACE_LINE];
};

void trace_init(struct trace *t, bool verbose);
void trace_add(struct trace *t, uint64_t now, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* The last `count` lines (at most TRACE_KEEP), oldest first. */
void trace_dump(const struct trace *t, unsigned count, FILE *f);

#endif
