/* daemon/net/internal.h: helpers shared by the files of daemon/net only.
 *
 * Owns: small macros and the private functions one net file gives another. Nothing here
 * is API: code outside daemon/net must never include this header.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "daemon/net/loop.h"

/* codec.c: a protobuf-c message or raw bytes as a byte buffer (caller destroys it). */
grpc_byte_buffer *net_bb_from_bytes(const void *data, size_t len);
grpc_byte_buffer *net_bb_from_message(const ProtobufCMessage *msg);
/* The whole buffer as one slice (caller unrefs it). */
grpc_slice net_bb_to_slice(grpc_byte_buffer *bb);
/* A slice as a NUL-terminated malloc'd string (NULL on allocation failure). */
char *net_slice_to_cstr(grpc_slice s);
