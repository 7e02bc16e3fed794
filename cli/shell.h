/* cli/shell.h: raftctl's interactive shell (libedit) and its line-by-line script mode.
 *
 * Owns: the read-eval loop, the prompt, history and completion wiring. Must never exit the
 * process on a command's failure: errors are printed and the loop goes on.
 */
#pragma once

#include "cli/commands.h"

/* Run the shell on stdin. When stdin is a terminal: prompt, history, completion; else read
 * commands line by line without a prompt. Returns 0 when every command succeeded, else the
 * exit code of the last command that failed. */
int shell_run(struct cmd_ctx *ctx);
