/* cli/complete.h: what the shell offers on TAB.
 *
 * Owns: the candidates for the word being typed, from the words before it: command names,
 * sub-commands, the command's and the global options, output formats, member ids (asked
 * from the node with Admin Members). Must never touch the terminal: shell.c hands the
 * candidates to libedit.
 */
#pragma once

#include "cli/commands.h"

/* before: the line up to the start of the word; text: the word's beginning. *ret is a
 * NULL-terminated malloc'd array of malloc'd candidates that start with text, sorted,
 * without duplicates (free with complete_free). ctx may be NULL (no member ids). */
int complete_candidates(struct cmd_ctx *ctx, const char *before, const char *text,
                        char ***ret);
void complete_free(char **list);
