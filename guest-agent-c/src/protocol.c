/* protocol.c: frame header, payload reader/writer, request decoders, reply encoders. Pure: no I/O. */
#include "protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int proto_parse_header(const uint8_t *b, struct frame_header *h)
{
    uint32_t len = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (b[5] || b[6] || b[7] || len > AGENT_MAX_PAYLOAD)
        return -1;
    h->len = len;
    h->type = b[4];
    h->id = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
    return 0;
}

void proto_write_header(uint8_t *b, uint8_t type, uint32_t id, uint32_t len)
{
    b[0] = (uint8_t)(len >> 24);
    b[1] = (uint8_t)(len >> 16);
    b[2] = (uint8_t)(len >> 8);
    b[3] = (uint8_t)len;
    b[4] = type;
    b[5] = b[6] = b[7] = 0;
    b[8] = (uint8_t)(id >> 24);
    b[9] = (uint8_t)(id >> 16);
    b[10] = (uint8_t)(id >> 8);
    b[11] = (uint8_t)id;
}

/* ---- reader ---- */

void rd_init(struct rd *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->err = 0;
}

static const uint8_t *rd_take(struct rd *r, size_t n)
{
    if (r->err || n > r->len - r->pos) {
        r->err = 1;
        return NULL;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

uint8_t rd_u8(struct rd *r)
{
    const uint8_t *q = rd_take(r, 1);
    return q ? q[0] : 0;
}

uint16_t rd_u16(struct rd *r)
{
    const uint8_t *q = rd_take(r, 2);
    return q ? (uint16_t)(q[0] << 8 | q[1]) : 0;
}

uint32_t rd_u32(struct rd *r)
{
    const uint8_t *q = rd_take(r, 4);
    return q ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3] : 0;
}

uint64_t rd_u64(struct rd *r)
{
    uint64_t hi = rd_u32(r);
    return hi << 32 | rd_u32(r);
}

const uint8_t *rd_blob(struct rd *r, uint32_t *n)
{
    uint32_t len = rd_u32(r);
    const uint8_t *q = rd_take(r, len);
    *n = q ? len : 0;
    return q;
}

int rd_end(const struct rd *r)
{
    return r->err || r->pos != r->len ? -1 : 0;
}

/* ---- writer ---- */

void wr_init(struct wr *w)
{
    w->p = NULL;
    w->len = AGENT_HEADER_SIZE;
    w->cap = 0;
    w->err = 0;
}

void wr_free(struct wr *w)
{
    free(w->p);
    w->p = NULL;
}

static uint8_t *wr_room(struct wr *w, size_t n)
{
    if (w->err)
        return NULL;
    if (w->len + n > AGENT_HEADER_SIZE + (size_t)AGENT_MAX_PAYLOAD) {
        w->err = 1;
        return NULL;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->err = 1;
            return NULL;
        }
        w->p = p;
        w->cap = cap;
    }
    uint8_t *q = w->p + w->len;
    w->len += n;
    return q;
}

void wr_u8(struct wr *w, uint8_t v)
{
    uint8_t *q = wr_room(w, 1);
    if (q)
        q[0] = v;
}

void wr_u16(struct wr *w, uint16_t v)
{
    uint8_t *q = wr_room(w, 2);
    if (q) {
        q[0] = (uint8_t)(v >> 8);
        q[1] = (uint8_t)v;
    }
}

void wr_u32(struct wr *w, uint32_t v)
{
    uint8_t *q = wr_room(w, 4);
    if (q) {
        q[0] = (uint8_t)(v >> 24);
        q[1] = (uint8_t)(v >> 16);
        q[2] = (uint8_t)(v >> 8);
        q[3] = (uint8_t)v;
    }
}

void wr_u64(struct wr *w, uint64_t v)
{
    wr_u32(w, (uint32_t)(v >> 32));
    wr_u32(w, (uint32_t)v);
}

void wr_raw(struct wr *w, const void *p, size_t n)
{
    uint8_t *q = wr_room(w, n);
    if (q && n)
        memcpy(q, p, n);
}

void wr_blob(struct wr *w, const void *p, size_t n)
{
    if (n > AGENT_MAX_PAYLOAD) {
        w->err = 1;
        return;
    }
    wr_u32(w, (uint32_t)n);
    wr_raw(w, p, n);
}

void wr_str(struct wr *w, const char *s)
{
    wr_blob(w, s, strlen(s));
}

size_t wr_finish(struct wr *w, uint8_t type, uint32_t id)
{
    if (!w->p)
        wr_room(w, 0); /* empty payload: allocates the header */
    if (w->err || !w->p)
        return 0;
    proto_write_header(w->p, type, id, (uint32_t)(w->len - AGENT_HEADER_SIZE));
    return w->len;
}

/* ---- requests ---- */

/* Copies a str field into a NUL-terminated heap string; flags embedded NULs. */
static char *rd_cstr(struct rd *r, int *has_nul)
{
    uint32_t n;
    const uint8_t *q = rd_blob(r, &n);
    if (!q)
        return NULL;
    if (memchr(q, 0, n))
        *has_nul = 1;
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->err = 1;
        return NULL;
    }
    memcpy(s, q, n);
    s[n] = 0;
    return s;
}

static char **rd_strv(struct rd *r, uint32_t *count, int *has_nul)
{
    uint32_t n = rd_u32(r);
    /* each str takes at least 4 bytes: refuse counts the payload cannot hold before allocating */
    if (r->err || n > (r->len - r->pos) / 4) {
        r->err = 1;
        return NULL;
    }
    char **v = calloc((size_t)n + 1, sizeof(char *));
    if (!v) {
        r->err = 1;
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        v[i] = rd_cstr(r, has_nul);
        if (!v[i]) {
            for (uint32_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            r->err = 1;
            return NULL;
        }
    }
    *count = n;
    return v;
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void proto_request_free(struct request *q)
{
    switch (q->type) {
    case T_EXEC:
    case T_PROC_START:
        free(q->u.exec.cmd);
        strv_free(q->u.exec.args);
        strv_free(q->u.exec.env);
        free(q->u.exec.cwd);
        free(q->u.exec.stdin_data);
        break;
    case T_WRITE_OPEN:
    case T_READ:
    case T_LIST:
    case T_MKDIR:
    case T_REMOVE:
        free(q->u.path.path);
        break;
    case T_IDENTITY:
        free(q->u.identity.hostname);
        break;
    default:
        break;
    }
    memset(q, 0, sizeof(*q));
}

int proto_decode_request(uint8_t type, uint32_t id, const uint8_t *payload, uint32_t len, struct request *q)
{
    struct rd r;
    memset(q, 0, sizeof(*q));
    q->type = type;
    q->id = id;
    rd_init(&r, payload, len);
    switch (type) {
    case T_HELLO:
        q->u.hello.magic = rd_u32(&r);
        q->u.hello.min_version = rd_u16(&r);
        q->u.hello.max_version = rd_u16(&r);
        break;
    case T_PING:
        if (len > AGENT_MAX_PING)
            return -1;
        /* fall through */
    case T_WRITE_DATA:
    case T_ENTROPY:
        q->data = payload;
        q->data_len = len;
        r.pos = len;
        break;
    case T_WRITE_END:
    case T_QUIESCE:
    case T_CANCEL:
        break;
    case T_EXEC: {
        struct exec_req *e = &q->u.exec;
        e->timeout_ms = rd_u32(&r);
        e->stdout_cap = rd_u32(&r);
        e->stderr_cap = rd_u32(&r);
        e->cmd = rd_cstr(&r, &e->has_nul);
        e->args = rd_strv(&r, &e->argc, &e->has_nul);
        e->env = rd_strv(&r, &e->envc, &e->has_nul);
        e->cwd = rd_cstr(&r, &e->has_nul);
        uint32_t n;
        const uint8_t *in = rd_blob(&r, &n);
        if (in && n) {
            e->stdin_data = malloc(n);
            if (!e->stdin_data)
                r.err = 1;
            else
                memcpy(e->stdin_data, in, n);
            e->stdin_len = n;
        }
        break;
    }
    case T_WRITE_OPEN:
        q->u.path.path = rd_cstr(&r, &q->u.path.has_nul);
        q->u.path.mode = rd_u32(&r);
        break;
    case T_READ:
        q->u.path.path = rd_cstr(&r, &q->u.path.has_nul);
        q->u.path.max_bytes = rd_u64(&r);
        break;
    case T_LIST:
        q->u.path.path = rd_cstr(&r, &q->u.path.has_nul);
        q->u.path.max_entries = rd_u32(&r);
        break;
    case T_MKDIR:
        q->u.path.path = rd_cstr(&r, &q->u.path.has_nul);
        q->u.path.mode = rd_u32(&r);
        break;
    case T_REMOVE:
        q->u.path.path = rd_cstr(&r, &q->u.path.has_nul);
        q->u.path.flags = rd_u32(&r);
        break;
    case T_PROC_START: {
        struct exec_req *e = &q->u.exec;
        e->cmd = rd_cstr(&r, &e->has_nul);
        e->args = rd_strv(&r, &e->argc, &e->has_nul);
        e->env = rd_strv(&r, &e->envc, &e->has_nul);
        e->cwd = rd_cstr(&r, &e->has_nul);
        break;
    }
    case T_PROC_LIST:
        break;
    case T_PROC_SIGNAL:
        q->u.proc.pid = rd_u32(&r);
        q->u.proc.signal = rd_u32(&r);
        break;
    case T_PROC_READ:
        q->u.proc.pid = rd_u32(&r);
        q->u.proc.stdout_off = rd_u64(&r);
        q->u.proc.stderr_off = rd_u64(&r);
        q->u.proc.max_bytes = rd_u32(&r);
        q->u.proc.wait_ms = rd_u32(&r);
        break;
    case T_IDENTITY: {
        struct identity_req *d = &q->u.identity;
        int has_nul = 0; /* proto_identity_check refuses it: strlen(hostname) is then short of hostname_len */
        size_t start = r.pos;
        d->hostname = rd_cstr(&r, &has_nul);
        d->hostname_len = d->hostname ? (uint32_t)(r.pos - start - 4) : 0;
        d->seconds = (int64_t)rd_u64(&r);
        d->nanos = rd_u32(&r);
        q->data = rd_blob(&r, &q->data_len);
        break;
    }
    case T_CLOCK:
        q->u.clock.seconds = (int64_t)rd_u64(&r);
        q->u.clock.nanos = rd_u32(&r);
        if (q->u.clock.nanos >= 1000000000u)
            r.err = 1;
        break;
    default:
        return -2;
    }
    if (rd_end(&r)) {
        proto_request_free(q);
        return -1;
    }
    return 0;
}

/* ---- replies ---- */

static size_t finish(struct wr *w, uint8_t type, uint32_t id, uint8_t **out)
{
    size_t n = wr_finish(w, type, id);
    if (!n) {
        wr_free(w);
        *out = NULL;
        return 0;
    }
    *out = w->p;
    return n;
}

size_t proto_enc_hello_ok(uint8_t **out, uint16_t version, const char *agent_version, uint32_t max_payload,
                          uint32_t flags)
{
    struct wr w;
    wr_init(&w);
    wr_u16(&w, version);
    wr_str(&w, agent_version);
    wr_u32(&w, max_payload);
    wr_u32(&w, flags);
    return finish(&w, T_HELLO_OK, 0, out);
}

size_t proto_enc_data(uint8_t **out, uint8_t type, uint32_t id, const void *data, uint32_t len)
{
    struct wr w;
    wr_init(&w);
    wr_raw(&w, data, len);
    return finish(&w, type, id, out);
}

size_t proto_enc_exit(uint8_t **out, uint32_t id, int32_t exit_code, int32_t signal, uint32_t flags,
                      uint64_t duration_ns)
{
    struct wr w;
    wr_init(&w);
    wr_u32(&w, (uint32_t)exit_code);
    wr_u32(&w, (uint32_t)signal);
    wr_u32(&w, flags);
    wr_u64(&w, duration_ns);
    return finish(&w, T_EXIT, id, out);
}

size_t proto_enc_u64(uint8_t **out, uint8_t type, uint32_t id, uint64_t v)
{
    struct wr w;
    wr_init(&w);
    wr_u64(&w, v);
    return finish(&w, type, id, out);
}

size_t proto_enc_clock_ok(uint8_t **out, uint32_t id, uint8_t applied, int64_t prev_seconds, uint32_t prev_nanos)
{
    struct wr w;
    wr_init(&w);
    wr_u8(&w, applied);
    wr_u64(&w, (uint64_t)prev_seconds);
    wr_u32(&w, prev_nanos);
    return finish(&w, T_CLOCK_OK, id, out);
}

size_t proto_enc_entropy_ok(uint8_t **out, uint32_t id, uint32_t bytes, uint8_t credited)
{
    struct wr w;
    wr_init(&w);
    wr_u32(&w, bytes);
    wr_u8(&w, credited);
    return finish(&w, T_ENTROPY_OK, id, out);
}

size_t proto_enc_identity_ok(uint8_t **out, uint32_t id, uint8_t flags, uint32_t entropy_bytes, uint8_t credited)
{
    struct wr w;
    wr_init(&w);
    wr_u8(&w, flags);
    wr_u32(&w, entropy_bytes);
    wr_u8(&w, credited);
    return finish(&w, T_IDENTITY_OK, id, out);
}

size_t proto_enc_error(uint8_t **out, uint32_t id, uint16_t kind, int32_t err, const char *message)
{
    struct wr w;
    wr_init(&w);
    wr_u16(&w, kind);
    wr_u32(&w, (uint32_t)err);
    wr_str(&w, message);
    return finish(&w, T_ERROR, id, out);
}

size_t proto_dir_entry_size(const struct dir_entry *e)
{
    return 4 + strlen(e->name) + 1 + 4 + 8 + 8 + 4;
}

size_t proto_enc_dir_entries(uint8_t **out, uint32_t id, const struct dir_entry *entries, uint32_t n)
{
    struct wr w;
    wr_init(&w);
    wr_u32(&w, n);
    for (uint32_t i = 0; i < n; i++) {
        const struct dir_entry *e = &entries[i];
        wr_str(&w, e->name);
        wr_u8(&w, e->kind);
        wr_u32(&w, e->mode);
        wr_u64(&w, e->size);
        wr_u64(&w, (uint64_t)e->mtime_seconds);
        wr_u32(&w, e->mtime_nanos);
    }
    return finish(&w, T_DIR_ENTRIES, id, out);
}

size_t proto_enc_list_end(uint8_t **out, uint32_t id, uint32_t count, uint32_t flags)
{
    struct wr w;
    wr_init(&w);
    wr_u32(&w, count);
    wr_u32(&w, flags);
    return finish(&w, T_LIST_END, id, out);
}

size_t proto_enc_mkdir_ok(uint8_t **out, uint32_t id, uint8_t created)
{
    struct wr w;
    wr_init(&w);
    wr_u8(&w, created);
    return finish(&w, T_MKDIR_OK, id, out);
}

int proto_valid_hostname(const uint8_t *p, size_t n)
{
    if (n < 1 || n > AGENT_MAX_HOSTNAME)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '-' && c != '.')))
            return 0;
    }
    return 1;
}

int proto_identity_check(const struct identity_req *r, char *msg, size_t msglen)
{
    if (r->hostname_len && !proto_valid_hostname((const uint8_t *)r->hostname, r->hostname_len)) {
        snprintf(msg, msglen, "identity: hostname of %u bytes is not 1..%u of [A-Za-z0-9.-] starting with a letter"
                              " or digit", r->hostname_len, AGENT_MAX_HOSTNAME);
        return -1;
    }
    if (r->nanos >= 1000000000u) {
        snprintf(msg, msglen, "identity: nanos %u out of range", r->nanos);
        return -1;
    }
    return 0;
}

int proto_request_version(uint8_t type)
{
    if (type == T_IDENTITY)
        return 4;
    if (type >= T_PROC_START && type <= T_PROC_READ)
        return 3;
    return type == T_LIST || type == T_MKDIR || type == T_REMOVE ? 2 : 1;
}

uint16_t proto_errno_kind(int err)
{
    switch (err) {
    case ENOENT:
        return E_NOT_FOUND;
    case EISDIR:
        return E_IS_DIRECTORY;
    case EACCES:
    case EPERM:
    case EROFS:
        return E_PERMISSION_DENIED;
    case EFBIG:
    case ENOSPC:
    case EDQUOT:
        return E_TOO_LARGE;
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
    case EINVAL:
        return E_INVALID;
    default:
        return E_IO;
    }
}

size_t proto_enc_procs(uint8_t **out, uint32_t id, const struct proc_info *procs, uint32_t n)
{
    struct wr w;
    wr_init(&w);
    wr_u32(&w, n);
    for (uint32_t i = 0; i < n; i++) {
        const struct proc_info *p = &procs[i];
        wr_u32(&w, p->pid);
        wr_u8(&w, p->state);
        wr_u32(&w, (uint32_t)p->exit_code);
        wr_u32(&w, (uint32_t)p->signal);
        wr_u64(&w, (uint64_t)p->started_ms);
        wr_str(&w, p->cmd);
        uint32_t argc = 0;
        while (p->args && p->args[argc])
            argc++;
        wr_u32(&w, argc);
        for (uint32_t j = 0; j < argc; j++)
            wr_str(&w, p->args[j]);
    }
    return finish(&w, T_PROCS, id, out);
}

size_t proto_enc_signal_ok(uint8_t **out, uint32_t id, uint8_t delivered)
{
    struct wr w;
    wr_init(&w);
    wr_u8(&w, delivered);
    return finish(&w, T_SIGNAL_OK, id, out);
}

size_t proto_enc_proc_output(uint8_t **out, uint32_t id, uint64_t stdout_off, const uint8_t *out_data, uint32_t out_len,
                             uint64_t stderr_off, const uint8_t *err_data, uint32_t err_len, uint8_t exited,
                             int32_t exit_code, int32_t signal)
{
    struct wr w;
    wr_init(&w);
    wr_u64(&w, stdout_off);
    wr_blob(&w, out_data, out_len);
    wr_u64(&w, stderr_off);
    wr_blob(&w, err_data, err_len);
    wr_u8(&w, exited);
    wr_u32(&w, (uint32_t)exit_code);
    wr_u32(&w, (uint32_t)signal);
    return finish(&w, T_PROC_OUTPUT, id, out);
}
