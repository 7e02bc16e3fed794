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

static const char *msg_name(enum raft_msg_type t)
{
        switch (t) {
        case RAFT_MSG_APPEND:
                return "APPEND";
        case RAFT_MSG_APPEND_RESP:
                return "APPEND_RESP";
        case RAFT_MSG_VOTE:
                return "VOTE";
        case RAFT_MSG_VOTE_RESP:
                return "VOTE_RESP";
        case RAFT_MSG_TIMEOUT_NOW:
                return "TIMEOUT_NOW";
        }
        return "?";
}

void trace_describe_msg(const struct raft_msg *m, char *buf, size_t size)
{
        switch (m->type) {
        case RAFT_MSG_APPEND:
                snprintf(buf, size, "APPEND t%llu prev %llu/%llu n=%zu commit %llu",
                         (unsigned long long) m->term,
                         (unsigned long long) m->append.prev_index,
                         (unsigned long long) m->append.prev_term, m->append.n_entries,
                         (unsigned long long) m->append.commit);
                break;
        case RAFT_MSG_APPEND_RESP:
                snprintf(buf, size, "APPEND_RESP t%llu %s last %llu upto %llu",
                         (unsigned long long) m->term, m->append_resp.success ? "ok" : "REJECT",
                         (unsigned long long) m->append_resp.last_log,
                         (unsigned long long) m->append_resp.last_entry);
                break;
        case RAFT_MSG_VOTE:
                snprintf(buf, size, "%s t%llu last %llu/%llu",
                         m->vote.pre_vote ? "PREVOTE" : "VOTE",
                         (unsigned long long) m->term, (unsigned long long) m->vote.last_index,
                         (unsigned long long) m->vote.last_term);
                break;
        case RAFT_MSG_VOTE_RESP:
                snprintf(buf, size, "%s_RESP t%llu %s", m->vote_resp.pre_vote ? "PREVOTE" : "VOTE",
                         (unsigned long long) m->term,
                         m->vote_resp.granted ? "granted" : "denied");
                break;
        default:
                snprintf(buf, size, "%s t%llu", msg_name(m->type), (unsigned long long) m->term);
        }
}

static void format_line(const struct trace_line *l, char *buf, size_t size)
{
        int k = snprintf(buf, size, "%8llu ms  ", (unsigned long long) l->now);
        char what[120];

        if (!l->is_msg) {
                snprintf(buf + k, size - k, "%s", l->text);
                return;
        }
        {
                struct raft_msg m = { .type = l->msg.type, .term = l->msg.term };

                switch (m.type) {
                case RAFT_MSG_APPEND:
                        m.append.prev_index = l->msg.a;
                        m.append.prev_term = l->msg.b;
                        m.append.commit = l->msg.c;
                        m.append.n_entries = l->msg.n;
                        break;
                case RAFT_MSG_APPEND_RESP:
                        m.append_resp.success = l->msg.f1;
                        m.append_resp.last_log = l->msg.a;
                        m.append_resp.last_entry = l->msg.b;
                        break;
                case RAFT_MSG_VOTE:
                        m.vote.last_index = l->msg.a;
                        m.vote.last_term = l->msg.b;
                        m.vote.pre_vote = l->msg.f1;
                        break;
                case RAFT_MSG_VOTE_RESP:
                        m.vote_resp.granted = l->msg.f1;
                        m.vote_resp.pre_vote = l->msg.f2;
                        break;
                default:
                        break;
                }
                trace_describe_msg(&m, what, sizeof(what));
        }
        snprintf(buf + k, size - k, "%.16s <- %.16s %s%s", l->msg.to, l->msg.from, what,
                 l->msg.suffix);
}

void trace_add(struct trace *t, uint64_t now, const char *fmt, ...)
{
        struct trace_line *l = &t->lines[t->n % TRACE_KEEP];
        va_list ap;

        l->now = now;
        l->is_msg = false;
        va_start(ap, fmt);
        vsnprintf(l->text, sizeof(l->text), fmt, ap);
        va_end(ap);
        t->n++;
        if (t->verbose) {
                char buf[TRACE_LINE + 320];

                format_line(l, buf, sizeof(buf));
                fprintf(stderr, "%s\n", buf);
        }
}

void trace_delivery(struct trace *t, uint64_t now, const char *to, const struct raft_msg *m,
                    const char *suffix)
{
        struct trace_line *l = &t->lines[t->n % TRACE_KEEP];
        struct trace_msg *tm = &l->msg;

        l->now = now;
        l->is_msg = true;
        snprintf(tm->from, sizeof(tm->from), "%s", m->from);
        snprintf(tm->to, sizeof(tm->to), "%s", to);
        tm->suffix = suffix;
        tm->type = m->type;
        tm->term = m->term;
        tm->a = tm->b = tm->c = 0;
        tm->n = 0;
        tm->f1 = tm->f2 = false;
        switch (m->type) {
        case RAFT_MSG_APPEND:
                tm->a = m->append.prev_index;
                tm->b = m->append.prev_term;
                tm->c = m->append.commit;
                tm->n = m->append.n_entries;
                break;
        case RAFT_MSG_APPEND_RESP:
                tm->f1 = m->append_resp.success;
                tm->a = m->append_resp.last_log;
                tm->b = m->append_resp.last_entry;
                break;
        case RAFT_MSG_VOTE:
                tm->a = m->vote.last_index;
                tm->b = m->vote.last_term;
                tm->f1 = m->vote.pre_vote;
                break;
        case RAFT_MSG_VOTE_RESP:
                tm->f1 = m->vote_resp.granted;
                tm->f2 = m->vote_resp.pre_vote;
                break;
        default:
                break;
        }
        t->n++;
        if (t->verbose) {
                char buf[TRACE_LINE + 320];

                format_line(l, buf, sizeof(buf));
                fprintf(stderr, "%s\n", buf);
        }
}

void trace_dump(const struct trace *t, unsigned count, FILE *f)
{
        uint64_t first;

        if (count > TRACE_KEEP)
                count = TRACE_KEEP;
        first = t->n > count ? t->n - count : 0;
        for (uint64_t i = first; i < t->n; i++) {
                char buf[TRACE_LINE + 320];

                format_line(&t->lines[i % TRACE_KEEP], buf, sizeof(buf));
                fprintf(f, "  %s\n", buf);
        }
}
