/* procs.h: background processes (protocol version 3). A table owned by the agent, not by a connection: entries
 * outlive the connection that started them, and (being guest memory) a snapshot/restore of the VM. */
#ifndef SANDBOX_AGENT_PROCS_H
#define SANDBOX_AGENT_PROCS_H

#include "exec.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* What one PROC_READ hands back; the data are malloc'd copies (free with procs_output_free). */
struct proc_output {
    uint64_t off[2]; /* [0] stdout, [1] stderr: the offset of the first byte returned */
    uint8_t *data[2];
    uint32_t len[2];
    int exited; /* exited and both streams read to their end */
    int32_t exit_code, signal;
};

/* Bytes kept per stream (AGENT_PROC_BUFFER unless a test sets less); call before the first start. */
void procs_set_buffer(size_t bytes);

/* Starts spec (timeout, caps and stdin ignored) as a background process and returns its pid once it is forked and
 * registered with the reaper. -1 with kind/err/msg when it cannot start (table full: E_BUSY; argv too long:
 * E_TOO_LARGE; bad cwd: NOT_FOUND/INVALID). */
int procs_start(const struct exec_spec *spec, uint32_t *pid, uint16_t *kind, int *err, char *msg, size_t msglen);

/* A PROCS frame with every entry (pid 0) or just pid's; 0 when pid is unknown or on failure. */
size_t procs_enc_list(uint8_t **out, uint32_t id, uint32_t pid);

/* Signals pid's process group: 1 sent, 0 already exited, -1 unknown pid. */
int procs_signal(uint32_t pid, int sig);

/* Output from the offsets asked for (at most max bytes per stream), waiting up to wait_ms while there is nothing
 * new and the process runs. 0 on success, -1 unknown pid (or forgotten meanwhile), -2 cancelled. */
int procs_read(uint32_t pid, const uint64_t off[2], uint32_t max, uint32_t wait_ms, atomic_int *cancelled,
               struct proc_output *res);
void procs_output_free(struct proc_output *res);

/* Entries in the table (running + remembered exited), for tests. */
int procs_count(void);

#endif
