/* cli/tokenize.c: splitting a shell line into words with quotes and escapes.
 *
 * Owns: tokenize(). Must never read beyond the line's NUL.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/tokenize.h"

void tokenize_free(char **argv)
{
        if (!argv)
                return;
        for (char **p = argv; *p; p++)
                free(*p);
        free(argv);
}

static int push(char ***argv, int *argc, char *word)
{
        char **n = realloc(*argv, ((size_t)*argc + 2) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        n[(*argc)++] = word;
        n[*argc] = NULL;
        *argv = n;
        return 0;
}

int tokenize(const char *line, int *ret_argc, char ***ret_argv, char *err, unsigned errlen)
{
        size_t len = strlen(line);
        char **argv = calloc(1, sizeof(*argv));
        char *word = NULL;
        size_t wl = 0;
        int argc = 0;
        const char *p = line;

        if (!argv)
                return -ENOMEM;
        while (*p) {
                bool have = false;

                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                if (!*p)
                        break;
                word = malloc(len + 1);
                if (!word)
                        goto oom;
                wl = 0;
                while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
                        have = true;
                        if (*p == '\'') {
                                const char *q = strchr(p + 1, '\'');

                                if (!q) {
                                        snprintf(err, errlen, "unterminated ' quote");
                                        goto bad;
                                }
                                memcpy(word + wl, p + 1, (size_t)(q - p - 1));
                                wl += (size_t)(q - p - 1);
                                p = q + 1;
                        } else if (*p == '"') {
                                p++;
                                while (*p && *p != '"') {
                                        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                                p++;
                                        word[wl++] = *p++;
                                }
                                if (*p != '"') {
                                        snprintf(err, errlen, "unterminated \" quote");
                                        goto bad;
                                }
                                p++;
                        } else if (*p == '\\' && p[1]) {
                                word[wl++] = p[1];
                                p += 2;
                        } else {
                                word[wl++] = *p++;
                        }
                }
                if (have) {
                        word[wl] = '\0';
                        if (push(&argv, &argc, word) < 0)
                                goto oom;
                        word = NULL;
                }
        }
        *ret_argc = argc;
        *ret_argv = argv;
        return 0;
bad:
        free(word);
        tokenize_free(argv);
        return -EINVAL;
oom:
        free(word);
        tokenize_free(argv);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
}
