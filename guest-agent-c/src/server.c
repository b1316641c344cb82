/* server.c: listening socket, one reader thread per connection, one worker thread per long request. */
#define _GNU_SOURCE
#include "agent.h"
#include "exec.h"
#include "files.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* <linux/vm_sockets.h> is not part of musl: the few definitions we need. */
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define VMADDR_CID_ANY 0xFFFFFFFFu
struct sockaddr_vm_compat {
    sa_family_t svm_family;
    unsigned short svm_reserved1;
    unsigned int svm_port;
    unsigned int svm_cid;
    unsigned char svm_zero[sizeof(struct sockaddr) - sizeof(sa_family_t) - sizeof(unsigned short) -
                           2 * sizeof(unsigned int)];
};

/* <linux/random.h>: RNDADDENTROPY = _IOW('R', 0x03, int[2]) */
#define RNDADDENTROPY_COMPAT 0x40085203u

#define MAX_WORKERS 512
#define THREAD_STACK (256 * 1024)

static atomic_int g_workers;

/* A request served by a worker thread (EXEC, READ, QUIESCE), listed on its connection for CANCEL. */
struct active {
    struct request req;
    struct conn *c;
    atomic_int cancelled;
    int has_job;
    struct exec_job job;
    struct active *next;
};

struct conn {
    int fd;
    pthread_mutex_t wlock; /* one frame at a time on the socket */
    pthread_mutex_t lock;  /* refs, reqs */
    int refs;
    atomic_int dead;
    struct active *reqs;
    struct upload *uploads; /* reader thread only */
    const struct agent_config *cfg;
};

static void conn_unref(struct conn *c)
{
    pthread_mutex_lock(&c->lock);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last)
        return;
    close(c->fd);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->wlock);
    free(c);
}

/* Sends header + payload as one frame; -1 once the connection is gone. */
static int conn_send(struct conn *c, uint8_t type, uint32_t id, const void *payload, size_t len, const uint8_t *whole)
{
    uint8_t hdr[AGENT_HEADER_SIZE];
    struct iovec iov[2];
    int n = 0;
    if (whole) { /* an encoded frame, header included */
        iov[n].iov_base = (void *)whole, iov[n].iov_len = len, n++;
    } else {
        proto_write_header(hdr, type, id, (uint32_t)len);
        iov[n].iov_base = hdr, iov[n].iov_len = sizeof(hdr), n++;
        if (len)
            iov[n].iov_base = (void *)payload, iov[n].iov_len = len, n++;
    }
    int rc = 0;
    pthread_mutex_lock(&c->wlock);
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)n;
    while (m.msg_iovlen) {
        if (atomic_load(&c->dead)) {
            rc = -1;
            break;
        }
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            atomic_store(&c->dead, 1);
            rc = -1;
            break;
        }
        while (m.msg_iovlen && (size_t)w >= m.msg_iov[0].iov_len) {
            w -= (ssize_t)m.msg_iov[0].iov_len;
            m.msg_iov++;
            m.msg_iovlen--;
        }
        if (m.msg_iovlen) {
            m.msg_iov[0].iov_base = (uint8_t *)m.msg_iov[0].iov_base + w;
            m.msg_iov[0].iov_len -= (size_t)w;
        }
    }
    pthread_mutex_unlock(&c->wlock);
    return rc;
}

/* Sends an encoded frame (from a proto_enc_* function) and frees it. */
static int send_encoded(struct conn *c, uint8_t *frame, size_t len)
{
    if (!len)
        return -1;
    int rc = conn_send(c, 0, 0, NULL, len, frame);
    free(frame);
    return rc;
}

static int send_error(struct conn *c, uint32_t id, uint16_t kind, int err, const char *msg)
{
    uint8_t *f;
    size_t n = proto_enc_error(&f, id, kind, err, msg);
    return send_encoded(c, f, n);
}

/* ---- workers ---- */

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

static void do_exec(struct active *a)
{
    struct exec_req *e = &a->req.u.exec;
    uint8_t *f;
    if (e->has_nul) {
        send_error(a->c, a->req.id, E_INVALID, EINVAL, "exec: a string contains a NUL byte");
        return;
    }
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
    if (p->has_nul) {
        send_error(a->c, a->req.id, E_INVALID, EINVAL, "read: path contains a NUL byte");
        return;
    }
    if (file_read(p->path, p->max_bytes, file_sink_cb, a, &a->cancelled, &size, &kind, &err, msg, sizeof(msg))) {
        send_error(a->c, a->req.id, kind, err, msg);
        return;
    }
    size_t flen = proto_enc_u64(&f, T_FILE_END, a->req.id, size);
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

static int spawn_detached(void *(*fn)(void *), void *arg)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, THREAD_STACK);
    pthread_t t;
    int rc = pthread_create(&t, &at, fn, arg);
    pthread_attr_destroy(&at);
    return rc;
}

/* Hands a decoded request (ownership included) to a new worker thread. */
static void start_worker(struct conn *c, struct request *req)
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

/* ---- inline requests (reader thread) ---- */

static struct upload **find_upload(struct conn *c, uint32_t id)
{
    struct upload **pp = &c->uploads;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

static int id_in_use(struct conn *c, uint32_t id)
{
    if (*find_upload(c, id))
        return 1;
    int used = 0;
    pthread_mutex_lock(&c->lock);
    for (struct active *a = c->reqs; a && !used; a = a->next)
        used = a->req.id == id;
    pthread_mutex_unlock(&c->lock);
    return used;
}

static void do_cancel(struct conn *c, uint32_t id)
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
    struct upload **pp = find_upload(c, id);
    if (*pp) {
        struct upload *u = *pp;
        *pp = u->next;
        upload_abort(u);
        send_error(c, id, E_IO, ECANCELED, "write cancelled");
    }
}

static void do_clock(struct conn *c, const struct request *q)
{
    struct timespec prev;
    clock_gettime(CLOCK_REALTIME, &prev);
    uint8_t applied = 0;
    if (c->cfg->privileged) {
        struct timespec ts = {(time_t)q->u.clock.seconds, (long)q->u.clock.nanos};
        if (clock_settime(CLOCK_REALTIME, &ts) != 0) {
            char msg[128];
            snprintf(msg, sizeof(msg), "clock_settime: %s", strerror(errno));
            send_error(c, q->id, proto_errno_kind(errno), errno, msg);
            return;
        }
        applied = 1;
    }
    uint8_t *f;
    size_t flen = proto_enc_clock_ok(&f, q->id, applied, (int64_t)prev.tv_sec, (uint32_t)prev.tv_nsec);
    send_encoded(c, f, flen);
}

static void do_entropy(struct conn *c, const struct request *q)
{
    uint8_t credited = 0;
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && c->cfg->privileged && q->data_len) {
        struct {
            int entropy_count;
            int buf_size;
        } *info = malloc(sizeof(*info) + q->data_len);
        if (info) {
            info->entropy_count = (int)(q->data_len * 8);
            info->buf_size = (int)q->data_len;
            memcpy(info + 1, q->data, q->data_len);
            credited = ioctl(fd, RNDADDENTROPY_COMPAT, info) == 0;
            free(info);
        }
    }
    int err = 0;
    if (fd < 0) {
        err = errno;
    } else if (!credited) { /* not allowed or failed: mix the bytes in without crediting them */
        for (uint32_t off = 0; off < q->data_len;) {
            ssize_t w = write(fd, q->data + off, q->data_len - off);
            if (w <= 0) {
                err = w < 0 ? errno : EIO;
                break;
            }
            off += (uint32_t)w;
        }
    }
    if (fd >= 0)
        close(fd);
    if (err) {
        char msg[128];
        snprintf(msg, sizeof(msg), "/dev/urandom: %s", strerror(err));
        send_error(c, q->id, proto_errno_kind(err), err, msg);
        return;
    }
    uint8_t *f;
    size_t flen = proto_enc_entropy_ok(&f, q->id, q->data_len, credited);
    send_encoded(c, f, flen);
}

/* Handles one decoded request; takes ownership of q. */
static void dispatch(struct conn *c, struct request *q)
{
    uint16_t kind;
    int err;
    char msg[256];
    uint8_t *f;
    switch (q->type) {
    case T_PING:
        conn_send(c, T_PONG, q->id, q->data, q->data_len, NULL);
        break;
    case T_CLOCK:
        do_clock(c, q);
        break;
    case T_ENTROPY:
        do_entropy(c, q);
        break;
    case T_CANCEL:
        do_cancel(c, q->id);
        break;
    case T_WRITE_OPEN: {
        struct upload *u;
        if (q->u.path.has_nul)
            send_error(c, q->id, E_INVALID, EINVAL, "write: path contains a NUL byte");
        else if (upload_open(q->u.path.path, q->u.path.mode, q->id, &u, &kind, &err, msg, sizeof(msg)))
            send_error(c, q->id, kind, err, msg);
        else
            u->next = c->uploads, c->uploads = u;
        break;
    }
    case T_WRITE_DATA:
    case T_WRITE_END: {
        struct upload **pp = find_upload(c, q->id);
        struct upload *u = *pp;
        if (!u)
            break; /* after an error: ignored */
        if (q->type == T_WRITE_DATA) {
            struct upload *next = u->next;
            if (upload_write(u, q->data, q->data_len, &kind, &err, msg, sizeof(msg))) {
                *pp = next; /* upload_write freed u */
                send_error(c, q->id, kind, err, msg);
            }
            break;
        }
        *pp = u->next;
        uint64_t size;
        if (upload_finish(u, &size, &kind, &err, msg, sizeof(msg))) {
            send_error(c, q->id, kind, err, msg);
        } else {
            size_t flen = proto_enc_u64(&f, T_WRITE_OK, q->id, size);
            send_encoded(c, f, flen);
        }
        break;
    }
    case T_EXEC:
    case T_READ:
    case T_QUIESCE:
        start_worker(c, q); /* takes ownership */
        return;
    default:
        break;
    }
    proto_request_free(q);
}

/* ---- connection ---- */

static int read_full(int fd, uint8_t *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    return 0;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    uint8_t hdr[AGENT_HEADER_SIZE];
    uint8_t *payload = malloc(AGENT_MAX_PAYLOAD ? AGENT_MAX_PAYLOAD : 1);
    int hello = 0;
    const char *bad = NULL;
    while (payload && !atomic_load(&c->dead)) {
        struct frame_header h;
        if (read_full(c->fd, hdr, sizeof(hdr)))
            break; /* EOF or error */
        if (proto_parse_header(hdr, &h)) {
            bad = "malformed frame header";
            break;
        }
        if (read_full(c->fd, payload, h.len))
            break;
        struct request q;
        int rc = proto_decode_request(h.type, h.id, payload, h.len, &q);
        if (rc == -1) {
            bad = "malformed payload";
            break;
        }
        if (!hello) {
            if (rc || h.type != T_HELLO || h.id != 0 || q.u.hello.magic != AGENT_MAGIC) {
                bad = "expected HELLO";
                break;
            }
            if (q.u.hello.min_version > AGENT_PROTOCOL_VERSION || q.u.hello.max_version < AGENT_PROTOCOL_VERSION) {
                char msg[128];
                snprintf(msg, sizeof(msg), "agent speaks protocol version %d only", AGENT_PROTOCOL_VERSION);
                send_error(c, 0, E_VERSION, 0, msg);
                break;
            }
            uint8_t *f;

            {
                size_t flen = proto_enc_hello_ok(&f, AGENT_PROTOCOL_VERSION, AGENT_VERSION_STRING, AGENT_MAX_PAYLOAD,
                                                  c->cfg->pid1 ? HELLO_F_PID1 : 0);
                send_encoded(c, f, flen);
            }
            hello = 1;
            continue;
        }
        if (h.id == 0 || h.type == T_HELLO) {
            if (rc == 0)
                proto_request_free(&q);
            bad = h.id == 0 ? "request id 0" : "HELLO twice";
            break;
        }
        if (rc == -2) {
            send_error(c, h.id, E_UNSUPPORTED, 0, "unsupported request type");
            continue;
        }
        int continues = h.type == T_WRITE_DATA || h.type == T_WRITE_END || h.type == T_CANCEL;
        if (!continues && id_in_use(c, h.id)) {
            send_error(c, h.id, E_INVALID, EINVAL, "request id already in use");
            proto_request_free(&q);
            continue;
        }
        dispatch(c, &q);
    }
    free(payload);
    if (bad)
        send_error(c, 0, E_INVALID, EPROTO, bad);
    /* tear down: stop writers, kill running execs, drop unfinished uploads */
    atomic_store(&c->dead, 1);
    shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_lock(&c->lock);
    for (struct active *a = c->reqs; a; a = a->next) {
        atomic_store(&a->cancelled, 1);
        if (a->has_job)
            exec_job_cancel(&a->job);
    }
    pthread_mutex_unlock(&c->lock);
    while (c->uploads) {
        struct upload *u = c->uploads;
        c->uploads = u->next;
        upload_abort(u);
    }
    conn_unref(c);
    return NULL;
}

int open_listener(const struct agent_config *cfg)
{
    int fd;
    if (cfg->unix_path) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        if (strlen(cfg->unix_path) >= sizeof(sa.sun_path)) {
            agent_log("unix socket path too long: %s", cfg->unix_path);
            return -1;
        }
        strcpy(sa.sun_path, cfg->unix_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            agent_log("socket(AF_UNIX): %s", strerror(errno));
            return -1;
        }
        unlink(cfg->unix_path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0) {
            agent_log("listen on %s: %s", cfg->unix_path, strerror(errno));
            close(fd);
            return -1;
        }
        agent_log("listening on unix:%s", cfg->unix_path);
        return fd;
    }
    struct sockaddr_vm_compat sv;
    memset(&sv, 0, sizeof(sv));
    sv.svm_family = AF_VSOCK;
    sv.svm_port = cfg->vsock_port;
    sv.svm_cid = VMADDR_CID_ANY;
    fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        agent_log("socket(AF_VSOCK): %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sv, sizeof(sv)) != 0 || listen(fd, 128) != 0) {
        agent_log("listen on vsock port %u: %s", cfg->vsock_port, strerror(errno));
        close(fd);
        return -1;
    }
    /* tools/lib/kvm-suite and the engine wait for this line on the console. */
    agent_log("ready: listening on vsock port %u", cfg->vsock_port);
    return fd;
}

void serve(int lfd, const struct agent_config *cfg)
{
    int failures = 0;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
                usleep(100000);
                continue;
            }
            agent_log("accept: %s", strerror(errno));
            if (++failures > 100)
                return;
            usleep(100000);
            continue;
        }
        failures = 0;
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->refs = 1;
        c->cfg = cfg;
        pthread_mutex_init(&c->lock, NULL);
        pthread_mutex_init(&c->wlock, NULL);
        if (spawn_detached(conn_main, c)) {
            agent_log("cannot start a connection thread");
            conn_unref(c);
        }
    }
}
