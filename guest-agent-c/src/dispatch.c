/* dispatch.c: the requests served on the connection's reader thread (PING, CLOCK, ENTROPY, IDENTITY, CANCEL, the
 * upload frames) and the hand-off of the others to workers. */
#define _GNU_SOURCE
#include "conn.h"
#include "identity.h"
#include "procs.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    uint8_t applied;
    struct guest_fail fl;
    if (guest_set_clock(c->cfg->privileged, q->u.clock.seconds, q->u.clock.nanos, &prev, &applied, &fl)) {
        send_error(c, q->id, fl.kind, fl.err, fl.msg);
        return;
    }
    uint8_t *f;
    size_t flen = proto_enc_clock_ok(&f, q->id, applied, (int64_t)prev.tv_sec, (uint32_t)prev.tv_nsec);
    send_encoded(c, f, flen);
}

static void do_entropy(struct conn *c, const struct request *q)
{
    uint8_t credited;
    struct guest_fail fl;
    if (guest_add_entropy(c->cfg->privileged, q->data, q->data_len, &credited, &fl)) {
        send_error(c, q->id, fl.kind, fl.err, fl.msg);
        return;
    }
    uint8_t *f;
    size_t flen = proto_enc_entropy_ok(&f, q->id, q->data_len, credited);
    send_encoded(c, f, flen);
}

/* IDENTITY: hostname, clock and entropy on this thread, no fork (a clone's first request after its restore). */
static void do_identity(struct conn *c, const struct request *q)
{
    uint8_t flags, credited;
    struct guest_fail fl;
    if (guest_identity(c->cfg->privileged, q, &flags, &credited, &fl)) {
        send_error(c, q->id, fl.kind, fl.err, fl.msg);
        return;
    }
    uint8_t *f;
    size_t flen = proto_enc_identity_ok(&f, q->id, flags, q->data_len, credited);
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
    case T_IDENTITY:
        do_identity(c, q);
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
