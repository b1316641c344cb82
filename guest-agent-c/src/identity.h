/* identity.h: the guest state the host sets after a boot or a restore: the clock (CLOCK), the random pool (ENTROPY),
 * and both with the hostname in one go (IDENTITY, version 4). No connection I/O: dispatch.c answers, tests call these
 * directly. Each may change the system only when privileged (PID 1, or --privileged). */
#ifndef SANDBOX_AGENT_IDENTITY_H
#define SANDBOX_AGENT_IDENTITY_H

#include "protocol.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Why a call failed: the ERROR frame to answer with. */
struct guest_fail {
    uint16_t kind; /* enum agent_error */
    int err;
    char msg[192];
};

/* Reads CLOCK_REALTIME into *prev, then, when privileged, sets it to seconds + nanos (*applied = 1; else 0).
 * 0, or -1 with *f filled when clock_settime fails. */
int guest_set_clock(int privileged, int64_t seconds, uint32_t nanos, struct timespec *prev, uint8_t *applied,
                    struct guest_fail *f);

/* Adds len bytes to the kernel's pool: credited with RNDADDENTROPY when privileged and allowed (*credited = 1),
 * else mixed in by a write to /dev/urandom (*credited = 0). 0, or -1 with *f filled. */
int guest_add_entropy(int privileged, const uint8_t *data, uint32_t len, uint8_t *credited, struct guest_fail *f);

/* sethostname(2) with n bytes of name (already valid). 0, or -1 with *f filled. */
int guest_set_hostname(const char *name, size_t n, struct guest_fail *f);

/* IDENTITY: checks the whole request first (ERROR INVALID and nothing changed when it is bad), then sets the
 * hostname (when one is given) and the clock when privileged, and adds the entropy. *flags gets IDENTITY_F_HOSTNAME
 * and IDENTITY_F_CLOCK for what was set, *credited as guest_add_entropy. 0, or -1 with *f filled. */
int guest_identity(int privileged, const struct request *q, uint8_t *flags, uint8_t *credited, struct guest_fail *f);

#endif
