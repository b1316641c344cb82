/* main.c: sandbox-agent, the guest agent. PID 1 of the microVM, or an ordinary process with --unix. */
#define _GNU_SOURCE
#include "agent.h"
#include "exec.h"
#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sandbox-agent [--unix PATH] [--port N] [--privileged] [--version]\n"
            "  (no flag)     listen on AF_VSOCK port %u (CID any)\n"
            "  --unix PATH   listen on a Unix stream socket instead (host tests)\n"
            "  --port N      vsock port instead of %u\n"
            "  --privileged  set the clock and credit entropy even when not PID 1\n"
            "  --version     print the agent and protocol versions\n"
            "As PID 1 it first mounts what is not mounted yet of /proc /sys /dev /dev/pts /dev/shm /run\n"
            "(and /tmp when / is an initramfs), sets the hostname (kernel cmdline sandbox.hostname=,\n"
            "default \"sandbox\"), brings lo up and grows an ext4 / to the size of its disk.\n",
            AGENT_VSOCK_PORT, AGENT_VSOCK_PORT);
}

int main(int argc, char **argv)
{
    struct agent_config cfg = {.vsock_port = AGENT_VSOCK_PORT};
    cfg.pid1 = getpid() == 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--unix") && i + 1 < argc) {
            cfg.unix_path = argv[++i];
        } else if (!strcmp(a, "--port") && i + 1 < argc) {
            char *end;
            unsigned long p = strtoul(argv[++i], &end, 10);
            if (*end || p == 0 || p > 0xFFFFFFFEul) {
                fprintf(stderr, "sandbox-agent: bad port %s\n", argv[i]);
                return 2;
            }
            cfg.vsock_port = (uint32_t)p;
        } else if (!strcmp(a, "--privileged")) {
            cfg.privileged = 1;
        } else if (!strcmp(a, "--version")) {
            printf("%s (protocol %d)\n", AGENT_VERSION_STRING, AGENT_PROTOCOL_VERSION);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!cfg.pid1) {
            usage(stderr);
            return 2;
        } /* as PID 1, unknown arguments (from the kernel command line) are ignored */
    }
    if (cfg.pid1)
        cfg.privileged = 1;

    ensure_std_fds();
    if (cfg.pid1)
        pid1_setup();
    if (reaper_init() != 0) {
        agent_log("cannot start the reaper thread");
        if (!cfg.pid1)
            return 1;
    }
    if (cfg.pid1)
        pid1_start_power_thread();
    for (;;) {
        int fd = open_listener(&cfg);
        if (fd >= 0) {
            serve(fd, &cfg);
            close(fd);
        }
        if (!cfg.pid1)
            return 1;
        /* PID 1 must never exit (that panics the kernel): report and retry */
        agent_log("fatal: cannot serve; retrying in 1 s");
        sleep(1);
    }
}
