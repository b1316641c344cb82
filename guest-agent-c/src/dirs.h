/* dirs.h: directory operations of protocol version 2: list, mkdir -p, remove (recursive without following links). */
#ifndef SANDBOX_AGENT_DIRS_H
#define SANDBOX_AGENT_DIRS_H

#include "protocol.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Gets each batch of entries (their encoded size fits AGENT_CHUNK); returns 0, or -1 when the receiver is gone. */
typedef int (*dir_sink)(void *ctx, const struct dir_entry *entries, uint32_t n);

/* Each returns 0, or -1 with *kind (agent_error), *err (errno) and msg set. cancelled may be NULL. */

/* Streams at most min(max_entries, AGENT_MAX_LIST) entries of the directory at path; *count = entries sent,
 * *truncated = 1 when some were left. */
int dir_list(const char *path, uint32_t max_entries, dir_sink sink, void *ctx, atomic_int *cancelled,
             uint32_t *count, int *truncated, uint16_t *kind, int *err, char *msg, size_t msglen);

/* mkdir -p; *created = 0 when path already was a directory. */
int dir_make(const char *path, uint32_t mode, int *created, uint16_t *kind, int *err, char *msg, size_t msglen);

/* Removes a file, symlink or (empty, or with recursive any) directory; *removed = entries deleted. */
int dir_remove(const char *path, int recursive, atomic_int *cancelled, uint64_t *removed, uint16_t *kind, int *err,
               char *msg, size_t msglen);

#endif
