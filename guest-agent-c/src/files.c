/* files.c: uploads written to a temp file and renamed into place; downloads streamed in chunks. */
#define _GNU_SOURCE
#include "files.h"

#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(uint16_t *kind, int *err, char *msg, size_t msglen, int e, const char *what, const char *path)
{
    *kind = e == EFBIG ? E_TOO_LARGE : proto_errno_kind(e);
    *err = e;
    snprintf(msg, msglen, "%s %s: %s", what, path, strerror(e));
    return -1;
}

int check_path(const char *path)
{
    size_t n = strlen(path);
    if (n < 2 || path[0] != '/' || path[n - 1] == '/' || n >= 4096)
        return -1;
    const char *base = strrchr(path, '/') + 1;
    if (!strcmp(base, ".") || !strcmp(base, ".."))
        return -1;
    return 0;
}

/* mkdir -p for every directory above path */
static int make_parents(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return ENOMEM;
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            return e;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

int upload_open(const char *path, uint32_t mode, uint32_t id, struct upload **out, uint16_t *kind, int *err, char *msg,
                size_t msglen)
{
    if (check_path(path))
        return fail(kind, err, msg, msglen, EINVAL, "bad path", path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fail(kind, err, msg, msglen, EISDIR, "write", path);
    int e = make_parents(path);
    if (e)
        return fail(kind, err, msg, msglen, e, "create parent directories of", path);
    struct upload *u = calloc(1, sizeof(*u));
    size_t dl = (size_t)(strrchr(path, '/') - path);
    if (u) {
        u->path = strdup(path);
        u->tmp = malloc(dl + 32);
    }
    if (!u || !u->path || !u->tmp) {
        if (u) {
            free(u->path);
            free(u->tmp);
        }
        free(u);
        return fail(kind, err, msg, msglen, ENOMEM, "write", path);
    }
    memcpy(u->tmp, path, dl);
    strcpy(u->tmp + dl, "/.sbx-upload-XXXXXX");
    u->fd = mkostemp(u->tmp, O_CLOEXEC);
    if (u->fd < 0) {
        e = errno;
        free(u->path);
        free(u->tmp);
        free(u);
        return fail(kind, err, msg, msglen, e, "write", path);
    }
    u->id = id;
    u->mode = mode & 07777;
    *out = u;
    return 0;
}

void upload_abort(struct upload *u)
{
    if (!u)
        return;
    if (u->fd >= 0)
        close(u->fd);
    unlink(u->tmp);
    free(u->tmp);
    free(u->path);
    free(u);
}

int upload_write(struct upload *u, const void *data, size_t n, uint16_t *kind, int *err, char *msg, size_t msglen)
{
    const uint8_t *p = data;
    while (n) {
        ssize_t w = write(u->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            fail(kind, err, msg, msglen, e, "write", u->path);
            upload_abort(u);
            return -1;
        }
        p += w;
        n -= (size_t)w;
        u->size += (uint64_t)w;
    }
    return 0;
}

int upload_finish(struct upload *u, uint64_t *size, uint16_t *kind, int *err, char *msg, size_t msglen)
{
    int rc = -1;
    if (fchmod(u->fd, u->mode) != 0)
        fail(kind, err, msg, msglen, errno, "chmod", u->path);
    else if (close(u->fd) != 0)
        u->fd = -1, fail(kind, err, msg, msglen, errno, "write", u->path);
    else if (u->fd = -1, rename(u->tmp, u->path) != 0)
        fail(kind, err, msg, msglen, errno, "rename onto", u->path);
    else
        rc = 0;
    if (rc == 0) {
        *size = u->size;
        free(u->tmp);
        free(u->path);
        free(u);
    } else {
        upload_abort(u);
    }
    return rc;
}

int file_read(const char *path, uint64_t max_bytes, file_sink sink, void *ctx, atomic_int *cancelled, uint64_t *size,
              uint16_t *kind, int *err, char *msg, size_t msglen)
{
    if (check_path(path))
        return fail(kind, err, msg, msglen, EINVAL, "bad path", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return fail(kind, err, msg, msglen, errno, "read", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(kind, err, msg, msglen, e, "read", path);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return fail(kind, err, msg, msglen, EISDIR, "read", path);
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes) {
        close(fd);
        return fail(kind, err, msg, msglen, EFBIG, "read", path);
    }
    fcntl(fd, F_SETFL, 0); /* O_NONBLOCK only kept open() from hanging on a FIFO */
    uint8_t *buf = malloc(AGENT_CHUNK);
    if (!buf) {
        close(fd);
        return fail(kind, err, msg, msglen, ENOMEM, "read", path);
    }
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        if (cancelled && atomic_load(cancelled)) {
            rc = fail(kind, err, msg, msglen, ECANCELED, "read", path);
            break;
        }
        ssize_t n = read(fd, buf, AGENT_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fail(kind, err, msg, msglen, errno, "read", path);
            break;
        }
        if (n == 0)
            break;
        if (total + (uint64_t)n > max_bytes) {
            rc = fail(kind, err, msg, msglen, EFBIG, "read", path);
            break;
        }
        total += (uint64_t)n;
        if (sink(ctx, buf, (size_t)n)) {
            rc = fail(kind, err, msg, msglen, EPIPE, "read", path);
            break;
        }
    }
    free(buf);
    close(fd);
    *size = total;
    return rc;
}
