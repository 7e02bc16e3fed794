/* tests/sim/trace.c: ring buffer of trace lines.
 *
 * Owns: formatting of the time prefix and the ring.
 * Must never: allocate (it runs on every simulated step).
 */
#include "tests/sim/trace.h"

#include <stdarg.h>
#include <string.h>

void trace_init(struct trace *t, bool verbose)
{
        t->verbose = verbose;
        t->n = 0;
}

void trace_add(struct trace *t, uint64_t now, const char *fmt, ...)
{
        char *line = t->lines[t->n % TRACE_KEEP];
        int k = snprintf(line, TRACE_LINE, "%8llu ms  ", (unsigned long long) now);
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line + k, TRACE_LINE - k, fmt, ap);
        va_end(ap);
        t->n++;
        if (t->verbose)
                fprintf(stderr, "%s\n", line);
}

void trace_dump(const struct trace *t, unsigned count, FILE *f)
{
        uint64_t first;

        if (count > TRACE_KEEP)
                count = TRACE_KEEP;
        first = t->n > count ? t->n - count : 0;
        for (uint64_t i = first; i < t->n; i++)
                fprintf(f, "  %s\n", t->lines[i % TRACE_KEEP]);
}
