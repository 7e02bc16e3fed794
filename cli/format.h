/* cli/format.h: the replies of the KV and Admin services as output documents.
 *
 * Owns: which columns and JSON fields each command shows. Must never print or talk to the
 * network: it fills a struct out_doc (output.h) that the caller prints.
 */
#pragma once

#include <stdint.h>

#include "cli/output.h"
#include "rafktor.pb-c.h"

#define FORMAT_LAG_UNKNOWN UINT64_MAX

/* "leader", "follower", "candidate", "learner" */
const char *format_role(Rafktor__V1__Role role);

/* status: one row (and one JSON object) per endpoint; s NULL means error is set. */
int format_status_init(struct out_doc *d);
int format_status_row(struct out_doc *d, const char *endpoint,
                      const Rafktor__V1__StatusResponse *s, uint64_t lag, const char *error);

int format_leader(struct out_doc *d, const Rafktor__V1__LeaderResponse *l);
int format_members(struct out_doc *d, const Rafktor__V1__MembersResponse *m);

/* get (one object) and range (list: an object {"kvs": [...], "more": bool}). */
int format_kv_init(struct out_doc *d, bool list);
int format_kv_row(struct out_doc *d, const Rafktor__V1__KeyValue *kv);
int format_range_more(struct out_doc *d, bool more);

int format_put(struct out_doc *d, const ProtobufCBinaryData *key,
               const Rafktor__V1__PutResponse *p);
int format_delete(struct out_doc *d, const ProtobufCBinaryData *key,
                  const Rafktor__V1__DeleteResponse *r);
int format_cas(struct out_doc *d, const ProtobufCBinaryData *key,
               const Rafktor__V1__CompareAndSwapResponse *r);

/* log: rows INDEX TERM TYPE ENTRY; JSON {"first_index", "last_index", "entries": [...]}. */
int format_log(struct out_doc *d, const Rafktor__V1__ReadLogResponse *r);
