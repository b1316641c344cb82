/* test_procs.c: the background process table (procs.c): start, output rings and their bound, waits, signals, the
 * table's bounds, and reaping shared with foreground execs without either taking the other's exit status. */
#define _GNU_SOURCE
#include "check.h"
#include "procs.h"
#include "protocol.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFFER 1000 /* bytes kept per stream in these tests */

static uint32_t start_sh(const char *script)
{
    char *args[] = {"-c", (char *)script, NULL};
    struct exec_spec spec = {.cmd = "sh", .args = args};
    uint32_t pid = 0;
    uint16_t kind;
    int err;
    char msg[256];
    int rc = procs_start(&spec, &pid, &kind, &err, msg, sizeof(msg));
    CHECK_EQ(rc, 0);
    if (rc)
        fprintf(stderr, "start %s: %s\n", script, msg);
    return pid;
}

/* Reads both streams to the end (the exit), concatenated; returns the final read's exit state. */
struct all {
    char out[8192], err[8192];
    size_t out_len, err_len;
    uint64_t first_off[2];
    int32_t exit_code, signal;
    int exited;
};

static void read_all(uint32_t pid, struct all *a)
{
    memset(a, 0, sizeof(*a));
    uint64_t off[2] = {0, 0};
    int first = 1;
    for (int i = 0; i < 200 && !a->exited; i++) {
        struct proc_output o;
        int rc = procs_read(pid, off, 4096, 2000, NULL, &o);
        CHECK_EQ(rc, 0);
        if (rc)
            return;
        if (first)
            a->first_off[0] = o.off[0], a->first_off[1] = o.off[1], first = 0;
        if (a->out_len + o.len[0] < sizeof(a->out))
            memcpy(a->out + a->out_len, o.data[0], o.len[0]), a->out_len += o.len[0];
        if (a->err_len + o.len[1] < sizeof(a->err))
            memcpy(a->err + a->err_len, o.data[1], o.len[1]), a->err_len += o.len[1];
        off[0] = o.off[0] + o.len[0];
        off[1] = o.off[1] + o.len[1];
        a->exited = o.exited;
        a->exit_code = o.exit_code;
        a->signal = o.signal;
        procs_output_free(&o);
    }
}

static void test_output_and_exit(void)
{
    uint32_t pid = start_sh("echo out; echo err >&2; exit 3");
    CHECK(pid > 1);
    struct all a;
    read_all(pid, &a);
    CHECK_EQ(a.exited, 1);
    CHECK_EQ(a.exit_code, 3);
    CHECK_EQ(a.signal, 0);
    CHECK_MEM(a.out, a.out_len, "out\n", 4);
    CHECK_MEM(a.err, a.err_len, "err\n", 4);

    /* listed, once, with its command and exit */
    uint8_t *f;
    size_t n = procs_enc_list(&f, 5, pid);
    CHECK(n > AGENT_HEADER_SIZE);
    if (n) {
        struct rd r;
        rd_init(&r, f + AGENT_HEADER_SIZE, (uint32_t)(n - AGENT_HEADER_SIZE));
        CHECK_EQ(rd_u32(&r), 1);
        CHECK_EQ(rd_u32(&r), pid);
        CHECK_EQ(rd_u8(&r), PROC_EXITED);
        CHECK_EQ((int32_t)rd_u32(&r), 3);
        free(f);
    }
    CHECK_EQ(procs_enc_list(&f, 5, 999999), 0); /* unknown pid */
}

/* Waits for the exit without reading anything (offsets past the end are taken as the end). */
static void wait_exit(uint32_t pid)
{
    uint64_t end[2] = {UINT64_MAX, UINT64_MAX};
    struct proc_output o = {0};
    for (int i = 0; i < 50 && !o.exited; i++) {
        CHECK_EQ(procs_read(pid, end, 0, 200, NULL, &o), 0);
        procs_output_free(&o);
    }
    CHECK_EQ(o.exited, 1);
}

static void test_buffer_bound(void)
{
    /* 5000 bytes out, 1000 kept: the oldest 4000 are gone and the reply says where what is left begins */
    uint32_t pid = start_sh("i=0; while [ $i -lt 50 ]; do printf '%099d\\n' $i; i=$((i+1)); done");
    wait_exit(pid);
    struct all a;
    read_all(pid, &a);
    CHECK_EQ(a.exited, 1);
    CHECK_EQ(a.exit_code, 0);
    CHECK_EQ(a.first_off[0], 4000);
    CHECK_EQ(a.out_len, BUFFER);
    CHECK(a.out_len == BUFFER && memcmp(a.out, "0000", 4) == 0 && memcmp(a.out + 97, "40\n", 3) == 0);
    CHECK(a.out_len == BUFFER && memcmp(a.out + 997, "49\n", 3) == 0);
}

struct fg {
    const char *script;
    struct exec_result res;
    int rc;
};

static int drop(void *ctx, int stream, const uint8_t *data, size_t len)
{
    (void)ctx, (void)stream, (void)data, (void)len;
    return 0;
}

static void *run_fg(void *arg)
{
    struct fg *g = arg;
    char *args[] = {"-c", (char *)g->script, NULL};
    struct exec_spec spec = {.cmd = "sh", .args = args, .stdout_cap = 100, .stderr_cap = 100};
    struct exec_job job;
    exec_job_init(&job);
    uint16_t kind;
    int err;
    char msg[128];
    g->rc = exec_run(&spec, &job, drop, NULL, &g->res, &kind, &err, msg, sizeof(msg));
    exec_job_destroy(&job);
    return NULL;
}

static void test_reaping_shared(void)
{
    /* background and foreground children exiting at the same moments each get their own status */
    uint32_t bg[6];
    char script[64];
    for (int i = 0; i < 6; i++) {
        snprintf(script, sizeof(script), "sleep 0.%d; exit %d", 2 + i % 3, 10 + i);
        bg[i] = start_sh(script);
    }
    struct fg fg[6];
    pthread_t t[6];
    char fgs[6][64];
    for (int i = 0; i < 6; i++) {
        snprintf(fgs[i], sizeof(fgs[i]), "sleep 0.%d; exit %d", 2 + i % 3, 20 + i);
        fg[i].script = fgs[i];
        pthread_create(&t[i], NULL, run_fg, &fg[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(fg[i].rc, 0);
        CHECK_EQ(fg[i].res.exit_code, 20 + i);
    }
    for (int i = 0; i < 6; i++) {
        struct all a;
        read_all(bg[i], &a);
        CHECK_EQ(a.exited, 1);
        CHECK_EQ(a.exit_code, 10 + i);
    }
}

static void test_signals_and_waits(void)
{
    uint32_t pid = start_sh("echo started; sleep 30");
    /* a read with nothing new waits, and comes back at its deadline with nothing */
    uint64_t off[2] = {0, 0};
    struct proc_output o;
    CHECK_EQ(procs_read(pid, off, 4096, 2000, NULL, &o), 0);
    CHECK_MEM(o.data[0], o.len[0], "started\n", 8);
    procs_output_free(&o);
    off[0] = 8;
    uint64_t t0 = mono_ns();
    CHECK_EQ(procs_read(pid, off, 4096, 300, NULL, &o), 0);
    uint64_t waited = (mono_ns() - t0) / 1000000u;
    CHECK(waited >= 250 && waited < 2000);
    CHECK_EQ(o.len[0], 0);
    CHECK_EQ(o.exited, 0);
    procs_output_free(&o);
    /* a cancelled read stops waiting */
    atomic_int cancelled = 1;
    CHECK_EQ(procs_read(pid, off, 4096, 5000, &cancelled, &o), -2);

    CHECK_EQ(procs_signal(pid, SIGTERM), 1);
    struct all a;
    read_all(pid, &a);
    CHECK_EQ(a.exited, 1);
    CHECK_EQ(a.exit_code, 128 + SIGTERM);
    CHECK_EQ(a.signal, SIGTERM);
    CHECK_EQ(procs_signal(pid, SIGTERM), 0); /* exited: nothing sent */
    CHECK_EQ(procs_signal(999999, SIGTERM), -1);
    CHECK_EQ(procs_read(999999, off, 10, 0, NULL, &o), -1);

    /* output arriving during a wait ends it early */
    pid = start_sh("sleep 0.3; echo late");
    off[0] = off[1] = 0;
    t0 = mono_ns();
    CHECK_EQ(procs_read(pid, off, 4096, 10000, NULL, &o), 0);
    CHECK((mono_ns() - t0) / 1000000u < 5000);
    CHECK_MEM(o.data[0], o.len[0], "late\n", 5);
    procs_output_free(&o);
    read_all(pid, &a);
}

static void test_refusals(void)
{
    uint16_t kind = 0;
    int err;
    char msg[256];
    uint32_t pid;
    char *big = malloc(AGENT_MAX_PROC_ARGV + 2);
    memset(big, 'x', AGENT_MAX_PROC_ARGV + 1);
    big[AGENT_MAX_PROC_ARGV + 1] = 0;
    char *args[] = {big, NULL};
    struct exec_spec spec = {.cmd = "echo", .args = args};
    CHECK_EQ(procs_start(&spec, &pid, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_TOO_LARGE);
    free(big);
    struct exec_spec nocwd = {.cmd = "true", .cwd = "/nonexistent-dir"};
    CHECK_EQ(procs_start(&nocwd, &pid, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_NOT_FOUND);
    struct exec_spec empty = {.cmd = ""};
    CHECK_EQ(procs_start(&empty, &pid, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    /* a command that is not there starts and exits 127, as exec */
    struct exec_spec missing = {.cmd = "no-such-command-xyz"};
    CHECK_EQ(procs_start(&missing, &pid, &kind, &err, msg, sizeof(msg)), 0);
    struct all a;
    read_all(pid, &a);
    CHECK_EQ(a.exit_code, 127);
}

static void test_table_bounds(void)
{
    uint32_t pids[AGENT_MAX_PROCS];
    for (unsigned i = 0; i < AGENT_MAX_PROCS; i++)
        pids[i] = start_sh("sleep 30");
    uint16_t kind = 0;
    int err;
    char msg[256];
    uint32_t pid;
    char *args[] = {"30", NULL};
    struct exec_spec spec = {.cmd = "sleep", .args = args};
    CHECK_EQ(procs_start(&spec, &pid, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_BUSY);
    for (unsigned i = 0; i < AGENT_MAX_PROCS; i++)
        CHECK_EQ(procs_signal(pids[i], SIGKILL), 1);
    /* every one exits; only the most recent AGENT_MAX_EXITED are remembered */
    for (int i = 0; i < 100 && procs_count() > (int)AGENT_MAX_EXITED; i++)
        usleep(50000);
    CHECK_EQ(procs_count(), AGENT_MAX_EXITED);
    uint64_t off[2] = {0, 0};
    struct proc_output o;
    CHECK_EQ(procs_read(pids[0], off, 10, 0, NULL, &o), -1); /* forgotten */
    CHECK_EQ(procs_read(pids[AGENT_MAX_PROCS - 1], off, 10, 0, NULL, &o), 0);
    CHECK_EQ(o.exited, 1);
    CHECK_EQ(o.signal, SIGKILL);
    procs_output_free(&o);
    /* and there is room again */
    CHECK_EQ(procs_start(&spec, &pid, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(procs_signal(pid, SIGKILL), 1);
}

int main(void)
{
    if (reaper_init() != 0) {
        fprintf(stderr, "reaper_init failed\n");
        return 1;
    }
    procs_set_buffer(BUFFER);
    test_output_and_exit();
    test_buffer_bound();
    test_reaping_shared();
    test_signals_and_waits();
    test_refusals();
    test_table_bounds();
    return check_report("test_procs");
}
