/* conn.h: one client connection as the frame loop, the request handlers and the workers share it. */
#ifndef SANDBOX_AGENT_CONN_H
#define SANDBOX_AGENT_CONN_H

#include "agent.h"
#include "exec.h"
#include "files.h"
#include "protocol.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* A request served by a worker thread (EXEC, READ, QUIESCE, ...), listed on its connection for CANCEL. */
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
    int version; /* the protocol version HELLO chose; 0 before it */
};

/* ---- conn.c: frames out ---- */

/* Drops one reference; the last one closes the socket and frees the connection. */
void conn_unref(struct conn *c);
/* Sends header + payload as one frame (or, with whole, an encoded frame of len bytes); -1 once the connection is
 * gone. Safe from any thread. */
int conn_send(struct conn *c, uint8_t type, uint32_t id, const void *payload, size_t len, const uint8_t *whole);
/* Sends an encoded frame (from a proto_enc_* function) and frees it. */
int send_encoded(struct conn *c, uint8_t *frame, size_t len);
int send_error(struct conn *c, uint32_t id, uint16_t kind, int err, const char *msg);
/* A detached thread with the agent's small stack. */
int spawn_detached(void *(*fn)(void *), void *arg);

/* ---- dispatch.c: requests served on the reader thread ---- */

/* Whether id names an upload or a worker request still in flight on c. */
int id_in_use(struct conn *c, uint32_t id);
/* Handles one decoded request (after HELLO); takes ownership of q. */
void dispatch(struct conn *c, struct request *q);
/* Drops the connection's unfinished uploads (reader thread, at teardown). */
void drop_uploads(struct conn *c);

/* ---- workers.c: requests served on a thread of their own ---- */

/* Whether requests of this type run on a worker thread. */
int is_worker_request(uint8_t type);
/* Hands a decoded request (ownership included) to a new worker thread, or answers ERROR BUSY/IO. */
void start_worker(struct conn *c, struct request *req);
/* Marks the worker request id (if any) cancelled and kills its exec. */
void cancel_worker(struct conn *c, uint32_t id);
/* Cancels every worker request of c (at teardown). */
void cancel_workers(struct conn *c);

#endif
