/* agent.h: the pieces main() wires together. */
#ifndef SANDBOX_AGENT_AGENT_H
#define SANDBOX_AGENT_AGENT_H

#include <stdint.h>

struct agent_config {
    const char *unix_path; /* listen on this Unix socket instead of vsock */
    uint32_t vsock_port;
    int privileged;        /* may set the clock and credit entropy (PID 1, or --privileged) */
    int pid1;
};

/* Logs one line to stderr (the console when PID 1), prefixed "sandbox-agent: ". */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Makes sure fds 0, 1 and 2 are open (so pipes never land on them). */
void ensure_std_fds(void);

/* PID 1 duties: mounts, console, hostname, loopback, default environment. Logs failures, never fails. */
void pid1_setup(void);
/* Starts the thread that acts on halt/poweroff/reboot requests (after pid1_setup and reaper_init). */
void pid1_start_power_thread(void);

/* Opens the listening socket: 0+ fd or -1 (logged). */
int open_listener(const struct agent_config *cfg);

/* Accepts and serves connections forever; returns only if accept keeps failing fatally. */
void serve(int listen_fd, const struct agent_config *cfg);

#endif
