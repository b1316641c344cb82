/* dispatch.c: the requests served on the connection's reader thread (PING, CLOCK, ENTROPY, CANCEL, the upload
 * frames) and the hand-off of the others to workers. */
#define _GNU_SOURCE
#include "conn.h"
#include "procs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* <linux/random.h>: RNDADDENTROPY = _IOW('R', 0x03, int[2]) */
#define RNDADDENTROPY_COMPAT 0x40085203u

static struct upload **find_upload(struct conn *c, uint32_t id)
{
    struct upload **pp = &c->uploads;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    return pp;
}

int id_in_use(struct conn *c, uint32_t id)
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
    cancel_worker(c, id);
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
void dispatch(struct conn *c, struct request *q)
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
    case T_PROC_LIST: {
        size_t flen = procs_enc_list(&f, q->id, 0);
        if (flen)
            send_encoded(c, f, flen);
        else
            send_error(c, q->id, E_IO, ENOMEM, "list processes: out of memory");
        break;
    }
    case T_PROC_SIGNAL: {
        uint32_t sig = q->u.proc.signal;
        if (sig != SIGHUP && sig != SIGINT && sig != SIGKILL && sig != SIGTERM) {
            snprintf(msg, sizeof(msg), "signal %u: only HUP, INT, KILL and TERM may be sent", sig);
            send_error(c, q->id, E_INVALID, EINVAL, msg);
            break;
        }
        int rc = procs_signal(q->u.proc.pid, (int)sig);
        if (rc < 0) {
            snprintf(msg, sizeof(msg), "no background process %u", q->u.proc.pid);
            send_error(c, q->id, E_NOT_FOUND, ESRCH, msg);
        } else {
            size_t flen = proto_enc_signal_ok(&f, q->id, (uint8_t)rc);
            send_encoded(c, f, flen);
        }
        break;
    }
    default:
        if (is_worker_request(q->type)) {
            start_worker(c, q); /* takes ownership */
            return;
        }
        break;
    }
    proto_request_free(q);
}

void drop_uploads(struct conn *c)
{
    while (c->uploads) {
        struct upload *u = c->uploads;
        c->uploads = u->next;
        upload_abort(u);
    }
}
