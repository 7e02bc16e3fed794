/* daemon/net/codec.c: conversions between gRPC byte buffers, slices, bytes and protobuf-c.
 *
 * Owns: the packing of outgoing messages and the flattening of incoming buffers. Must never
 * keep a reference to what it is given, and never interpret a message's meaning.
 */
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "daemon/net/internal.h"

grpc_byte_buffer *net_bb_from_bytes(const void *data, size_t len)
{
        grpc_slice s = grpc_slice_malloc(len);
        grpc_byte_buffer *bb;

        if (len)
                memcpy(GRPC_SLICE_START_PTR(s), data, len);
        bb = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        return bb;
}

grpc_byte_buffer *net_bb_from_message(const ProtobufCMessage *msg)
{
        size_t len = protobuf_c_message_get_packed_size(msg);
        grpc_slice s = grpc_slice_malloc(len);
        grpc_byte_buffer *bb;

        protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
        bb = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        return bb;
}

grpc_slice net_bb_to_slice(grpc_byte_buffer *bb)
{
        grpc_byte_buffer_reader r;
        grpc_slice s;

        if (!bb || !grpc_byte_buffer_reader_init(&r, bb))
                return grpc_empty_slice();
        s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        return s;
}

char *net_slice_to_cstr(grpc_slice s)
{
        size_t len = GRPC_SLICE_LENGTH(s);
        char *str = malloc(len + 1);

        if (!str)
                return NULL;
        memcpy(str, GRPC_SLICE_START_PTR(s), len);
        str[len] = '\0';
        return str;
}
