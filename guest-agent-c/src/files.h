/* files.h: atomic file upload (temp file + rename) and streamed download. */
#ifndef SANDBOX_AGENT_FILES_H
#define SANDBOX_AGENT_FILES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct upload {
    uint32_t id;
    int fd;
    char *tmp;   /* temp file beside the target */
    char *path;  /* target */
    uint32_t mode;
    uint64_t size;
    struct upload *next;
};

/* Each returns 0, or -1 with *kind (agent_error), *err (errno) and msg set. On a failed write/finish the upload
 * is aborted (temp file removed) and freed; upload_abort frees an open one. */
int upload_open(const char *path, uint32_t mode, uint32_t id, struct upload **out, uint16_t *kind, int *err, char *msg,
                size_t msglen);
int upload_write(struct upload *u, const void *data, size_t n, uint16_t *kind, int *err, char *msg, size_t msglen);
int upload_finish(struct upload *u, uint64_t *size, uint16_t *kind, int *err, char *msg, size_t msglen);
void upload_abort(struct upload *u);

typedef int (*file_sink)(void *ctx, const uint8_t *data, size_t len);

/* Streams the file to sink in chunks of at most AGENT_CHUNK bytes; stops early (returning -1 with E_IO) when
 * *cancelled becomes non-zero or the sink fails. */
int file_read(const char *path, uint64_t max_bytes, file_sink sink, void *ctx, atomic_int *cancelled, uint64_t *size,
              uint16_t *kind, int *err, char *msg, size_t msglen);

/* Path checks shared by both: absolute, no empty final component. 0 or -1 (EINVAL). */
int check_path(const char *path);

#endif
