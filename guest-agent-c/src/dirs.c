/* dirs.c: LIST, MKDIR and REMOVE. A recursive remove walks the tree with openat(O_NOFOLLOW) relative to each
 * parent's fd, so no symlink inside the tree (even one swapped in meanwhile) takes it outside. */
#define _GNU_SOURCE
#include "dirs.h"

#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH 256

/* Like files.c's, with the errnos that have a kind of their own here. */
static int fail(uint16_t *kind, int *err, char *msg, size_t msglen, int e, const char *what, const char *path)
{
    switch (e) {
    case ENOTDIR:
        *kind = E_NOT_DIRECTORY;
        break;
    case EEXIST:
        *kind = E_EXISTS;
        break;
    case ENOTEMPTY:
        *kind = E_NOT_EMPTY;
        break;
    case EXDEV:
    case EBUSY:
        *kind = E_PERMISSION_DENIED;
        break;
    default:
        *kind = proto_errno_kind(e);
    }
    *err = e;
    snprintf(msg, msglen, "%s %s: %s", what, path, strerror(e));
    return -1;
}

static int cancelled_now(atomic_int *cancelled)
{
    return cancelled && atomic_load(cancelled);
}

static uint8_t kind_of(mode_t m)
{
    return S_ISREG(m) ? DIR_KIND_FILE : S_ISDIR(m) ? DIR_KIND_DIR : S_ISLNK(m) ? DIR_KIND_SYMLINK : DIR_KIND_OTHER;
}

/* An absolute path the kernel can take: "/" included (LIST), no NUL (checked by the decoder). */
static int check_abs(const char *path)
{
    size_t n = strlen(path);
    return n >= 1 && path[0] == '/' && n < 4096 ? 0 : -1;
}

struct batch {
    struct dir_entry e[BATCH];
    char names[BATCH][AGENT_MAX_NAME + 1];
    uint32_t n;
    size_t bytes;
};

static int flush(struct batch *b, dir_sink sink, void *ctx)
{
    int rc = b->n ? sink(ctx, b->e, b->n) : 0;
    b->n = 0;
    b->bytes = 4;
    return rc;
}

int dir_list(const char *path, uint32_t max_entries, dir_sink sink, void *ctx, atomic_int *cancelled,
             uint32_t *count, int *truncated, uint16_t *kind, int *err, char *msg, size_t msglen)
{
    *count = 0;
    *truncated = 0;
    if (check_abs(path))
        return fail(kind, err, msg, msglen, EINVAL, "bad path", path);
    if (max_entries > AGENT_MAX_LIST)
        max_entries = AGENT_MAX_LIST;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail(kind, err, msg, msglen, errno, "list", path);
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return fail(kind, err, msg, msglen, e, "list", path);
    }
    struct batch *b = malloc(sizeof(*b));
    if (!b) {
        closedir(d);
        return fail(kind, err, msg, msglen, ENOMEM, "list", path);
    }
    b->n = 0;
    b->bytes = 4;
    int rc = 0;
    for (;;) {
        if (cancelled_now(cancelled)) {
            rc = fail(kind, err, msg, msglen, ECANCELED, "list", path);
            break;
        }
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                rc = fail(kind, err, msg, msglen, errno, "list", path);
            break;
        }
        const char *name = de->d_name;
        size_t nl = strlen(name);
        if (!strcmp(name, ".") || !strcmp(name, "..") || nl == 0 || nl > AGENT_MAX_NAME)
            continue;
        struct stat st;
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone meanwhile */
        if (*count >= max_entries) {
            *truncated = 1;
            break;
        }
        struct dir_entry e = {
            .name = name,
            .kind = kind_of(st.st_mode),
            .mode = (uint32_t)(st.st_mode & 07777),
            .size = (uint64_t)st.st_size,
            .mtime_seconds = (int64_t)st.st_mtim.tv_sec,
            .mtime_nanos = (uint32_t)st.st_mtim.tv_nsec,
        };
        size_t sz = proto_dir_entry_size(&e);
        if (b->bytes + sz > AGENT_CHUNK && flush(b, sink, ctx)) {
            rc = fail(kind, err, msg, msglen, EPIPE, "list", path);
            break;
        }
        memcpy(b->names[b->n], name, nl + 1); /* readdir may reuse its buffer */
        e.name = b->names[b->n];
        b->e[b->n] = e;
        b->n++;
        b->bytes += sz;
        (*count)++;
        if (b->n == BATCH && flush(b, sink, ctx)) {
            rc = fail(kind, err, msg, msglen, EPIPE, "list", path);
            break;
        }
    }
    if (rc == 0 && flush(b, sink, ctx))
        rc = fail(kind, err, msg, msglen, EPIPE, "list", path);
    free(b);
    closedir(d);
    return rc;
}

int dir_make(const char *path, uint32_t mode, int *created, uint16_t *kind, int *err, char *msg, size_t msglen)
{
    *created = 0;
    if (check_path(path))
        return fail(kind, err, msg, msglen, EINVAL, "bad path", path);
    char *p = strdup(path);
    if (!p)
        return fail(kind, err, msg, msglen, ENOMEM, "mkdir", path);
    int rc = 0;
    for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
        if (s)
            *s = 0;
        int last = !s;
        if (mkdir(p, last ? (mode_t)(mode & 07777) : 0755) == 0) {
            *created = last;
        } else if (errno == EEXIST) {
            struct stat st;
            if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
                rc = fail(kind, err, msg, msglen, EEXIST, last ? "mkdir: exists and is not a directory:"
                                                               : "mkdir: a parent exists and is not a directory:", p);
                break;
            }
        } else {
            rc = fail(kind, err, msg, msglen, errno, "mkdir", p);
            break;
        }
        if (last)
            break;
        *s = '/';
    }
    free(p);
    return rc;
}

struct walk {
    dev_t dev;
    atomic_int *cancelled;
    uint64_t removed;
    uint16_t *kind;
    int *err;
    char *msg;
    size_t msglen;
    const char *top;
};

/* Empties the directory open as dfd (taken over and closed). */
static int empty_dir(struct walk *w, int dfd, int depth)
{
    if (depth > AGENT_MAX_DEPTH) {
        close(dfd);
        *w->kind = E_INVALID;
        *w->err = ELOOP;
        snprintf(w->msg, w->msglen, "remove %s: the tree is deeper than %d levels: remove it in parts", w->top,
                 AGENT_MAX_DEPTH);
        return -1;
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return fail(w->kind, w->err, w->msg, w->msglen, e, "remove", w->top);
    }
    int rc = 0;
    uint64_t before;
    do { /* another pass if entries were removed: readdir while unlinking may skip some */
        before = w->removed;
        rewinddir(d);
        struct dirent *de;
        while (rc == 0 && (errno = 0, de = readdir(d))) {
            const char *name = de->d_name;
            if (!strcmp(name, ".") || !strcmp(name, ".."))
                continue;
            if (cancelled_now(w->cancelled)) {
                rc = fail(w->kind, w->err, w->msg, w->msglen, ECANCELED, "remove", w->top);
                break;
            }
            struct stat st;
            if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno == ENOENT)
                    continue;
                rc = fail(w->kind, w->err, w->msg, w->msglen, errno, "remove in", w->top);
                break;
            }
            if (S_ISDIR(st.st_mode)) {
                if (st.st_dev != w->dev) {
                    rc = fail(w->kind, w->err, w->msg, w->msglen, EXDEV, "remove: a mount point inside, not crossed:",
                              name);
                    break;
                }
                int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (cfd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
                    /* replaced by a symlink or file since the stat: remove that, never follow it */
                } else if (cfd < 0) {
                    rc = fail(w->kind, w->err, w->msg, w->msglen, errno, "remove in", w->top);
                    break;
                } else {
                    if ((rc = empty_dir(w, cfd, depth + 1)) != 0)
                        break;
                    if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
                        rc = fail(w->kind, w->err, w->msg, w->msglen, errno, "remove in", w->top);
                        break;
                    }
                    w->removed++;
                    continue;
                }
            }
            if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT) {
                rc = fail(w->kind, w->err, w->msg, w->msglen, errno, "remove in", w->top);
                break;
            }
            w->removed++;
        }
        if (rc == 0 && errno && !de)
            rc = fail(w->kind, w->err, w->msg, w->msglen, errno, "remove in", w->top);
    } while (rc == 0 && w->removed != before);
    closedir(d);
    return rc;
}

int dir_remove(const char *path, int recursive, atomic_int *cancelled, uint64_t *removed, uint16_t *kind, int *err,
               char *msg, size_t msglen)
{
    *removed = 0;
    if (check_path(path))
        return fail(kind, err, msg, msglen, EINVAL, strcmp(path, "/") ? "bad path" : "refusing to remove", path);
    struct stat st;
    if (lstat(path, &st) != 0)
        return fail(kind, err, msg, msglen, errno, "remove", path);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0)
            return fail(kind, err, msg, msglen, errno, "remove", path);
        *removed = 1;
        return 0;
    }
    struct walk w = {st.st_dev, cancelled, 0, kind, err, msg, msglen, path};
    if (recursive) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return fail(kind, err, msg, msglen, errno, "remove", path);
        if (empty_dir(&w, fd, 1)) {
            *removed = w.removed;
            return -1;
        }
    }
    if (rmdir(path) != 0) {
        int e = errno == EEXIST ? ENOTEMPTY : errno;
        *removed = w.removed;
        return fail(kind, err, msg, msglen, e, "remove", path);
    }
    *removed = w.removed + 1;
    return 0;
}
