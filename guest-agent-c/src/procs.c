/* procs.c: the background process table. Each process runs exec_run on a thread of its own (so its exit status
 * comes through the one reaper, registered like any exec child: foreground and background execs never take each
 * other's statuses) with a sink that appends to two bounded rings, one per stream. */
#define _GNU_SOURCE
#include "procs.h"

#include "protocol.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The last cap bytes of a stream; byte at absolute offset o lives at b[o % cap]. It grows (up to max) before it
 * ever wraps, so a quiet process costs little memory. */
struct ring {
    uint8_t *b;
    size_t cap;
    uint64_t total;
    int fixed; /* wrapped below max after a failed realloc: never grows again */
};

struct proc {
    uint32_t pid;
    uint64_t seq;
    int state; /* 0 starting, PROC_RUNNING, PROC_EXITED, -1 failed to start */
    int32_t exit_code, signal;
    int64_t started_ms;
    char *cmd;
    char **args; /* NULL-terminated */
    char **env;
    char *cwd;
    struct ring ring[2];
    struct exec_job job;
    uint16_t fail_kind;
    int fail_err;
    char fail_msg[160];
    int held; /* its starter still looks at it: not to be forgotten yet */
    struct proc *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond; /* any change: output, start, exit */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static struct proc *g_procs; /* start order */
static uint64_t g_seq;
static size_t g_buffer = AGENT_PROC_BUFFER;

static void init_cond(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cond, &a);
    pthread_condattr_destroy(&a);
}

void procs_set_buffer(size_t bytes)
{
    g_buffer = bytes ? bytes : 1;
}

static void ring_write(struct ring *r, const uint8_t *d, size_t n, size_t max)
{
    if (n > max) { /* only the last max bytes can be kept */
        r->total += n - max;
        d += n - max;
        n = max;
    }
    if (r->total + n > r->cap && r->cap < max && !r->fixed) { /* not wrapped yet (total <= cap): indices stay valid */
        size_t want = r->cap * 2 > r->total + n ? r->cap * 2 : (size_t)(r->total + n);
        if (want < 4096)
            want = 4096;
        if (want > max)
            want = max;
        uint8_t *nb = realloc(r->b, want);
        if (!nb) { /* out of memory: keep what fits in the buffer there is rather than fail the process */
            r->fixed = 1;
        } else {
            r->b = nb;
            r->cap = want;
        }
    }
    if (n > r->cap) { /* a buffer that could not grow: its last cap bytes */
        r->total += n - r->cap;
        d += n - r->cap;
        n = r->cap;
    }
    if (!n)
        return;
    size_t pos = (size_t)(r->total % r->cap);
    size_t first = n < r->cap - pos ? n : r->cap - pos;
    memcpy(r->b + pos, d, first);
    memcpy(r->b, d + first, n - first);
    r->total += n;
}

/* Copies from offset *off (moved forward past dropped bytes) at most max bytes. */
static uint8_t *ring_read(const struct ring *r, uint64_t *off, uint32_t max, uint32_t *len)
{
    uint64_t kept = r->total < r->cap ? r->total : r->cap;
    uint64_t oldest = r->total - kept;
    if (*off < oldest)
        *off = oldest;
    if (*off > r->total)
        *off = r->total;
    uint64_t n = r->total - *off;
    if (n > max)
        n = max;
    *len = (uint32_t)n;
    uint8_t *out = malloc(n ? n : 1);
    if (!out)
        return NULL;
    for (uint64_t i = 0; i < n;) {
        size_t pos = (size_t)((*off + i) % r->cap);
        size_t chunk = r->cap - pos < n - i ? r->cap - pos : (size_t)(n - i);
        memcpy(out + i, r->b + pos, chunk);
        i += chunk;
    }
    return out;
}

static void proc_free(struct proc *p)
{
    free(p->cmd);
    for (char **a = p->args; a && *a; a++)
        free(*a);
    free(p->args);
    for (char **a = p->env; a && *a; a++)
        free(*a);
    free(p->env);
    free(p->cwd);
    free(p->ring[0].b);
    free(p->ring[1].b);
    free(p);
}

static void unlink_proc(struct proc *p)
{
    for (struct proc **pp = &g_procs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

/* Forgets the oldest exited entries beyond AGENT_MAX_EXITED. Their threads are done: EXITED is their last act. */
static void evict_exited(void)
{
    int exited = 0;
    for (struct proc *p = g_procs; p; p = p->next)
        exited += p->state == PROC_EXITED && !p->held;
    while (exited > (int)AGENT_MAX_EXITED) {
        struct proc *p = g_procs;
        while (p->state != PROC_EXITED || p->held)
            p = p->next;
        unlink_proc(p);
        proc_free(p);
        exited--;
    }
}

static int sink(void *ctx, int stream, const uint8_t *data, size_t len)
{
    struct proc *p = ctx;
    pthread_mutex_lock(&g_lock);
    ring_write(&p->ring[stream == EXEC_STDOUT ? 0 : 1], data, len, g_buffer);
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static void on_started(struct exec_job *job, void *arg)
{
    struct proc *p = arg;
    pthread_mutex_lock(&g_lock);
    p->pid = (uint32_t)job->pid;
    p->state = PROC_RUNNING;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
}

static void *proc_main(void *arg)
{
    struct proc *p = arg;
    struct exec_spec spec = {
        .cmd = p->cmd,
        .args = p->args,
        .env = p->env,
        .cwd = p->cwd,
        .stdout_cap = UINT32_MAX, /* the rings bound memory; past 4 GiB a stream's output is no longer recorded */
        .stderr_cap = UINT32_MAX,
    };
    struct exec_result res;
    uint16_t kind = 0;
    int err = 0;
    char msg[sizeof(p->fail_msg)];
    int rc = exec_run(&spec, &p->job, sink, p, &res, &kind, &err, msg, sizeof(msg));
    exec_job_destroy(&p->job);
    pthread_mutex_lock(&g_lock);
    if (rc != 0) { /* never forked: the starter takes the entry out and frees it */
        p->fail_kind = kind;
        p->fail_err = err;
        memcpy(p->fail_msg, msg, sizeof(msg));
        p->state = -1;
    } else {
        p->exit_code = res.exit_code;
        p->signal = res.signal;
        p->state = PROC_EXITED;
        evict_exited();
    }
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

static char **strv_dup(char *const *v, size_t *bytes, int *oom)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **out = calloc(n + 1, sizeof(char *));
    if (!out) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i])
            *oom = 1;
        else if (bytes)
            *bytes += strlen(v[i]);
    }
    return out;
}

static int failed(uint16_t *kind, int *err, char *msg, size_t msglen, uint16_t k, int e, const char *m)
{
    *kind = k;
    *err = e;
    snprintf(msg, msglen, "%s", m);
    return -1;
}

int procs_start(const struct exec_spec *spec, uint32_t *pid, uint16_t *kind, int *err, char *msg, size_t msglen)
{
    pthread_once(&g_once, init_cond);
    if (!spec->cmd || !*spec->cmd)
        return failed(kind, err, msg, msglen, E_INVALID, EINVAL, "empty command");
    struct proc *p = calloc(1, sizeof(*p));
    if (!p)
        return failed(kind, err, msg, msglen, E_IO, ENOMEM, "out of memory");
    int oom = 0;
    size_t bytes = strlen(spec->cmd);
    p->cmd = strdup(spec->cmd);
    p->args = strv_dup(spec->args, &bytes, &oom);
    p->env = strv_dup(spec->env, NULL, &oom);
    p->cwd = strdup(spec->cwd ? spec->cwd : "");
    if (oom || !p->cmd || !p->cwd) {
        proc_free(p);
        return failed(kind, err, msg, msglen, E_IO, ENOMEM, "out of memory");
    }
    if (bytes > AGENT_MAX_PROC_ARGV) {
        proc_free(p);
        snprintf(msg, msglen, "command and arguments take %zu bytes, at most %u allowed", bytes, AGENT_MAX_PROC_ARGV);
        *kind = E_TOO_LARGE;
        *err = E2BIG;
        return -1;
    }
    if (exec_job_init(&p->job)) {
        proc_free(p);
        return failed(kind, err, msg, msglen, E_IO, errno, "cannot make a pipe");
    }
    p->job.started = on_started;
    p->job.started_arg = p;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    p->started_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;

    pthread_mutex_lock(&g_lock);
    int live = 0;
    for (struct proc *q = g_procs; q; q = q->next)
        live += q->state == 0 || q->state == PROC_RUNNING;
    if (live >= (int)AGENT_MAX_PROCS) {
        pthread_mutex_unlock(&g_lock);
        exec_job_destroy(&p->job);
        proc_free(p);
        snprintf(msg, msglen, "%u background processes are running already", AGENT_MAX_PROCS);
        *kind = E_BUSY;
        *err = EAGAIN;
        return -1;
    }
    p->seq = ++g_seq;
    p->held = 1;
    struct proc **tail = &g_procs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p; /* counted from now on, so concurrent starts cannot pass the bound */
    pthread_mutex_unlock(&g_lock);

    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 128 * 1024);
    pthread_t t;
    int rc = pthread_create(&t, &a, proc_main, p);
    pthread_attr_destroy(&a);

    pthread_mutex_lock(&g_lock);
    if (rc == 0)
        while (p->state == 0)
            pthread_cond_wait(&g_cond, &g_lock);
    if (rc != 0 || p->state == -1) {
        unlink_proc(p);
        pthread_mutex_unlock(&g_lock);
        if (rc != 0) {
            exec_job_destroy(&p->job);
            failed(kind, err, msg, msglen, E_BUSY, rc, "cannot start a thread");
        } else {
            failed(kind, err, msg, msglen, p->fail_kind, p->fail_err, p->fail_msg);
        }
        proc_free(p);
        return -1;
    }
    *pid = p->pid;
    p->held = 0;
    evict_exited();
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static struct proc *find(uint32_t pid)
{
    /* the newest entry wins should a pid be reused while an old exited one is remembered */
    struct proc *found = NULL;
    for (struct proc *p = g_procs; p; p = p->next)
        if (p->pid == pid && (p->state == PROC_RUNNING || p->state == PROC_EXITED))
            found = p;
    return found;
}

size_t procs_enc_list(uint8_t **out, uint32_t id, uint32_t pid)
{
    pthread_once(&g_once, init_cond);
    pthread_mutex_lock(&g_lock);
    uint32_t n = 0;
    for (struct proc *p = g_procs; p; p = p->next)
        n++;
    struct proc_info *v = calloc(n ? n : 1, sizeof(*v));
    size_t len = 0;
    if (v) {
        uint32_t k = 0;
        for (struct proc *p = g_procs; p; p = p->next) {
            if (p->state != PROC_RUNNING && p->state != PROC_EXITED)
                continue;
            if (pid && p != find(pid))
                continue;
            v[k++] = (struct proc_info){p->pid, (uint8_t)p->state, p->exit_code, p->signal, p->started_ms, p->cmd,
                                        p->args};
        }
        if (!pid || k)
            len = proto_enc_procs(out, id, v, k);
        free(v);
    }
    pthread_mutex_unlock(&g_lock);
    return len;
}

int procs_signal(uint32_t pid, int sig)
{
    pthread_once(&g_once, init_cond);
    pthread_mutex_lock(&g_lock);
    struct proc *p = find(pid);
    int rc = !p ? -1 : p->state == PROC_EXITED ? 0 : exec_job_signal(&p->job, sig);
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int procs_read(uint32_t pid, const uint64_t off[2], uint32_t max, uint32_t wait_ms, atomic_int *cancelled,
               struct proc_output *res)
{
    pthread_once(&g_once, init_cond);
    memset(res, 0, sizeof(*res));
    if (max > AGENT_CHUNK)
        max = AGENT_CHUNK;
    if (wait_ms > AGENT_MAX_WAIT_MS)
        wait_ms = AGENT_MAX_WAIT_MS;
    uint64_t deadline = mono_ns() + (uint64_t)wait_ms * 1000000u;
    pthread_mutex_lock(&g_lock);
    struct proc *p = find(pid);
    uint64_t seq = p ? p->seq : 0;
    for (;;) {
        p = find(pid);
        if (!p || p->seq != seq) { /* forgotten while we waited */
            pthread_mutex_unlock(&g_lock);
            return -1;
        }
        int fresh = p->ring[0].total > off[0] || p->ring[1].total > off[1];
        if (fresh || p->state == PROC_EXITED || mono_ns() >= deadline)
            break;
        if (cancelled && atomic_load(cancelled)) {
            pthread_mutex_unlock(&g_lock);
            return -2;
        }
        /* wake at least every 100 ms to notice a CANCEL */
        uint64_t until = mono_ns() + 100000000u;
        if (until > deadline)
            until = deadline;
        struct timespec ts = {(time_t)(until / 1000000000u), (long)(until % 1000000000u)};
        pthread_cond_timedwait(&g_cond, &g_lock, &ts);
    }
    int ok = 1;
    for (int s = 0; s < 2; s++) {
        res->off[s] = off[s];
        res->data[s] = ring_read(&p->ring[s], &res->off[s], max, &res->len[s]);
        ok &= res->data[s] != NULL;
    }
    res->exited = p->state == PROC_EXITED && res->off[0] + res->len[0] == p->ring[0].total &&
                  res->off[1] + res->len[1] == p->ring[1].total;
    res->exit_code = p->exit_code;
    res->signal = p->signal;
    pthread_mutex_unlock(&g_lock);
    if (!ok) {
        procs_output_free(res);
        return -1;
    }
    return 0;
}

void procs_output_free(struct proc_output *res)
{
    free(res->data[0]);
    free(res->data[1]);
    res->data[0] = res->data[1] = NULL;
}

int procs_count(void)
{
    pthread_mutex_lock(&g_lock);
    int n = 0;
    for (struct proc *p = g_procs; p; p = p->next)
        n++;
    pthread_mutex_unlock(&g_lock);
    return n;
}
