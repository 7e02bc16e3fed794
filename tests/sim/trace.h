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

#include "daemon/raft/raft.h"

#define TRACE_KEEP 48
#define TRACE_LINE 200

/* A Raft message, kept unformatted: most steps are message deliveries and
 * formatting them all would cost more than simulating them. */
struct trace_msg {
        char from[RAFT_ID_MAX], to[RAFT_ID_MAX];
        const char *suffix; /* a string literal */
        enum raft_msg_type type;
        raft_term_t term;
        uint64_t a, b, c; /* the fields trace_describe_msg shows */
        size_t n;
        bool f1, f2;
};

struct trace_line {
        uint64_t now;
        bool is_msg;
        struct trace_msg msg;
        char text[TRACE_LINE];
};

struct trace {
        bool verbose;
        uint64_t n; /* lines ever added */
        struct trace_line lines[TRACE_KEEP];
};

void trace_init(struct trace *t, bool verbose);
void trace_add(struct trace *t, uint64_t now, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* "<to> <- <from> <message><suffix>"; `suffix` must be a string literal. */
void trace_delivery(struct trace *t, uint64_t now, const char *to, const struct raft_msg *m,
                    const char *suffix);
/* "APPEND t3 prev 4/2 n=1 commit 4" and the like. */
void trace_describe_msg(const struct raft_msg *m, char *buf, size_t size);
/* The last `count` lines (at most TRACE_KEEP), oldest first. */
void trace_dump(const struct trace *t, unsigned count, FILE *f);

#endif
