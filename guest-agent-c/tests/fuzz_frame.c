/* fuzz_frame.c: libFuzzer target for the agent's input path: splits the input into frames exactly as a connection
 * does (header, bounds, payload) and decodes each payload as a request (the directory requests of version 2
 * included, the PROC_* requests of version 3 and IDENTITY of version 4, whose hostname goes through the check the
 * handler applies), then runs reply encoders, LIST entries, PROCS, PROC_OUTPUT and IDENTITY_OK among them, on fuzzed
 * contents. Run by `make fuzz` (part of `make test`). */
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
            if (h.type == T_EXEC || h.type == T_PROC_START) {
                size_t n = strlen(q.u.exec.cmd) + strlen(q.u.exec.cwd);
                for (uint32_t i = 0; i < q.u.exec.argc; i++)
                    n += strlen(q.u.exec.args[i]);
                for (uint32_t i = 0; i < q.u.exec.envc; i++)
                    n += strlen(q.u.exec.env[i]);
                if (q.u.exec.args[q.u.exec.argc] || q.u.exec.env[q.u.exec.envc])
                    __builtin_trap();
                (void)n;
            } else if (h.type == T_READ || h.type == T_WRITE_OPEN || h.type == T_LIST || h.type == T_MKDIR ||
                       h.type == T_REMOVE) {
                (void)strlen(q.u.path.path);
                if (proto_request_version(h.type) < 1 || proto_request_version(h.type) > AGENT_PROTOCOL_VERSION)
                    __builtin_trap();
            }
            if (h.type >= T_PROC_START && h.type <= T_PROC_READ && proto_request_version(h.type) != 3)
                __builtin_trap();
            if (h.type == T_IDENTITY) {
                const struct identity_req *d = &q.u.identity;
                char msg[256];
                int ok = proto_identity_check(d, msg, sizeof(msg)) == 0;
                /* accepted: no NUL, at most AGENT_MAX_HOSTNAME bytes, the entropy inside the payload */
                if (proto_request_version(h.type) != 4 || strlen(d->hostname) > d->hostname_len ||
                    (ok && (strlen(d->hostname) != d->hostname_len || d->hostname_len > AGENT_MAX_HOSTNAME ||
                            d->nanos >= 1000000000u)) ||
                    (q.data_len && (q.data < data + off || q.data + q.data_len > data + off + h.len)))
                    __builtin_trap();
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
    /* LIST entries with fuzzed names (up to AGENT_MAX_NAME bytes each) encode to exactly their size */
    if (size >= 1) {
        char names[4][AGENT_MAX_NAME + 1];
        struct dir_entry e[4];
        uint32_t n = 0;
        size_t pos = 1, want = 4;
        for (; n < 4 && pos < size; n++) {
            size_t len = data[pos - 1] % (AGENT_MAX_NAME + 1);
            if (len > size - pos)
                len = size - pos;
            memcpy(names[n], data + pos, len);
            names[n][len] = 0; /* an embedded NUL just shortens the name */
            pos += len + 1;
            e[n] = (struct dir_entry){names[n], (uint8_t)(n + 1), 0644, (uint64_t)size, -1, 5};
            want += proto_dir_entry_size(&e[n]);
        }
        uint8_t *f = NULL;
        size_t len = proto_enc_dir_entries(&f, 8, e, n);
        if (len != AGENT_HEADER_SIZE + want)
            __builtin_trap();
        free(f);
    }
    /* IDENTITY_OK: fixed size whatever the values */
    if (size >= 6) {
        uint8_t *f = NULL;
        uint32_t bytes = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 8 | data[4];
        size_t len = proto_enc_identity_ok(&f, 15, data[0], bytes, data[5]);
        if (len != AGENT_HEADER_SIZE + 6 || f[AGENT_HEADER_SIZE] != data[0])
            __builtin_trap();
        free(f);
    }
    /* PROC_OUTPUT: the input split into the two streams; PROCS: a cmd and one argument cut from the input */
    if (size >= 1) {
        size_t cut = data[0] % size;
        uint8_t *f = NULL;
        size_t len = proto_enc_proc_output(&f, 9, 7, data, (uint32_t)cut, 11, data + cut, (uint32_t)(size - cut), 1, 143,
                                           15);
        if (len != AGENT_HEADER_SIZE + 8 + 4 + size + 8 + 4 + 1 + 4 + 4 || memcmp(f + AGENT_HEADER_SIZE + 12, data, cut))
            __builtin_trap();
        free(f);
        char cmd[64], arg[64];
        size_t cl = cut < sizeof(cmd) - 1 ? cut : sizeof(cmd) - 1;
        size_t al = size - cut < sizeof(arg) - 1 ? size - cut : sizeof(arg) - 1;
        memcpy(cmd, data, cl);
        cmd[cl] = 0;
        memcpy(arg, data + cut, al);
        arg[al] = 0;
        char *args[] = {arg, NULL};
        struct proc_info pi = {42, PROC_RUNNING, 0, 0, 1700000000000, cmd, args};
        len = proto_enc_procs(&f, 10, &pi, 1);
        if (len != AGENT_HEADER_SIZE + 4 + 4 + 1 + 4 + 4 + 8 + 4 + strlen(cmd) + 4 + 4 + strlen(arg))
            __builtin_trap();
        free(f);
    }
    return 0;
}
