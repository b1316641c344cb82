/* identity.c: clock, entropy and hostname of the guest, set on the host's word (see identity.h). */
#define _GNU_SOURCE
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* <linux/random.h>: RNDADDENTROPY = _IOW('R', 0x03, int[2]), RNDRESEEDCRNG = _IO('R', 0x07) */
#define RNDADDENTROPY_COMPAT 0x40085203u
#define RNDRESEEDCRNG_COMPAT 0x5207u

static int fail(struct guest_fail *f, uint16_t kind, int err, const char *what)
{
    f->kind = kind;
    f->err = err;
    snprintf(f->msg, sizeof(f->msg), "%s: %s", what, strerror(err));
    return -1;
}

int guest_set_clock(int privileged, int64_t seconds, uint32_t nanos, struct timespec *prev, uint8_t *applied,
                    struct guest_fail *f)
{
    clock_gettime(CLOCK_REALTIME, prev);
    *applied = 0;
    if (!privileged)
        return 0;
    struct timespec ts = {(time_t)seconds, (long)nanos};
    if (clock_settime(CLOCK_REALTIME, &ts) != 0)
        return fail(f, proto_errno_kind(errno), errno, "clock_settime");
    *applied = 1;
    return 0;
}

int guest_add_entropy(int privileged, const uint8_t *data, uint32_t len, uint8_t *credited, struct guest_fail *f)
{
    *credited = 0;
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && privileged && len) {
        struct {
            int entropy_count;
            int buf_size;
        } *info = malloc(sizeof(*info) + len);
        if (info) {
            info->entropy_count = (int)(len * 8);
            info->buf_size = (int)len;
            memcpy(info + 1, data, len);
            *credited = ioctl(fd, RNDADDENTROPY_COMPAT, info) == 0;
            free(info);
        }
    }
    int err = 0;
    /* Credited bytes do not reach the CRNG of a kernel whose CRNG is ready (Linux 5.18+) until its next timed
     * reseed, seconds away in a young guest: clones of one snapshot would keep giving the same bytes until then
     * (KvmTemplateTest saw four clones agree once identity took one round trip). Reseed now. ENODATA: the CRNG
     * is not ready yet, and then the credit itself reseeds it. */
    if (*credited && ioctl(fd, RNDRESEEDCRNG_COMPAT) != 0 && errno != ENODATA)
        err = errno;
    if (fd < 0) {
        err = errno;
    } else if (!*credited) { /* not allowed or failed: mix the bytes in without crediting them */
        for (uint32_t off = 0; off < len;) {
            ssize_t w = write(fd, data + off, len - off);
            if (w <= 0) {
                err = w < 0 ? errno : EIO;
                break;
            }
            off += (uint32_t)w;
        }
    }
    if (fd >= 0)
        close(fd);
    return err ? fail(f, proto_errno_kind(err), err, *credited ? "RNDRESEEDCRNG" : "/dev/urandom") : 0;
}

int guest_set_hostname(const char *name, size_t n, struct guest_fail *f)
{
    return sethostname(name, n) == 0 ? 0 : fail(f, proto_errno_kind(errno), errno, "sethostname");
}

int guest_identity(int privileged, const struct request *q, uint8_t *flags, uint8_t *credited, struct guest_fail *f)
{
    const struct identity_req *d = &q->u.identity;
    *flags = 0;
    *credited = 0;
    if (proto_identity_check(d, f->msg, sizeof(f->msg))) {
        f->kind = E_INVALID;
        f->err = EINVAL;
        return -1;
    }
    if (privileged && d->hostname_len) {
        if (guest_set_hostname(d->hostname, d->hostname_len, f))
            return -1;
        *flags |= IDENTITY_F_HOSTNAME;
    }
    struct timespec prev;
    uint8_t applied;
    if (guest_set_clock(privileged, d->seconds, d->nanos, &prev, &applied, f))
        return -1;
    if (applied)
        *flags |= IDENTITY_F_CLOCK;
    return q->data_len ? guest_add_entropy(privileged, q->data, q->data_len, credited, f) : 0;
}
