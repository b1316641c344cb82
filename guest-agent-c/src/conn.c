/* conn.c: writing frames to a connection (from any thread) and its reference count. */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define THREAD_STACK (256 * 1024)

void conn_unref(struct conn *c)
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
int conn_send(struct conn *c, uint8_t type, uint32_t id, const void *payload, size_t len, const uint8_t *whole)
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
int send_encoded(struct conn *c, uint8_t *frame, size_t len)
{
    if (!len)
        return -1;
    int rc = conn_send(c, 0, 0, NULL, len, frame);
    free(frame);
    return rc;
}

int send_error(struct conn *c, uint32_t id, uint16_t kind, int err, const char *msg)
{
    uint8_t *f;
    size_t n = proto_enc_error(&f, id, kind, err, msg);
    return send_encoded(c, f, n);
}

int spawn_detached(void *(*fn)(void *), void *arg)
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
