/* cli/tokenize.h: a shell line split into words.
 *
 * Owns: the quoting rules of raftctl's shell: words separated by blanks; '...' literal;
 * "..." with \" and \\ escapes; a backslash outside quotes escapes the next character;
 * "" is an empty word. Must never run anything or expand variables.
 */
#pragma once

/* *ret_argv is a NULL-terminated malloc'd array of malloc'd words (free with
 * tokenize_free). Returns 0, -EINVAL with a reason in err (unterminated quote), -ENOMEM. */
int tokenize(const char *line, int *ret_argc, char ***ret_argv, char *err, unsigned errlen);
void tokenize_free(char **argv);
