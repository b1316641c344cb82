/* server.c: the listening socket, the accept loop and each connection's reader thread: the frame loop with the
 * HELLO handshake. Requests go to dispatch.c (inline) and workers.c (a thread each); frames out go through conn.c. */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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
            if (q.u.hello.min_version > AGENT_PROTOCOL_VERSION || q.u.hello.max_version < AGENT_PROTOCOL_MIN_VERSION ||
                q.u.hello.min_version > q.u.hello.max_version) {
                char msg[128];
                snprintf(msg, sizeof(msg), "agent speaks protocol versions %d to %d only", AGENT_PROTOCOL_MIN_VERSION,
                         AGENT_PROTOCOL_VERSION);
                send_error(c, 0, E_VERSION, 0, msg);
                break;
            }
            uint8_t *f;

            {
                c->version = q.u.hello.max_version < AGENT_PROTOCOL_VERSION ? q.u.hello.max_version
                                                                            : AGENT_PROTOCOL_VERSION;
                size_t flen = proto_enc_hello_ok(&f, (uint16_t)c->version, AGENT_VERSION_STRING, AGENT_MAX_PAYLOAD,
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
        if (proto_request_version(h.type) > c->version) { /* as an agent without it would answer */
            char msg[128];
            snprintf(msg, sizeof(msg), "unsupported request type 0x%02x on a protocol %d connection (needs %d)",
                     h.type, c->version, proto_request_version(h.type));
            send_error(c, h.id, E_UNSUPPORTED, 0, msg);
            proto_request_free(&q);
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
    cancel_workers(c);
    drop_uploads(c);
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
