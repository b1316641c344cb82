/* exec.h: running one command (fork + execve with PATH lookup) and the child reaper. */
#ifndef SANDBOX_AGENT_EXEC_H
#define SANDBOX_AGENT_EXEC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EXEC_STDOUT 1
#define EXEC_STDERR 2

struct exec_spec {
    const char *cmd;
    char *const *args;      /* arguments after cmd, NULL-terminated (may be NULL) */
    char *const *env;       /* "KEY=VALUE" entries added to / overriding the agent's environment (may be NULL) */
    const char *cwd;        /* NULL or "" = "/" */
    const uint8_t *stdin_data;
    uint32_t stdin_len;
    uint32_t timeout_ms;    /* 0 = none */
    uint32_t stdout_cap, stderr_cap;
};

struct exec_result {
    int32_t exit_code;      /* exit status, or 128 + signal */
    int32_t signal;         /* terminating signal or 0 */
    uint32_t flags;         /* EXIT_F_* from protocol.h */
    uint64_t duration_ns;
};

/* Called with each chunk of output that fits under the cap; returns 0, or -1 when the receiver is gone (the
 * process group is then killed and no more output is delivered). */
typedef int (*exec_sink)(void *ctx, int stream, const uint8_t *data, size_t len);

/* One running exec: registered with the reaper while its child lives; cancellable from another thread. */
struct exec_job {
    int wake[2];            /* readable when the child exited or the job was cancelled */
    pid_t pid;
    atomic_int exited;
    atomic_int cancelled;
    int status;
    uint64_t end_ns;
    /* Optional: called once the child is forked and registered with the reaper (background processes answer their
     * start request from it). */
    void (*started)(struct exec_job *job, void *arg);
    void *started_arg;
    struct exec_job *next;
};

/* Blocks SIGCHLD in the calling thread (call it before creating any thread, so all inherit the mask), ignores
 * SIGPIPE and starts the reaper thread, which reaps every child and hands exec children's statuses to their jobs. */
int reaper_init(void);

int exec_job_init(struct exec_job *job);
void exec_job_destroy(struct exec_job *job);
/* Kills the job's process group (if still running); safe from any thread, any time between init and destroy. */
void exec_job_cancel(struct exec_job *job);

/* Sends sig to the job's process group (its leader alone if the group is gone) while the child is not yet reaped,
 * so a reused pid can never be hit. Returns 1 when sent, 0 when the child had already exited. */
int exec_job_signal(struct exec_job *job, int sig);

/* Runs spec to completion. Returns 0 with *res filled, or -1 when the command could not be set up: then *kind is
 * an agent_error, *err an errno and msg a message. */
int exec_run(const struct exec_spec *spec, struct exec_job *job, exec_sink sink, void *ctx, struct exec_result *res,
             uint16_t *kind, int *err, char *msg, size_t msglen);

uint64_t mono_ns(void);

#endif
