/* fuzz_frame.c: libFuzzer target for the agent's input path: splits the input into frames exactly as a connection
 * does (header, bounds, payload) and decodes each payload as a request. Run by `make fuzz` (part of `make test`). */
#include "protocol.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (size - off >= AGENT_HEADER_SIZE) {
        struct frame_header h;
        if (proto_parse_header(data + off, &h))
            return 0; /* the agent closes the connection */
        off += AGENT_HEADER_SIZE;
        if (h.len > size - off)
            return 0; /* short read: the agent waits, then sees EOF */
        struct request q;
        if (proto_decode_request(h.type, h.id, data + off, h.len, &q) == 0) {
            /* touch what the handlers use */
            if (h.type == T_EXEC) {
                size_t n = strlen(q.u.exec.cmd) + strlen(q.u.exec.cwd);
                for (uint32_t i = 0; i < q.u.exec.argc; i++)
                    n += strlen(q.u.exec.args[i]);
                for (uint32_t i = 0; i < q.u.exec.envc; i++)
                    n += strlen(q.u.exec.env[i]);
                if (q.u.exec.args[q.u.exec.argc] || q.u.exec.env[q.u.exec.envc])
                    __builtin_trap();
                (void)n;
            } else if (h.type == T_READ || h.type == T_WRITE_OPEN) {
                (void)strlen(q.u.path.path);
            }
            proto_request_free(&q);
        }
        off += h.len;
    }
    /* the reply encoders with fuzzed contents must never overrun */
    if (size >= 4) {
        uint8_t *f = NULL;
        uint32_t n = (uint32_t)(size - 4);
        size_t len = proto_enc_data(&f, T_STDOUT, data[0], data + 4, n);
        if (len && (len != AGENT_HEADER_SIZE + n || memcmp(f + AGENT_HEADER_SIZE, data + 4, n)))
            __builtin_trap();
        free(f);
    }
    return 0;
}
