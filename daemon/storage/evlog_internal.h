/* daemon/storage/evlog_internal.h: the evlog object, shared by evlog.c (API,
 * open/close), writer.c (the storage thread) and compact.c.
 *
 * Must never be included outside daemon/storage/.
 */
#ifndef RAFKTOR_STORAGE_EVLOG_INTERNAL_H
#define RAFKTOR_STORAGE_EVLOG_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "daemon/storage/evlog.h"

struct evlog_buf {
        uint8_t *data;
        size_t len, cap;
};

struct evlog {
        const struct storage_io *io;
        char *dir;
        char node_id[64];
        uint64_t segment_size;
        void *userdata;
        void (*log)(void *userdata, enum evlog_level level, const char *msg);
        void (*on_durable)(void *userdata, uint64_t durable);
        void (*on_error)(void *userdata, int code, const char *msg);
        char open_warning[5120];
        int lock_fd;

        /* Storage-thread state (set up by evlog_open before the thread). */
        int seg_fd;
        uint64_t seg_first;  /* first seq of the segment being written */
        uint64_t seg_off;    /* its size */

        pthread_t thread;
        bool thread_started;
        pthread_mutex_t mu;
        pthread_cond_t work;    /* pending data or stop */
        pthread_cond_t done;    /* durable advanced or error */
        /* Below: guarded by mu. */
        struct evlog_buf pending;
        uint64_t pending_first, pending_last;
        uint64_t next_seq;
        uint64_t durable;
        int error;              /* sticky (unless `full`): appends refused from here on */
        bool error_reported;    /* on_error has run: flush() waiters may go */
        /* -ENOSPC is retriable (writer.c): `error` is -ENOSPC, appends are still taken, the
         * failed batch waits in the storage thread for a retry (automatic, with back-off
         * from retry_min_ms to retry_max_ms, or at once after evlog_resume()). */
        bool full;
        bool retry_now;         /* evlog_resume(): retry without waiting */
        uint32_t retry_min_ms, retry_max_ms; /* 0: automatic retries off */
        char error_msg[1100];
        bool stop;
        uint64_t *segs;         /* first seqs of the segments on disk, ascending */
        size_t n_segs, cap_segs;
};

void *evlog_writer_main(void *arg);
/* Creates segment `first_seq` complete (temp, fsync, rename, dir fsync) and
 * returns its open handle. */
int evlog_segment_create(struct evlog *log, uint64_t first_seq, int *ret_fd,
                         struct storage_error *err);
/* Appends to log->segs (caller holds mu or runs before the thread). */
int evlog_segs_push(struct evlog *log, uint64_t first_seq);
void evlog_logf(struct evlog *log, enum evlog_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
