/* cli/decode_log.h: a replicated log entry (Admin ReadLog's LogEntryView) made readable.
 *
 * Owns: the decoding of entry types (raftgrpc.LogEntryType), of the rafktor.v1.Command in
 * COMMAND entries and of the core configuration encoding in CONFIGURATION entries. Must never
 * fail on bad data: undecodable entries are described as such, with their size.
 */
#pragma once

#include <json-c/json.h>

#include "rafktor.pb-c.h"

/* "command", "noop", "configuration", "barrier", ... ("type N" for unknown ones) */
const char *log_entry_type_name(uint32_t type);

/* A one-line description: "put k=v", "delete k", "cas k if value=a then b",
 * "cas k if version=3 then b", "noop", "configuration n1=127.0.0.1:7401 (voter), ...",
 * "undecodable command (12 bytes)". The session, when present, is appended as
 * " [client 0x.. request N]". *ret is malloc'd. 0, or -ENOMEM. */
int log_entry_describe(const Rafktor__V1__LogEntryView *e, char **ret);

/* The same as a JSON object: index, term, type, and op/key/value/... fields. */
int log_entry_json(const Rafktor__V1__LogEntryView *e, json_object **ret);
