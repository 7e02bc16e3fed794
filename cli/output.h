/* cli/output.h: one result rendered as a table, JSON or plain text.
 *
 * Owns: a document (a table of text cells plus the same data as a json-c value) and its
 * printing in the three formats. Must never hand-format JSON: json-c does it.
 *
 *   table: a header line and aligned columns (columns empty in every row left out);
 *   json:  the json-c value, pretty-printed (an object, or an array for lists);
 *   plain: the rows, cells separated by a tab, no header (for shell scripts).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "cli/options.h"

#define OUT_MAX_COLS 12

struct out_doc {
        size_t ncols;
        const char *headers[OUT_MAX_COLS];      /* static strings */
        char **cells;                           /* nrows * ncols, owned */
        size_t nrows;
        size_t cap;
        json_object *json;                      /* owned */
};

/* json_list: the JSON form is an array of row objects (else one object). */
int out_doc_init(struct out_doc *d, size_t ncols, const char *const *headers, bool json_list);
void out_doc_clear(struct out_doc *d);

/* Append a row of ncols cells (copied; NULL prints as empty). */
int out_doc_add_row(struct out_doc *d, const char *const *cells);
/* Append an object to the JSON array (list documents), taking the reference. */
int out_doc_add_json(struct out_doc *d, json_object *obj);
/* Append obj to the array arr, taking the reference (dropped on failure). */
int out_doc_add_json_to(json_object *arr, json_object *obj);

int out_doc_print(const struct out_doc *d, enum out_format f, FILE *out);

/* Bytes as text for a table cell: printable ASCII and valid UTF-8 as is, other bytes as
 * \xNN, backslash as \\. Returns a malloc'd string, NULL on OOM. */
char *out_escape(const uint8_t *data, size_t len);

/* Bytes into a JSON object under name: a string when they are valid UTF-8 without NUL,
 * else as lowercase hex under "NAME_hex". */
int out_json_bytes(json_object *obj, const char *name, const uint8_t *data, size_t len);
int out_json_u64(json_object *obj, const char *name, uint64_t v);
int out_json_str(json_object *obj, const char *name, const char *s);
int out_json_bool(json_object *obj, const char *name, bool v);

/* Whether data is valid UTF-8 and holds no NUL byte. */
bool out_utf8_text(const uint8_t *data, size_t len);
