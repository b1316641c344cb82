/* test_exec.c: exec_run (PATH lookup, exit codes, caps, timeout, cancel, background, stdin) and file transfer. */
#define _GNU_SOURCE
#include "check.h"
#include "exec.h"
#include "files.h"
#include "protocol.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct out {
    uint8_t *b[3];
    size_t n[3];
};

static int sink(void *ctx, int stream, const uint8_t *data, size_t len)
{
    struct out *o = ctx;
    o->b[stream] = realloc(o->b[stream], o->n[stream] + len + 1);
    memcpy(o->b[stream] + o->n[stream], data, len);
    o->n[stream] += len;
    o->b[stream][o->n[stream]] = 0;
    return 0;
}

static void out_free(struct out *o)
{
    free(o->b[1]);
    free(o->b[2]);
    memset(o, 0, sizeof(*o));
}

struct run {
    struct exec_spec spec;
    struct exec_result res;
    struct out out;
    int rc;
    uint16_t kind;
    int err;
    char msg[256];
    struct exec_job job;
};

static void run_spec(struct run *r)
{
    memset(&r->out, 0, sizeof(r->out));
    exec_job_init(&r->job);
    r->rc = exec_run(&r->spec, &r->job, sink, &r->out, &r->res, &r->kind, &r->err, r->msg, sizeof(r->msg));
    exec_job_destroy(&r->job);
}

static struct run *sh(const char *script, uint32_t timeout_ms, uint32_t cap)
{
    static char *args[3];
    args[0] = (char *)"-c";
    args[1] = (char *)script;
    args[2] = NULL;
    struct run *r = calloc(1, sizeof(*r));
    r->spec.cmd = "sh";
    r->spec.args = args;
    r->spec.timeout_ms = timeout_ms;
    r->spec.stdout_cap = r->spec.stderr_cap = cap;
    run_spec(r);
    return r;
}

static void done(struct run *r)
{
    out_free(&r->out);
    free(r);
}

static const char *str(struct run *r, int stream)
{
    return r->out.b[stream] ? (const char *)r->out.b[stream] : "";
}

static void test_basics(void)
{
    struct run *r = sh("echo hi", 5000, 1 << 20);
    CHECK_EQ(r->rc, 0);
    CHECK_STR(str(r, EXEC_STDOUT), "hi\n");
    CHECK_EQ(r->res.exit_code, 0);
    CHECK_EQ(r->res.signal, 0);
    CHECK_EQ(r->res.flags, 0);
    done(r);

    r = sh("echo err >&2; exit 3", 5000, 1 << 20);
    CHECK_EQ(r->res.exit_code, 3);
    CHECK_STR(str(r, EXEC_STDERR), "err\n");
    CHECK_STR(str(r, EXEC_STDOUT), "");
    done(r);

    r = sh("printf '\\000\\001\\377'", 5000, 1 << 20);
    CHECK_MEM(r->out.b[EXEC_STDOUT], r->out.n[EXEC_STDOUT], "\x00\x01\xff", 3);
    done(r);

    r = sh("kill -TERM $$", 5000, 1 << 20);
    CHECK_EQ(r->res.signal, 15);
    CHECK_EQ(r->res.exit_code, 128 + 15);
    done(r);
}

static void test_not_found(void)
{
    struct run *r = calloc(1, sizeof(*r));
    r->spec.cmd = "no-such-command-xyz";
    r->spec.stdout_cap = r->spec.stderr_cap = 4096;
    run_spec(r);
    CHECK_EQ(r->rc, 0);
    CHECK_EQ(r->res.exit_code, 127);
    CHECK(strstr(str(r, EXEC_STDERR), "no-such-command-xyz: command not found") != NULL);
    done(r);

    r = calloc(1, sizeof(*r));
    r->spec.cmd = "/no/such/file";
    r->spec.stdout_cap = r->spec.stderr_cap = 4096;
    run_spec(r);
    CHECK_EQ(r->res.exit_code, 127);
    done(r);

    char path[] = "/tmp/agent-test-noexec-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    chmod(path, 0644);
    r = calloc(1, sizeof(*r));
    r->spec.cmd = path;
    r->spec.stdout_cap = r->spec.stderr_cap = 4096;
    run_spec(r);
    /* root may still get EACCES for a file without any x bit */
    CHECK_EQ(r->res.exit_code, 126);
    CHECK(strstr(str(r, EXEC_STDERR), "Permission denied") != NULL);
    done(r);
    unlink(path);

    r = calloc(1, sizeof(*r));
    r->spec.cmd = "true";
    r->spec.cwd = "/no/such/dir";
    run_spec(r);
    CHECK_EQ(r->rc, -1);
    CHECK_EQ(r->kind, E_NOT_FOUND);
    done(r);
}

static void test_timeout_and_caps(void)
{
    uint64_t t0 = mono_ns();
    struct run *r = sh("echo partial; sleep 10", 300, 1 << 20);
    uint64_t took = mono_ns() - t0;
    CHECK_EQ(r->rc, 0);
    CHECK_STR(str(r, EXEC_STDOUT), "partial\n");
    CHECK(r->res.flags & EXIT_F_TIMED_OUT);
    CHECK_EQ(r->res.signal, 9);
    CHECK(took < 3000000000ull);
    CHECK(r->res.duration_ns >= 250000000ull);
    done(r);

    r = sh("head -c 300000 /dev/zero; head -c 10 /dev/zero >&2", 10000, 1000);
    CHECK_EQ(r->res.exit_code, 0);
    CHECK_EQ(r->out.n[EXEC_STDOUT], 1000);
    CHECK_EQ(r->out.n[EXEC_STDERR], 10);
    CHECK_EQ(r->res.flags, EXIT_F_STDOUT_TRUNC);
    done(r);
}

static void test_background(void)
{
    uint64_t t0 = mono_ns();
    struct run *r = sh("sleep 3 & echo started", 10000, 4096);
    uint64_t took = mono_ns() - t0;
    CHECK_EQ(r->res.exit_code, 0);
    CHECK_STR(str(r, EXEC_STDOUT), "started\n");
    CHECK(took < 1500000000ull);
    done(r);
}

static void test_stdin_env_cwd(void)
{
    size_t n = 300000;
    uint8_t *in = malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i * 7);
    struct run *r = calloc(1, sizeof(*r));
    r->spec.cmd = "cat";
    r->spec.stdin_data = in;
    r->spec.stdin_len = (uint32_t)n;
    r->spec.stdout_cap = r->spec.stderr_cap = 1 << 20;
    run_spec(r);
    CHECK_EQ(r->res.exit_code, 0);
    CHECK_MEM(r->out.b[EXEC_STDOUT], r->out.n[EXEC_STDOUT], in, n);
    done(r);
    free(in);

    char *env[] = {(char *)"FOO=bar", (char *)"FOO=baz", NULL};
    char *args[] = {(char *)"-c", (char *)"echo $FOO; pwd", NULL};
    r = calloc(1, sizeof(*r));
    r->spec.cmd = "sh";
    r->spec.args = args;
    r->spec.env = env;
    r->spec.cwd = "/tmp";
    r->spec.stdout_cap = r->spec.stderr_cap = 4096;
    run_spec(r);
    CHECK_STR(str(r, EXEC_STDOUT), "baz\n/tmp\n");
    done(r);
}

static void *cancel_later(void *arg)
{
    usleep(200000);
    exec_job_cancel(arg);
    return NULL;
}

static void test_cancel(void)
{
    char *args[] = {(char *)"10", NULL};
    struct run *r = calloc(1, sizeof(*r));
    r->spec.cmd = "sleep";
    r->spec.args = args;
    exec_job_init(&r->job);
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &r->job);
    r->rc = exec_run(&r->spec, &r->job, sink, &r->out, &r->res, &r->kind, &r->err, r->msg, sizeof(r->msg));
    pthread_join(t, NULL);
    exec_job_destroy(&r->job);
    CHECK_EQ(r->res.signal, 9);
    CHECK_EQ(r->res.flags & EXIT_F_TIMED_OUT, 0);
    done(r);
}

static void *concurrent(void *arg)
{
    intptr_t i = (intptr_t)arg;
    char script[64];
    snprintf(script, sizeof(script), "sleep 0.$((%d %% 3)); (sleep 0.2 &); exit %d", (int)i, (int)i);
    char *args[] = {(char *)"-c", script, NULL};
    struct run *r = calloc(1, sizeof(*r));
    r->spec.cmd = "sh";
    r->spec.args = args;
    run_spec(r);
    intptr_t code = r->res.exit_code;
    done(r);
    return (void *)code;
}

static void test_concurrent(void)
{
    pthread_t t[16];
    for (intptr_t i = 0; i < 16; i++)
        pthread_create(&t[i], NULL, concurrent, (void *)i);
    for (intptr_t i = 0; i < 16; i++) {
        void *code;
        pthread_join(t[i], &code);
        CHECK_EQ((intptr_t)code, i);
    }
}

struct collect {
    uint8_t *b;
    size_t n;
};

static int collect(void *ctx, const uint8_t *data, size_t len)
{
    struct collect *c = ctx;
    c->b = realloc(c->b, c->n + len);
    memcpy(c->b + c->n, data, len);
    c->n += len;
    return 0;
}

static void test_files(void)
{
    char dir[] = "/tmp/agent-test-files-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/a/b/c.bin", dir);
    uint16_t kind;
    int err;
    char msg[256];
    struct upload *u;
    CHECK_EQ(upload_open(path, 0640, 1, &u, &kind, &err, msg, sizeof(msg)), 0);
    size_t n = 200000;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    CHECK_EQ(upload_write(u, data, 70000, &kind, &err, msg, sizeof(msg)), 0);
    struct stat st;
    CHECK(stat(path, &st) != 0); /* not visible before the rename */
    CHECK_EQ(upload_write(u, data + 70000, n - 70000, &kind, &err, msg, sizeof(msg)), 0);
    uint64_t size = 0;
    CHECK_EQ(upload_finish(u, &size, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(size, n);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);

    struct collect c = {NULL, 0};
    CHECK_EQ(file_read(path, UINT64_MAX, collect, &c, NULL, &size, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_MEM(c.b, c.n, data, n);
    CHECK_EQ(size, n);
    free(c.b);

    c.b = NULL, c.n = 0;
    CHECK_EQ(file_read(path, 1000, collect, &c, NULL, &size, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_TOO_LARGE);
    CHECK_EQ(file_read("/no/such/file", 1000, collect, &c, NULL, &size, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_NOT_FOUND);
    CHECK_EQ(file_read(dir, 1000, collect, &c, NULL, &size, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_IS_DIRECTORY);
    CHECK_EQ(file_read("relative/path", 1000, collect, &c, NULL, &size, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    CHECK_EQ(upload_open(dir, 0644, 2, &u, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_IS_DIRECTORY);
    free(c.b);
    free(data);

    /* not system(): the reaper owns every child's status (system's own waitpid would find none) */
    char *args[] = {(char *)"-rf", dir, NULL};
    struct run *r = calloc(1, sizeof(*r));
    r->spec.cmd = "rm";
    r->spec.args = args;
    run_spec(r);
    CHECK_EQ(r->res.exit_code, 0);
    done(r);
}

int main(void)
{
    if (reaper_init() != 0) {
        fprintf(stderr, "reaper_init failed\n");
        return 1;
    }
    setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1);
    test_basics();
    test_not_found();
    test_timeout_and_caps();
    test_background();
    test_stdin_env_cwd();
    test_cancel();
    test_concurrent();
    test_files();
    return check_report("test_exec");
}
