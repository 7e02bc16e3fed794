/* tests/unit/cli/proc.h: running raftctl and the fake server as child processes.
 *
 * Owns: fork/exec with pipes, feeding stdin, collecting stdout/stderr and the exit status,
 * all bounded by deadlines (never fixed sleeps). Must never be used by non-test code.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc_result {
        int status;         /* exit code; -1 killed at the deadline; 128+N on signal N */
        char *out;          /* NUL-terminated (may hold NULs before; see out_len) */
        size_t out_len;
        char *err;
        size_t err_len;
};

/* $top_builddir/REL (or ./REL when top_builddir is unset); static storage per call slot. */
const char *proc_build_path(const char *rel, char *buf, size_t len);

/* Run argv with extra environment entries ("NAME=value", NULL-terminated, may be NULL),
 * stdin from in/in_len, at most timeout_ms. 0, or -1 when it could not be started. */
int proc_run(char *const argv[], char *const env[], const void *in, size_t in_len,
             int timeout_ms, struct proc_result *res);
void proc_result_free(struct proc_result *res);

/* Start the fake server with these extra arguments (NULL-terminated) on listen address
 * addr, and wait (at most timeout_ms) for its "ready" line. Returns its pid, or -1. */
pid_t proc_start_fake(const char *addr, char *const extra[], int timeout_ms);
void proc_stop(pid_t pid);

/* A fresh private directory under $TMPDIR or /tmp (malloc'd path). */
char *proc_tmpdir(void);
void proc_rmtree(const char *dir);
