/* cli/output.c: documents (table cells + json-c value) and their three renderings.
 *
 * Owns: column alignment, byte escaping and the JSON printing flags. Must never know what a
 * command means: commands fill documents (format_*.c), this file only lays them out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/output.h"

int out_doc_init(struct out_doc *d, size_t ncols, const char *const *headers, bool json_list)
{
        memset(d, 0, sizeof(*d));
        if (ncols == 0 || ncols > OUT_MAX_COLS)
                return -EINVAL;
        d->ncols = ncols;
        for (size_t i = 0; i < ncols; i++)
                d->headers[i] = headers[i];
        d->json = json_list ? json_object_new_array() : json_object_new_object();
        return d->json ? 0 : -ENOMEM;
}

void out_doc_clear(struct out_doc *d)
{
        for (size_t i = 0; i < d->nrows * d->ncols; i++)
                free(d->cells[i]);
        free(d->cells);
        json_object_put(d->json);
        memset(d, 0, sizeof(*d));
}

int out_doc_add_row(struct out_doc *d, const char *const *cells)
{
        if (d->nrows == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 8;
                char **n = realloc(d->cells, cap * d->ncols * sizeof(*n));

                if (!n)
                        return -ENOMEM;
                d->cells = n;
                d->cap = cap;
        }
        for (size_t i = 0; i < d->ncols; i++) {
                char *s = strdup(cells[i] ? cells[i] : "");

                if (!s) {
                        while (i > 0)
                                free(d->cells[d->nrows * d->ncols + --i]);
                        return -ENOMEM;
                }
                d->cells[d->nrows * d->ncols + i] = s;
        }
        d->nrows++;
        return 0;
}

int out_doc_add_json(struct out_doc *d, json_object *obj)
{
        return out_doc_add_json_to(d->json, obj);
}

int out_doc_add_json_to(json_object *arr, json_object *obj)
{
        if (!obj)
                return -ENOMEM;
        if (json_object_array_add(arr, obj) < 0) {
                json_object_put(obj);
                return -ENOMEM;
        }
        return 0;
}

/* Display width of a UTF-8 cell: one column per code point (no wide characters here). */
static size_t width(const char *s)
{
        size_t w = 0;

        for (; *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        w++;
        return w;
}

/* Columns empty in every row are left out of tables (status's ERROR when all answered). */
static bool column_empty(const struct out_doc *d, size_t c)
{
        for (size_t r = 0; r < d->nrows; r++)
                if (d->cells[r * d->ncols + c][0])
                        return false;
        return d->nrows > 0;
}

/* Padding is owed, not written, until a non-empty cell follows: no trailing blanks. */
static void print_row(FILE *out, const char *const *cells, const size_t *colw,
                      const bool *shown, size_t ncols)
{
        size_t pending = 0;

        for (size_t c = 0; c < ncols; c++) {
                if (!shown[c])
                        continue;
                if (cells[c][0]) {
                        for (size_t i = 0; i < pending; i++)
                                fputc(' ', out);
                        fputs(cells[c], out);
                        pending = 0;
                }
                pending += colw[c] + 2 - width(cells[c]);
        }
        fputc('\n', out);
}

static int print_table(const struct out_doc *d, FILE *out)
{
        size_t colw[OUT_MAX_COLS];
        bool shown[OUT_MAX_COLS];

        for (size_t c = 0; c < d->ncols; c++) {
                shown[c] = !column_empty(d, c);
                colw[c] = width(d->headers[c]);
                for (size_t r = 0; r < d->nrows; r++) {
                        size_t w = width(d->cells[r * d->ncols + c]);

                        if (w > colw[c])
                                colw[c] = w;
                }
        }
        print_row(out, d->headers, colw, shown, d->ncols);
        for (size_t r = 0; r < d->nrows; r++)
                print_row(out, (const char *const *)&d->cells[r * d->ncols], colw, shown,
                          d->ncols);
        return 0;
}

static int print_plain(const struct out_doc *d, FILE *out)
{
        for (size_t r = 0; r < d->nrows; r++) {
                for (size_t c = 0; c < d->ncols; c++) {
                        if (c)
                                fputc('\t', out);
                        fputs(d->cells[r * d->ncols + c], out);
                }
                fputc('\n', out);
        }
        return 0;
}

int out_doc_print(const struct out_doc *d, enum out_format f, FILE *out)
{
        const char *s;

        switch (f) {
        case OUT_JSON:
                s = json_object_to_json_string_ext(d->json, JSON_C_TO_STRING_PRETTY |
                                                   JSON_C_TO_STRING_SPACED |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
                if (!s)
                        return -ENOMEM;
                fprintf(out, "%s\n", s);
                break;
        case OUT_PLAIN:
                print_plain(d, out);
                break;
        case OUT_TABLE:
        default:
                print_table(d, out);
                break;
        }
        return ferror(out) ? -EIO : 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid. */
static size_t utf8_seq(const uint8_t *p, size_t left)
{
        size_t n;
        uint32_t cp;

        if (p[0] < 0x80)
                return 1;
        if ((p[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = p[0] & 0x1f;
        } else if ((p[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = p[0] & 0x0f;
        } else if ((p[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = p[0] & 0x07;
        } else {
                return 0;
        }
        if (n > left)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return n;
}

bool out_utf8_text(const uint8_t *data, size_t len)
{
        for (size_t i = 0; i < len;) {
                size_t n = utf8_seq(data + i, len - i);

                if (n == 0 || data[i] == 0)
                        return false;
                i += n;
        }
        return true;
}

char *out_escape(const uint8_t *data, size_t len)
{
        char *s = malloc(len * 4 + 1), *p = s;

        if (!s)
                return NULL;
        for (size_t i = 0; i < len;) {
                size_t n = utf8_seq(data + i, len - i);

                if (n == 1 && data[i] == '\\') {
                        *p++ = '\\';
                        *p++ = '\\';
                } else if (n == 1 && (data[i] < 0x20 || data[i] == 0x7f)) {
                        p += sprintf(p, "\\x%02x", data[i]);
                } else if (n == 0) {
                        p += sprintf(p, "\\x%02x", data[i]);
                        n = 1;
                } else {
                        memcpy(p, data + i, n);
                        p += n;
                }
                i += n;
        }
        *p = '\0';
        return s;
}

static int add(json_object *obj, const char *name, json_object *v)
{
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(obj, name, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int out_json_bytes(json_object *obj, const char *name, const uint8_t *data, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        char key[64];
        char *h;
        int r;

        if (out_utf8_text(data, len))
                return add(obj, name, json_object_new_string_len((const char *)data, (int)len));
        h = malloc(len * 2 + 1);
        if (!h)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                h[2 * i] = hex[data[i] >> 4];
                h[2 * i + 1] = hex[data[i] & 15];
        }
        h[2 * len] = '\0';
        snprintf(key, sizeof(key), "%s_hex", name);
        r = add(obj, key, json_object_new_string(h));
        free(h);
        return r;
}

int out_json_u64(json_object *obj, const char *name, uint64_t v)
{
        return add(obj, name, json_object_new_uint64(v));
}

int out_json_str(json_object *obj, const char *name, const char *s)
{
        return add(obj, name, json_object_new_string(s ? s : ""));
}

int out_json_bool(json_object *obj, const char *name, bool v)
{
        return add(obj, name, json_object_new_boolean(v));
}
