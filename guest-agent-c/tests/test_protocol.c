/* test_protocol.c: the C codec against the shared fixtures (decode and re-encode every one), plus edge cases. */
#define _GNU_SOURCE
#include "check.h"
#include "protocol.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_dir;

struct blob {
    uint8_t *p;
    size_t n;
};

static struct blob load(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.bin", g_dir, name);
    struct blob b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing fixture %s\n", path);
        g_failures++;
        return b;
    }
    b.p = malloc(2 * 1024 * 1024);
    b.n = fread(b.p, 1, 2 * 1024 * 1024, f);
    fclose(f);
    return b;
}

/* Loads a fixture, checks its header, returns the payload via *pl */
static struct blob frame(const char *name, uint8_t type, uint32_t id, const uint8_t **pl, uint32_t *len)
{
    struct blob b = load(name);
    struct frame_header h = {0, 0, 0};
    CHECK(b.n >= AGENT_HEADER_SIZE);
    if (b.n >= AGENT_HEADER_SIZE) {
        CHECK_EQ(proto_parse_header(b.p, &h), 0);
        CHECK_EQ(h.type, type);
        CHECK_EQ(h.id, id);
        CHECK_EQ(h.len, b.n - AGENT_HEADER_SIZE);
    }
    *pl = b.p ? b.p + AGENT_HEADER_SIZE : NULL;
    *len = h.len;
    return b;
}

static void same(struct blob fixture, uint8_t *enc, size_t n)
{
    CHECK_MEM(enc, n, fixture.p, fixture.n);
    free(enc);
    free(fixture.p);
}

static size_t enc_req(struct wr *w, uint8_t type, uint32_t id, uint8_t **out)
{
    size_t n = wr_finish(w, type, id);
    *out = w->p;
    return n;
}

static void test_requests(void)
{
    const uint8_t *pl;
    uint32_t len;
    struct request q;
    struct wr w;
    uint8_t *e;
    size_t n;

    struct blob b = frame("hello", T_HELLO, 0, &pl, &len);
    CHECK_EQ(proto_decode_request(T_HELLO, 0, pl, len, &q), 0);
    CHECK_EQ(q.u.hello.magic, AGENT_MAGIC);
    CHECK_EQ(q.u.hello.min_version, 1);
    CHECK_EQ(q.u.hello.max_version, 1);
    wr_init(&w), wr_u32(&w, AGENT_MAGIC), wr_u16(&w, 1), wr_u16(&w, 1);
    n = enc_req(&w, T_HELLO, 0, &e);
    same(b, e, n);

    b = frame("ping", T_PING, 1, &pl, &len);
    CHECK_EQ(proto_decode_request(T_PING, 1, pl, len, &q), 0);
    CHECK_MEM(q.data, q.data_len, "ping", 4);
    wr_init(&w), wr_raw(&w, "ping", 4);
    n = enc_req(&w, T_PING, 1, &e);
    same(b, e, n);

    b = frame("exec", T_EXEC, 2, &pl, &len);
    CHECK_EQ(proto_decode_request(T_EXEC, 2, pl, len, &q), 0);
    CHECK_EQ(q.u.exec.timeout_ms, 5000);
    CHECK_EQ(q.u.exec.stdout_cap, 1048576);
    CHECK_EQ(q.u.exec.stderr_cap, 65536);
    CHECK_STR(q.u.exec.cmd, "/bin/sh");
    CHECK_EQ(q.u.exec.argc, 2);
    CHECK_STR(q.u.exec.args[0], "-c");
    CHECK_STR(q.u.exec.args[1], "echo hi");
    CHECK(q.u.exec.args[2] == NULL);
    CHECK_EQ(q.u.exec.envc, 1);
    CHECK_STR(q.u.exec.env[0], "A=1");
    CHECK_STR(q.u.exec.cwd, "/tmp");
    CHECK_MEM(q.u.exec.stdin_data, q.u.exec.stdin_len, "in", 2);
    CHECK_EQ(q.u.exec.has_nul, 0);
    proto_request_free(&q);
    wr_init(&w);
    wr_u32(&w, 5000), wr_u32(&w, 1048576), wr_u32(&w, 65536), wr_str(&w, "/bin/sh");
    wr_u32(&w, 2), wr_str(&w, "-c"), wr_str(&w, "echo hi"), wr_u32(&w, 1), wr_str(&w, "A=1");
    wr_str(&w, "/tmp"), wr_blob(&w, "in", 2);
    n = enc_req(&w, T_EXEC, 2, &e);
    same(b, e, n);

    b = frame("write_open", T_WRITE_OPEN, 3, &pl, &len);
    CHECK_EQ(proto_decode_request(T_WRITE_OPEN, 3, pl, len, &q), 0);
    CHECK_STR(q.u.path.path, "/tmp/f.txt");
    CHECK_EQ(q.u.path.mode, 0644);
    proto_request_free(&q);
    wr_init(&w), wr_str(&w, "/tmp/f.txt"), wr_u32(&w, 0644);
    n = enc_req(&w, T_WRITE_OPEN, 3, &e);
    same(b, e, n);

    b = frame("write_data", T_WRITE_DATA, 3, &pl, &len);
    CHECK_EQ(proto_decode_request(T_WRITE_DATA, 3, pl, len, &q), 0);
    CHECK_MEM(q.data, q.data_len, "\x00\x01\x02\xff", 4);
    wr_init(&w), wr_raw(&w, "\x00\x01\x02\xff", 4);
    n = enc_req(&w, T_WRITE_DATA, 3, &e);
    same(b, e, n);

    b = frame("write_end", T_WRITE_END, 3, &pl, &len);
    CHECK_EQ(proto_decode_request(T_WRITE_END, 3, pl, len, &q), 0);
    wr_init(&w);
    n = enc_req(&w, T_WRITE_END, 3, &e);
    same(b, e, n);

    b = frame("read", T_READ, 4, &pl, &len);
    CHECK_EQ(proto_decode_request(T_READ, 4, pl, len, &q), 0);
    CHECK_STR(q.u.path.path, "/etc/hostname");
    CHECK_EQ(q.u.path.max_bytes, 1048576);
    proto_request_free(&q);
    wr_init(&w), wr_str(&w, "/etc/hostname"), wr_u64(&w, 1048576);
    n = enc_req(&w, T_READ, 4, &e);
    same(b, e, n);

    b = frame("clock", T_CLOCK, 5, &pl, &len);
    CHECK_EQ(proto_decode_request(T_CLOCK, 5, pl, len, &q), 0);
    CHECK_EQ(q.u.clock.seconds, 1700000000);
    CHECK_EQ(q.u.clock.nanos, 123456789);
    wr_init(&w), wr_u64(&w, 1700000000), wr_u32(&w, 123456789);
    n = enc_req(&w, T_CLOCK, 5, &e);
    same(b, e, n);

    b = frame("entropy", T_ENTROPY, 6, &pl, &len);
    CHECK_EQ(proto_decode_request(T_ENTROPY, 6, pl, len, &q), 0);
    uint8_t seq[16];
    for (int i = 0; i < 16; i++)
        seq[i] = (uint8_t)i;
    CHECK_MEM(q.data, q.data_len, seq, 16);
    wr_init(&w), wr_raw(&w, seq, 16);
    n = enc_req(&w, T_ENTROPY, 6, &e);
    same(b, e, n);

    b = frame("quiesce", T_QUIESCE, 7, &pl, &len);
    CHECK_EQ(proto_decode_request(T_QUIESCE, 7, pl, len, &q), 0);
    wr_init(&w);
    n = enc_req(&w, T_QUIESCE, 7, &e);
    same(b, e, n);

    b = frame("cancel", T_CANCEL, 2, &pl, &len);
    CHECK_EQ(proto_decode_request(T_CANCEL, 2, pl, len, &q), 0);
    wr_init(&w);
    n = enc_req(&w, T_CANCEL, 2, &e);
    same(b, e, n);

    b = frame("hello_v2", T_HELLO, 0, &pl, &len);
    CHECK_EQ(proto_decode_request(T_HELLO, 0, pl, len, &q), 0);
    CHECK_EQ(q.u.hello.min_version, 1);
    CHECK_EQ(q.u.hello.max_version, 2);
    wr_init(&w), wr_u32(&w, AGENT_MAGIC), wr_u16(&w, 1), wr_u16(&w, 2);
    n = enc_req(&w, T_HELLO, 0, &e);
    same(b, e, n);

    b = frame("list", T_LIST, 8, &pl, &len);
    CHECK_EQ(proto_decode_request(T_LIST, 8, pl, len, &q), 0);
    CHECK_STR(q.u.path.path, "/tmp");
    CHECK_EQ(q.u.path.max_entries, 1000);
    CHECK_EQ(q.u.path.has_nul, 0);
    proto_request_free(&q);
    wr_init(&w), wr_str(&w, "/tmp"), wr_u32(&w, 1000);
    n = enc_req(&w, T_LIST, 8, &e);
    same(b, e, n);

    b = frame("mkdir", T_MKDIR, 9, &pl, &len);
    CHECK_EQ(proto_decode_request(T_MKDIR, 9, pl, len, &q), 0);
    CHECK_STR(q.u.path.path, "/tmp/a/b");
    CHECK_EQ(q.u.path.mode, 0755);
    proto_request_free(&q);
    wr_init(&w), wr_str(&w, "/tmp/a/b"), wr_u32(&w, 0755);
    n = enc_req(&w, T_MKDIR, 9, &e);
    same(b, e, n);

    b = frame("remove", T_REMOVE, 10, &pl, &len);
    CHECK_EQ(proto_decode_request(T_REMOVE, 10, pl, len, &q), 0);
    CHECK_STR(q.u.path.path, "/tmp/a");
    CHECK_EQ(q.u.path.flags, REMOVE_F_RECURSIVE);
    proto_request_free(&q);
    wr_init(&w), wr_str(&w, "/tmp/a"), wr_u32(&w, REMOVE_F_RECURSIVE);
    n = enc_req(&w, T_REMOVE, 10, &e);
    same(b, e, n);

    b = frame("hello_v3", T_HELLO, 0, &pl, &len);
    CHECK_EQ(proto_decode_request(T_HELLO, 0, pl, len, &q), 0);
    CHECK_EQ(q.u.hello.max_version, 3);
    wr_init(&w), wr_u32(&w, AGENT_MAGIC), wr_u16(&w, 1), wr_u16(&w, 3);
    n = enc_req(&w, T_HELLO, 0, &e);
    same(b, e, n);

    b = frame("proc_start", T_PROC_START, 11, &pl, &len);
    CHECK_EQ(proto_decode_request(T_PROC_START, 11, pl, len, &q), 0);
    CHECK_STR(q.u.exec.cmd, "sh");
    CHECK_EQ(q.u.exec.argc, 2);
    CHECK_STR(q.u.exec.args[0], "-c");
    CHECK_STR(q.u.exec.args[1], "echo tick");
    CHECK(q.u.exec.args[2] == NULL);
    CHECK_EQ(q.u.exec.envc, 1);
    CHECK_STR(q.u.exec.env[0], "A=1");
    CHECK_STR(q.u.exec.cwd, "/tmp");
    CHECK_EQ(q.u.exec.has_nul, 0);
    proto_request_free(&q);
    wr_init(&w), wr_str(&w, "sh"), wr_u32(&w, 2), wr_str(&w, "-c"), wr_str(&w, "echo tick"), wr_u32(&w, 1);
    wr_str(&w, "A=1"), wr_str(&w, "/tmp");
    n = enc_req(&w, T_PROC_START, 11, &e);
    same(b, e, n);

    b = frame("proc_list", T_PROC_LIST, 12, &pl, &len);
    CHECK_EQ(proto_decode_request(T_PROC_LIST, 12, pl, len, &q), 0);
    wr_init(&w);
    n = enc_req(&w, T_PROC_LIST, 12, &e);
    same(b, e, n);

    b = frame("proc_signal", T_PROC_SIGNAL, 13, &pl, &len);
    CHECK_EQ(proto_decode_request(T_PROC_SIGNAL, 13, pl, len, &q), 0);
    CHECK_EQ(q.u.proc.pid, 42);
    CHECK_EQ(q.u.proc.signal, 15);
    wr_init(&w), wr_u32(&w, 42), wr_u32(&w, 15);
    n = enc_req(&w, T_PROC_SIGNAL, 13, &e);
    same(b, e, n);

    b = frame("proc_read", T_PROC_READ, 14, &pl, &len);
    CHECK_EQ(proto_decode_request(T_PROC_READ, 14, pl, len, &q), 0);
    CHECK_EQ(q.u.proc.pid, 42);
    CHECK_EQ(q.u.proc.stdout_off, 5);
    CHECK_EQ(q.u.proc.stderr_off, 0);
    CHECK_EQ(q.u.proc.max_bytes, 65536);
    CHECK_EQ(q.u.proc.wait_ms, 1000);
    wr_init(&w), wr_u32(&w, 42), wr_u64(&w, 5), wr_u64(&w, 0), wr_u32(&w, 65536), wr_u32(&w, 1000);
    n = enc_req(&w, T_PROC_READ, 14, &e);
    same(b, e, n);

    b = frame("hello_v4", T_HELLO, 0, &pl, &len);
    CHECK_EQ(proto_decode_request(T_HELLO, 0, pl, len, &q), 0);
    CHECK_EQ(q.u.hello.max_version, 4);
    wr_init(&w), wr_u32(&w, AGENT_MAGIC), wr_u16(&w, 1), wr_u16(&w, 4);
    n = enc_req(&w, T_HELLO, 0, &e);
    same(b, e, n);

    b = frame("identity", T_IDENTITY, 15, &pl, &len);
    CHECK_EQ(proto_decode_request(T_IDENTITY, 15, pl, len, &q), 0);
    CHECK_STR(q.u.identity.hostname, "sb-1a2b3c4d");
    CHECK_EQ(q.u.identity.hostname_len, 11);
    CHECK_EQ(q.u.identity.seconds, 1700000000);
    CHECK_EQ(q.u.identity.nanos, 123456789);
    CHECK_MEM(q.data, q.data_len, seq, 16);
    char why[256];
    CHECK_EQ(proto_identity_check(&q.u.identity, why, sizeof(why)), 0);
    proto_request_free(&q);
    wr_init(&w), wr_str(&w, "sb-1a2b3c4d"), wr_u64(&w, 1700000000), wr_u32(&w, 123456789), wr_blob(&w, seq, 16);
    n = enc_req(&w, T_IDENTITY, 15, &e);
    same(b, e, n);

    /* the version each type needs: the new ones 2, 3 or 4, the rest 1 */
    CHECK_EQ(proto_request_version(T_IDENTITY), 4);
    CHECK_EQ(proto_request_version(T_PROC_START), 3);
    CHECK_EQ(proto_request_version(T_PROC_LIST), 3);
    CHECK_EQ(proto_request_version(T_PROC_SIGNAL), 3);
    CHECK_EQ(proto_request_version(T_PROC_READ), 3);
    CHECK_EQ(proto_request_version(T_LIST), 2);
    CHECK_EQ(proto_request_version(T_MKDIR), 2);
    CHECK_EQ(proto_request_version(T_REMOVE), 2);
    CHECK_EQ(proto_request_version(T_EXEC), 1);
    CHECK_EQ(proto_request_version(T_READ), 1);
}

static void test_replies(void)
{
    const uint8_t *pl;
    uint32_t len, sl;
    uint8_t *e;
    size_t n;
    struct rd r;
    const uint8_t *sp;

    struct blob b = frame("hello_ok", T_HELLO_OK, 0, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u16(&r), 1);
    sp = rd_blob(&r, &sl);
    CHECK_MEM(sp, sl, "sandbox-agent 0.1.0", 19);
    CHECK_EQ(rd_u32(&r), AGENT_MAX_PAYLOAD);
    CHECK_EQ(rd_u32(&r), HELLO_F_PID1);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_hello_ok(&e, 1, "sandbox-agent 0.1.0", AGENT_MAX_PAYLOAD, HELLO_F_PID1);
    same(b, e, n);

    b = frame("hello_ok_v2", T_HELLO_OK, 0, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u16(&r), 2);
    sp = rd_blob(&r, &sl);
    CHECK_MEM(sp, sl, "sandbox-agent 0.2.0", 19);
    CHECK_EQ(rd_u32(&r), AGENT_MAX_PAYLOAD);
    CHECK_EQ(rd_u32(&r), HELLO_F_PID1);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_hello_ok(&e, 2, "sandbox-agent 0.2.0", AGENT_MAX_PAYLOAD, HELLO_F_PID1);
    same(b, e, n);

    b = frame("hello_ok_v3", T_HELLO_OK, 0, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u16(&r), 3);
    sp = rd_blob(&r, &sl);
    CHECK_MEM(sp, sl, "sandbox-agent 0.3.0", 19);
    CHECK_EQ(rd_u32(&r), AGENT_MAX_PAYLOAD);
    CHECK_EQ(rd_u32(&r), HELLO_F_PID1);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_hello_ok(&e, 3, "sandbox-agent 0.3.0", AGENT_MAX_PAYLOAD, HELLO_F_PID1);
    same(b, e, n);

    /* the newest: this agent's own version and string */
    b = frame("hello_ok_v4", T_HELLO_OK, 0, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u16(&r), AGENT_PROTOCOL_VERSION);
    sp = rd_blob(&r, &sl);
    CHECK_MEM(sp, sl, AGENT_VERSION_STRING, strlen(AGENT_VERSION_STRING));
    CHECK_EQ(rd_u32(&r), AGENT_MAX_PAYLOAD);
    CHECK_EQ(rd_u32(&r), HELLO_F_PID1);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_hello_ok(&e, AGENT_PROTOCOL_VERSION, AGENT_VERSION_STRING, AGENT_MAX_PAYLOAD, HELLO_F_PID1);
    same(b, e, n);

    b = frame("identity_ok", T_IDENTITY_OK, 15, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u8(&r), IDENTITY_F_HOSTNAME | IDENTITY_F_CLOCK);
    CHECK_EQ(rd_u32(&r), 16);
    CHECK_EQ(rd_u8(&r), 1);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_identity_ok(&e, 15, IDENTITY_F_HOSTNAME | IDENTITY_F_CLOCK, 16, 1);
    same(b, e, n);

    b = frame("dir_entries", T_DIR_ENTRIES, 8, &pl, &len);
    struct dir_entry ents[3] = {
        {"a.txt", DIR_KIND_FILE, 0644, 5, 1700000000, 5},
        {"sub", DIR_KIND_DIR, 0755, 4096, 1700000001, 0},
        {"link", DIR_KIND_SYMLINK, 0777, 5, -1, 999999999},
    };
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u32(&r), 3);
    for (int i = 0; i < 3; i++) {
        sp = rd_blob(&r, &sl);
        CHECK_MEM(sp, sl, ents[i].name, strlen(ents[i].name));
        CHECK_EQ(rd_u8(&r), ents[i].kind);
        CHECK_EQ(rd_u32(&r), ents[i].mode);
        CHECK_EQ(rd_u64(&r), ents[i].size);
        CHECK_EQ((int64_t)rd_u64(&r), ents[i].mtime_seconds);
        CHECK_EQ(rd_u32(&r), ents[i].mtime_nanos);
    }
    CHECK_EQ(rd_end(&r), 0);
    size_t sum = 4;
    for (int i = 0; i < 3; i++)
        sum += proto_dir_entry_size(&ents[i]);
    CHECK_EQ(sum, len);
    n = proto_enc_dir_entries(&e, 8, ents, 3);
    same(b, e, n);

    b = frame("list_end", T_LIST_END, 8, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u32(&r), 3);
    CHECK_EQ(rd_u32(&r), LIST_F_TRUNCATED);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_list_end(&e, 8, 3, LIST_F_TRUNCATED);
    same(b, e, n);

    b = frame("mkdir_ok", T_MKDIR_OK, 9, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u8(&r), 1);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_mkdir_ok(&e, 9, 1);
    same(b, e, n);

    b = frame("remove_ok", T_REMOVE_OK, 10, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u64(&r), 4);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_u64(&e, T_REMOVE_OK, 10, 4);
    same(b, e, n);

    b = frame("procs", T_PROCS, 12, &pl, &len);
    char *pargs0[] = {"-c", "echo tick", NULL}, *pargs1[] = {"9", NULL};
    struct proc_info procs[2] = {
        {42, PROC_RUNNING, 0, 0, 1700000000123LL, "sh", pargs0},
        {7, PROC_EXITED, 143, 15, 1700000000000LL, "sleep", pargs1},
    };
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u32(&r), 2);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(rd_u32(&r), procs[i].pid);
        CHECK_EQ(rd_u8(&r), procs[i].state);
        CHECK_EQ((int32_t)rd_u32(&r), procs[i].exit_code);
        CHECK_EQ((int32_t)rd_u32(&r), procs[i].signal);
        CHECK_EQ((int64_t)rd_u64(&r), procs[i].started_ms);
        sp = rd_blob(&r, &sl);
        CHECK_MEM(sp, sl, procs[i].cmd, strlen(procs[i].cmd));
        uint32_t argc = rd_u32(&r);
        CHECK_EQ(argc, i == 0 ? 2 : 1);
        for (uint32_t j = 0; j < argc && j < 2; j++) {
            sp = rd_blob(&r, &sl);
            CHECK_MEM(sp, sl, procs[i].args[j], strlen(procs[i].args[j]));
        }
    }
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_procs(&e, 12, procs, 2);
    same(b, e, n);

    b = frame("signal_ok", T_SIGNAL_OK, 13, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u8(&r), 1);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_signal_ok(&e, 13, 1);
    same(b, e, n);

    b = frame("proc_output", T_PROC_OUTPUT, 14, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u64(&r), 5);
    sp = rd_blob(&r, &sl);
    CHECK_MEM(sp, sl, "tick 1\n", 7);
    CHECK_EQ(rd_u64(&r), 0);
    sp = rd_blob(&r, &sl);
    CHECK_EQ(sl, 0);
    CHECK_EQ(rd_u8(&r), 1);
    CHECK_EQ((int32_t)rd_u32(&r), 143);
    CHECK_EQ((int32_t)rd_u32(&r), 15);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_proc_output(&e, 14, 5, (const uint8_t *)"tick 1\n", 7, 0, NULL, 0, 1, 143, 15);
    same(b, e, n);

    b = frame("error_not_empty", T_ERROR, 10, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u16(&r), E_NOT_EMPTY);
    CHECK_EQ((int32_t)rd_u32(&r), 39);
    sp = rd_blob(&r, &sl);
    const char *ne = "remove /tmp/a: Directory not empty";
    CHECK_MEM(sp, sl, ne, strlen(ne));
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_error(&e, 10, E_NOT_EMPTY, 39, ne);
    same(b, e, n);

    b = frame("pong", T_PONG, 1, &pl, &len);
    CHECK_MEM(pl, len, "ping", 4);
    n = proto_enc_data(&e, T_PONG, 1, "ping", 4);
    same(b, e, n);

    b = frame("stdout", T_STDOUT, 2, &pl, &len);
    CHECK_MEM(pl, len, "hi\n", 3);
    n = proto_enc_data(&e, T_STDOUT, 2, "hi\n", 3);
    same(b, e, n);

    b = frame("stderr", T_STDERR, 2, &pl, &len);
    CHECK_MEM(pl, len, "oops\n", 5);
    n = proto_enc_data(&e, T_STDERR, 2, "oops\n", 5);
    same(b, e, n);

    b = frame("exit", T_EXIT, 2, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ((int32_t)rd_u32(&r), 137);
    CHECK_EQ((int32_t)rd_u32(&r), 9);
    CHECK_EQ(rd_u32(&r), EXIT_F_TIMED_OUT | EXIT_F_STDOUT_TRUNC);
    CHECK_EQ(rd_u64(&r), 1500000000ull);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_exit(&e, 2, 137, 9, EXIT_F_TIMED_OUT | EXIT_F_STDOUT_TRUNC, 1500000000ull);
    same(b, e, n);

    b = frame("write_ok", T_WRITE_OK, 3, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u64(&r), 4);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_u64(&e, T_WRITE_OK, 3, 4);
    same(b, e, n);

    b = frame("file_data", T_FILE_DATA, 4, &pl, &len);
    CHECK_MEM(pl, len, "sandbox\n", 8);
    n = proto_enc_data(&e, T_FILE_DATA, 4, "sandbox\n", 8);
    same(b, e, n);

    b = frame("file_end", T_FILE_END, 4, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u64(&r), 8);
    n = proto_enc_u64(&e, T_FILE_END, 4, 8);
    same(b, e, n);

    b = frame("clock_ok", T_CLOCK_OK, 5, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u8(&r), 1);
    CHECK_EQ((int64_t)rd_u64(&r), 1699999999);
    CHECK_EQ(rd_u32(&r), 5);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_clock_ok(&e, 5, 1, 1699999999, 5);
    same(b, e, n);

    b = frame("entropy_ok", T_ENTROPY_OK, 6, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u32(&r), 16);
    CHECK_EQ(rd_u8(&r), 0);
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_entropy_ok(&e, 6, 16, 0);
    same(b, e, n);

    b = frame("quiesce_ok", T_QUIESCE_OK, 7, &pl, &len);
    CHECK_EQ(len, 0);
    n = proto_enc_data(&e, T_QUIESCE_OK, 7, NULL, 0);
    same(b, e, n);

    b = frame("error", T_ERROR, 4, &pl, &len);
    rd_init(&r, pl, len);
    CHECK_EQ(rd_u16(&r), E_NOT_FOUND);
    CHECK_EQ((int32_t)rd_u32(&r), 2);
    sp = rd_blob(&r, &sl);
    const char *m = "read /nope: No such file or directory";
    CHECK_MEM(sp, sl, m, strlen(m));
    CHECK_EQ(rd_end(&r), 0);
    n = proto_enc_error(&e, 4, E_NOT_FOUND, 2, m);
    same(b, e, n);
}

static void test_malformed(void)
{
    struct frame_header h;
    struct request q;
    struct blob b = load("malformed_oversize");
    CHECK(b.n == AGENT_HEADER_SIZE && proto_parse_header(b.p, &h) == -1);
    free(b.p);
    b = load("malformed_reserved");
    CHECK(b.n >= AGENT_HEADER_SIZE && proto_parse_header(b.p, &h) == -1);
    free(b.p);
    const char *bad_payload[] = {"malformed_exec_truncated", "malformed_trailing", "malformed_list_truncated",
                                 "malformed_proc_read_truncated", "malformed_identity_truncated"};
    for (int i = 0; i < 5; i++) {
        b = load(bad_payload[i]);
        CHECK(b.n >= AGENT_HEADER_SIZE);
        CHECK_EQ(proto_parse_header(b.p, &h), 0);
        CHECK_EQ(proto_decode_request(h.type, h.id, b.p + AGENT_HEADER_SIZE, h.len, &q), -1);
        free(b.p);
    }
}

static void test_edges(void)
{
    struct request q;
    uint8_t hdr[AGENT_HEADER_SIZE];
    struct frame_header h;
    proto_write_header(hdr, T_PING, 7, AGENT_MAX_PAYLOAD);
    CHECK_EQ(proto_parse_header(hdr, &h), 0);
    CHECK_EQ(h.len, AGENT_MAX_PAYLOAD);
    proto_write_header(hdr, T_PING, 7, AGENT_MAX_PAYLOAD + 1);
    CHECK_EQ(proto_parse_header(hdr, &h), -1);
    proto_write_header(hdr, T_PING, 7, 0xFFFFFFFFu);
    CHECK_EQ(proto_parse_header(hdr, &h), -1);

    /* unknown but well-formed type */
    CHECK_EQ(proto_decode_request(0x42, 1, (const uint8_t *)"", 0, &q), -2);
    /* a reply type sent as a request is unknown too */
    CHECK_EQ(proto_decode_request(T_EXIT, 1, (const uint8_t *)"", 0, &q), -2);

    /* embedded NUL is decoded but flagged */
    struct wr w;
    wr_init(&w);
    wr_u32(&w, 0), wr_u32(&w, 0), wr_u32(&w, 0), wr_blob(&w, "a\0b", 3), wr_u32(&w, 0), wr_u32(&w, 0);
    wr_str(&w, ""), wr_blob(&w, NULL, 0);
    size_t n = wr_finish(&w, T_EXEC, 9);
    CHECK(n > 0);
    CHECK_EQ(proto_decode_request(T_EXEC, 9, w.p + AGENT_HEADER_SIZE, (uint32_t)(n - AGENT_HEADER_SIZE), &q), 0);
    CHECK_EQ(q.u.exec.has_nul, 1);
    proto_request_free(&q);
    wr_free(&w);

    /* huge argc claims are refused before allocating */
    wr_init(&w);
    wr_u32(&w, 0), wr_u32(&w, 0), wr_u32(&w, 0), wr_str(&w, "x"), wr_u32(&w, 0xFFFFFFFFu);
    n = wr_finish(&w, T_EXEC, 9);
    CHECK_EQ(proto_decode_request(T_EXEC, 9, w.p + AGENT_HEADER_SIZE, (uint32_t)(n - AGENT_HEADER_SIZE), &q), -1);
    wr_free(&w);

    /* clock nanos out of range; ping too big */
    wr_init(&w);
    wr_u64(&w, 1), wr_u32(&w, 1000000000u);
    n = wr_finish(&w, T_CLOCK, 9);
    CHECK_EQ(proto_decode_request(T_CLOCK, 9, w.p + AGENT_HEADER_SIZE, (uint32_t)(n - AGENT_HEADER_SIZE), &q), -1);
    wr_free(&w);
    static uint8_t big[AGENT_MAX_PING + 1];
    CHECK_EQ(proto_decode_request(T_PING, 9, big, sizeof(big), &q), -1);

    /* writer refuses frames over the maximum */
    wr_init(&w);
    static uint8_t huge[AGENT_MAX_PAYLOAD];
    wr_raw(&w, huge, sizeof(huge));
    CHECK(wr_finish(&w, T_STDOUT, 1) == AGENT_HEADER_SIZE + AGENT_MAX_PAYLOAD);
    wr_u8(&w, 0);
    CHECK(wr_finish(&w, T_STDOUT, 1) == 0);
    wr_free(&w);
}

/* Decodes an IDENTITY with this hostname (n bytes) and nanos; returns proto_identity_check's answer. */
static int identity_check(const char *host, uint32_t n, uint32_t nanos)
{
    struct wr w;
    struct request q;
    char why[256] = "";
    wr_init(&w);
    wr_blob(&w, host, n), wr_u64(&w, 1700000000), wr_u32(&w, nanos), wr_blob(&w, "e", 1);
    size_t len = wr_finish(&w, T_IDENTITY, 3);
    CHECK(len > 0);
    int rc = proto_decode_request(T_IDENTITY, 3, w.p + AGENT_HEADER_SIZE, (uint32_t)(len - AGENT_HEADER_SIZE), &q);
    CHECK_EQ(rc, 0); /* bad values are well-formed: refused with ERROR INVALID, the connection stays */
    wr_free(&w);
    if (rc)
        return -2;
    CHECK_EQ(q.u.identity.hostname_len, n);
    CHECK_EQ(q.data_len, 1);
    rc = proto_identity_check(&q.u.identity, why, sizeof(why));
    CHECK(rc == 0 ? why[0] == 0 : why[0] != 0);
    proto_request_free(&q);
    return rc;
}

static void test_hostnames(void)
{
    char h64[65], h65[66];
    memset(h64, 'a', 64), h64[64] = 0;
    memset(h65, 'b', 65), h65[65] = 0;
    /* good: empty (unchanged), the engine's ids, letters/digits/dots/hyphens, exactly 64 bytes */
    CHECK_EQ(identity_check("", 0, 0), 0);
    CHECK_EQ(identity_check("sb-1a2b3c4d", 11, 999999999), 0);
    CHECK_EQ(identity_check("A.b-9", 5, 0), 0);
    CHECK_EQ(identity_check("0", 1, 0), 0);
    CHECK_EQ(identity_check(h64, 64, 0), 0);
    /* bad: too long, NUL, other characters, a leading '-' or '.', nanos out of range */
    CHECK_EQ(identity_check(h65, 65, 0), -1);
    CHECK_EQ(identity_check("a\0b", 3, 0), -1);
    CHECK_EQ(identity_check("a_b", 3, 0), -1);
    CHECK_EQ(identity_check("a b", 3, 0), -1);
    CHECK_EQ(identity_check("a/b", 3, 0), -1);
    CHECK_EQ(identity_check("h\xc3\xa9", 3, 0), -1);
    CHECK_EQ(identity_check("-a", 2, 0), -1);
    CHECK_EQ(identity_check(".a", 2, 0), -1);
    CHECK_EQ(identity_check("ok", 2, 1000000000u), -1);
    CHECK_EQ(proto_valid_hostname((const uint8_t *)"", 0), 0); /* empty is "unchanged" in IDENTITY, never a name */
    CHECK_EQ(proto_valid_hostname((const uint8_t *)"a.", 2), 1);
}

int main(int argc, char **argv)
{
    g_dir = argc > 1 ? argv[1] : "fixtures";
    test_requests();
    test_replies();
    test_malformed();
    test_hostnames();
    test_edges();
    return check_report("test_protocol");
}
