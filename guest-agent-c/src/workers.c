/* workers.c: requests that may take long (EXEC, READ, QUIESCE, LIST, MKDIR, REMOVE) each run on a thread of their own, listed on their
 * connection so CANCEL and the connection's teardown can reach them. */
#define _GNU_SOURCE
#include "conn.h"
#include "dirs.h"
#include "procs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORKERS 512

static atomic_int g_workers;

static int exec_sink_cb(void *ctx, int stream, const uint8_t *data, size_t len)
{
    struct active *a = ctx;
    return conn_send(a->c, stream == EXEC_STDOUT ? T_STDOUT : T_STDERR, a->req.id, data, len, NULL);
}

static int file_sink_cb(void *ctx, const uint8_t *data, size_t len)
{
    struct active *a = ctx;
    return conn_send(a->c, T_FILE_DATA, a->req.id, data, len, NULL);
}

/* Strings reach syscalls as C strings, where a NUL would silently cut them: such a request is refused.
 * 0 when the request may go on. */
static int refuse_nul(struct active *a, int has_nul, const char *what, const char *which)
{
    if (!has_nul)
        return 0;
    char msg[96];
    snprintf(msg, sizeof(msg), "%s: %s contains a NUL byte", what, which);
    send_error(a->c, a->req.id, E_INVALID, EINVAL, msg);
    return -1;
}

static void do_exec(struct active *a)
{
    struct exec_req *e = &a->req.u.exec;
    uint8_t *f;
    if (refuse_nul(a, e->has_nul, "exec", "a string"))
        return;
    struct exec_spec spec = {
        .cmd = e->cmd,
        .args = e->args,
        .env = e->env,
        .cwd = e->cwd,
        .stdin_data = e->stdin_data,
        .stdin_len = e->stdin_len,
        .timeout_ms = e->timeout_ms,
        .stdout_cap = e->stdout_cap,
        .stderr_cap = e->stderr_cap,
    };
    struct exec_result res;
    uint16_t kind;
    int err;
    char msg[256];
    if (exec_run(&spec, &a->job, exec_sink_cb, a, &res, &kind, &err, msg, sizeof(msg)) != 0) {
        send_error(a->c, a->req.id, kind, err, msg);
        return;
    }
    size_t flen = proto_enc_exit(&f, a->req.id, res.exit_code, res.signal, res.flags, res.duration_ns);
    send_encoded(a->c, f, flen);
}

static void do_read(struct active *a)
{
    struct path_req *p = &a->req.u.path;
    uint16_t kind;
    int err;
    char msg[256];
    uint64_t size;
    uint8_t *f;
    if (refuse_nul(a, p->has_nul, "read", "path"))
        return;
    if (file_read(p->path, p->max_bytes, file_sink_cb, a, &a->cancelled, &size, &kind, &err, msg, sizeof(msg))) {
        send_error(a->c, a->req.id, kind, err, msg);
        return;
    }
    size_t flen = proto_enc_u64(&f, T_FILE_END, a->req.id, size);
    send_encoded(a->c, f, flen);
}

static int dir_sink_cb(void *ctx, const struct dir_entry *entries, uint32_t n)
{
    struct active *a = ctx;
    uint8_t *f;
    size_t flen = proto_enc_dir_entries(&f, a->req.id, entries, n);
    return send_encoded(a->c, f, flen);
}

static void do_list(struct active *a)
{
    struct path_req *p = &a->req.u.path;
    uint16_t kind;
    int err, truncated;
    uint32_t count;
    char msg[256];
    uint8_t *f;
    if (refuse_nul(a, p->has_nul, "list", "path"))
        return;
    if (dir_list(p->path, p->max_entries, dir_sink_cb, a, &a->cancelled, &count, &truncated, &kind, &err, msg,
                 sizeof(msg))) {
        send_error(a->c, a->req.id, kind, err, msg);
        return;
    }
    size_t flen = proto_enc_list_end(&f, a->req.id, count, truncated ? LIST_F_TRUNCATED : 0);
    send_encoded(a->c, f, flen);
}

static void do_mkdir(struct active *a)
{
    struct path_req *p = &a->req.u.path;
    uint16_t kind;
    int err, created;
    char msg[256];
    uint8_t *f;
    if (refuse_nul(a, p->has_nul, "mkdir", "path"))
        return;
    if (dir_make(p->path, p->mode, &created, &kind, &err, msg, sizeof(msg))) {
        send_error(a->c, a->req.id, kind, err, msg);
        return;
    }
    size_t flen = proto_enc_mkdir_ok(&f, a->req.id, (uint8_t)created);
    send_encoded(a->c, f, flen);
}

static void do_remove(struct active *a)
{
    struct path_req *p = &a->req.u.path;
    uint16_t kind;
    int err;
    uint64_t removed;
    char msg[256];
    uint8_t *f;
    if (refuse_nul(a, p->has_nul, "remove", "path"))
        return;
    if (dir_remove(p->path, (p->flags & REMOVE_F_RECURSIVE) != 0, &a->cancelled, &removed, &kind, &err, msg,
                   sizeof(msg))) {
        send_error(a->c, a->req.id, kind, err, msg);
        return;
    }
    size_t flen = proto_enc_u64(&f, T_REMOVE_OK, a->req.id, removed);
    send_encoded(a->c, f, flen);
}

static void do_proc_start(struct active *a)
{
    struct exec_req *e = &a->req.u.exec;
    uint16_t kind;
    int err;
    char msg[256];
    uint32_t pid;
    uint8_t *f;
    if (refuse_nul(a, e->has_nul, "start", "a string"))
        return;
    struct exec_spec spec = {.cmd = e->cmd, .args = e->args, .env = e->env, .cwd = e->cwd};
    if (procs_start(&spec, &pid, &kind, &err, msg, sizeof(msg))) {
        send_error(a->c, a->req.id, kind, err, msg);
        return;
    }
    size_t flen = procs_enc_list(&f, a->req.id, pid);
    if (flen)
        send_encoded(a->c, f, flen);
    else /* exited and forgotten already (a flood of short processes): still say which pid it was */
        send_error(a->c, a->req.id, E_NOT_FOUND, ESRCH, "started, but exited and forgotten at once");
}

static void do_proc_read(struct active *a)
{
    struct proc_req *p = &a->req.u.proc;
    struct proc_output o;
    uint64_t off[2] = {p->stdout_off, p->stderr_off};
    uint8_t *f;
    int rc = procs_read(p->pid, off, p->max_bytes, p->wait_ms, &a->cancelled, &o);
    if (rc == -1) {
        char msg[64];
        snprintf(msg, sizeof(msg), "no background process %u", p->pid);
        send_error(a->c, a->req.id, E_NOT_FOUND, ESRCH, msg);
        return;
    }
    if (rc == -2) {
        send_error(a->c, a->req.id, E_IO, ECANCELED, "read output: cancelled");
        return;
    }
    size_t flen = proto_enc_proc_output(&f, a->req.id, o.off[0], o.data[0], o.len[0], o.off[1], o.data[1], o.len[1],
                                        (uint8_t)o.exited, o.exit_code, o.signal);
    procs_output_free(&o);
    send_encoded(a->c, f, flen);
}

static void *worker_main(void *arg)
{
    struct active *a = arg;
    struct conn *c = a->c;
    switch (a->req.type) {
    case T_EXEC:
        do_exec(a);
        break;
    case T_READ:
        do_read(a);
        break;
    case T_LIST:
        do_list(a);
        break;
    case T_MKDIR:
        do_mkdir(a);
        break;
    case T_REMOVE:
        do_remove(a);
        break;
    case T_PROC_START:
        do_proc_start(a);
        break;
    case T_PROC_READ:
        do_proc_read(a);
        break;
    case T_QUIESCE:
        sync();
        conn_send(c, T_QUIESCE_OK, a->req.id, NULL, 0, NULL);
        break;
    default:
        break;
    }
    pthread_mutex_lock(&c->lock);
    for (struct active **pp = &c->reqs; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    pthread_mutex_unlock(&c->lock);
    if (a->has_job)
        exec_job_destroy(&a->job);
    proto_request_free(&a->req);
    free(a);
    atomic_fetch_sub(&g_workers, 1);
    conn_unref(c);
    return NULL;
}

/* Hands a decoded request (ownership included) to a new worker thread. */
void start_worker(struct conn *c, struct request *req)
{
    if (atomic_fetch_add(&g_workers, 1) >= MAX_WORKERS) {
        atomic_fetch_sub(&g_workers, 1);
        send_error(c, req->id, E_BUSY, EAGAIN, "too many requests in flight");
        proto_request_free(req);
        return;
    }
    struct active *a = calloc(1, sizeof(*a));
    if (!a || (req->type == T_EXEC && exec_job_init(&a->job))) {
        atomic_fetch_sub(&g_workers, 1);
        send_error(c, req->id, E_IO, ENOMEM, "cannot start request");
        free(a);
        proto_request_free(req);
        return;
    }
    a->has_job = req->type == T_EXEC;
    a->req = *req;
    a->c = c;
    pthread_mutex_lock(&c->lock);
    c->refs++;
    a->next = c->reqs;
    c->reqs = a;
    pthread_mutex_unlock(&c->lock);
    if (spawn_detached(worker_main, a)) {
        pthread_mutex_lock(&c->lock);
        c->reqs = a->next; /* still first: only this thread adds */
        c->refs--;
        pthread_mutex_unlock(&c->lock);
        if (a->has_job)
            exec_job_destroy(&a->job);
        atomic_fetch_sub(&g_workers, 1);
        send_error(c, req->id, E_BUSY, EAGAIN, "cannot start a thread");
        proto_request_free(&a->req);
        free(a);
    }
}

int is_worker_request(uint8_t type)
{
    return type == T_EXEC || type == T_READ || type == T_QUIESCE || type == T_LIST || type == T_MKDIR ||
           type == T_REMOVE || type == T_PROC_START || type == T_PROC_READ;
}

void cancel_worker(struct conn *c, uint32_t id)
{
    pthread_mutex_lock(&c->lock);
    for (struct active *a = c->reqs; a; a = a->next) {
        if (a->req.id != id)
            continue;
        atomic_store(&a->cancelled, 1);
        if (a->has_job)
            exec_job_cancel(&a->job);
    }
    pthread_mutex_unlock(&c->lock);
}

void cancel_workers(struct conn *c)
{
    pthread_mutex_lock(&c->lock);
    for (struct active *a = c->reqs; a; a = a->next) {
        atomic_store(&a->cancelled, 1);
        if (a->has_job)
            exec_job_cancel(&a->job);
    }
    pthread_mutex_unlock(&c->lock);
}
