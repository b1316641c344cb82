/* test_identity.c: the CLOCK/ENTROPY/IDENTITY handlers' work (src/identity.c) as an unprivileged agent does it
 * (nothing of the host changed, and the answer says so), refusals of bad requests, and sethostname itself in a
 * UTS namespace of its own when the test may make one. Each case runs in a child, in a new UTS namespace when
 * possible, so that even a broken handler cannot rename the host. */
#define _GNU_SOURCE
#include "check.h"
#include "identity.h"
#include "protocol.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int g_own_uts; /* the children run in a UTS namespace of their own */

/* An IDENTITY request decoded from the bytes a host would send. */
static struct request identity(const char *host, int64_t seconds, uint32_t nanos, const void *seed, uint32_t n,
                               struct wr *w)
{
    struct request q;
    wr_init(w);
    wr_str(w, host), wr_u64(w, (uint64_t)seconds), wr_u32(w, nanos), wr_blob(w, seed, n);
    size_t len = wr_finish(w, T_IDENTITY, 7);
    CHECK(len > 0);
    CHECK_EQ(proto_decode_request(T_IDENTITY, 7, w->p + AGENT_HEADER_SIZE, (uint32_t)(len - AGENT_HEADER_SIZE), &q),
             0);
    return q;
}

static void unprivileged(void)
{
    char before[128], after[128];
    CHECK_EQ(gethostname(before, sizeof(before)), 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(i * 7);
    struct wr w;
    struct guest_fail f;
    uint8_t flags = 0xFF, credited = 0xFF;

    /* a new name, the time (now: a handler that sets it anyway does no harm) and entropy: only the entropy lands */
    struct request q = identity("clone-7", now.tv_sec, (uint32_t)now.tv_nsec, seed, sizeof(seed), &w);
    CHECK_EQ(guest_identity(0, &q, &flags, &credited, &f), 0);
    CHECK_EQ(flags, 0);    /* neither hostname nor clock set */
    CHECK_EQ(credited, 0); /* mixed in through /dev/urandom, not credited */
    CHECK_EQ(gethostname(after, sizeof(after)), 0);
    CHECK_STR(after, before);
    proto_request_free(&q), wr_free(&w);

    /* empty hostname and no entropy: fine, nothing to do */
    q = identity("", now.tv_sec, 0, NULL, 0, &w);
    flags = credited = 0xFF;
    CHECK_EQ(guest_identity(0, &q, &flags, &credited, &f), 0);
    CHECK_EQ(flags, 0);
    CHECK_EQ(credited, 0);
    proto_request_free(&q), wr_free(&w);

    /* CLOCK and ENTROPY through the same code: not applied, not credited, the previous time reported */
    struct timespec prev;
    uint8_t applied = 0xFF;
    CHECK_EQ(guest_set_clock(0, now.tv_sec, (uint32_t)now.tv_nsec, &prev, &applied, &f), 0);
    CHECK_EQ(applied, 0);
    CHECK(prev.tv_sec >= now.tv_sec && prev.tv_sec < now.tv_sec + 60);
    CHECK_EQ(guest_add_entropy(0, seed, sizeof(seed), &credited, &f), 0);
    CHECK_EQ(credited, 0);
}

/* Bad requests change nothing, privileged or not, and say why (ERROR INVALID). The time sent is now: a handler
 * that failed to refuse would set the host's clock, and must not move it. */
static void refused(void)
{
    char before[128], after[128];
    CHECK_EQ(gethostname(before, sizeof(before)), 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct wr w;
    struct guest_fail f;
    uint8_t flags, credited;
    const char *bad[] = {"a_b", "-a", "x.y z", "\xc3\xa9"};
    for (int priv = 0; priv < 2; priv++) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            struct request q = identity(bad[i], now.tv_sec, (uint32_t)now.tv_nsec, "e", 1, &w);
            memset(&f, 0, sizeof(f));
            flags = credited = 0xFF;
            CHECK_EQ(guest_identity(priv, &q, &flags, &credited, &f), -1);
            CHECK_EQ(f.kind, E_INVALID);
            CHECK_EQ(f.err, EINVAL);
            CHECK(strstr(f.msg, "hostname") != NULL);
            CHECK_EQ(flags, 0);
            proto_request_free(&q), wr_free(&w);
        }
        struct request q = identity("ok", now.tv_sec, 1000000000u, NULL, 0, &w); /* nanos out of range */
        CHECK_EQ(guest_identity(priv, &q, &flags, &credited, &f), -1);
        CHECK_EQ(f.kind, E_INVALID);
        CHECK(strstr(f.msg, "nanos") != NULL);
        proto_request_free(&q), wr_free(&w);
    }
    CHECK_EQ(gethostname(after, sizeof(after)), 0);
    CHECK_STR(after, before);
}

/* sethostname as PID 1 does it; only in a UTS namespace of our own */
static void sets_hostname(void)
{
    struct guest_fail f;
    char now[128];
    CHECK_EQ(guest_set_hostname("sb-uts-test.0", 13, &f), 0);
    CHECK_EQ(gethostname(now, sizeof(now)), 0);
    CHECK_STR(now, "sb-uts-test.0");
}

/* Runs fn in a child (in a new UTS namespace when allowed); its failed checks count here. */
static void in_child(const char *name, void (*fn)(void), int needs_uts)
{
    if (needs_uts && !g_own_uts) {
        fprintf(stderr, "test_identity: %s skipped (no UTS namespace here)\n", name);
        return;
    }
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (g_own_uts && unshare(CLONE_NEWUTS) != 0)
            _exit(100);
        g_failures = g_checks = 0;
        fn();
        int counts[2] = {g_checks, g_failures};
        _exit(write(fds[1], counts, sizeof(counts)) == (ssize_t)sizeof(counts) ? 0 : 101);
    }
    close(fds[1]);
    int counts[2] = {0, 1}, st = 0;
    CHECK(pid > 0 && read(fds[0], counts, sizeof(counts)) == (ssize_t)sizeof(counts));
    close(fds[0]);
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    g_checks += counts[0];
    g_failures += counts[1];
    if (counts[1])
        fprintf(stderr, "test_identity: %s: %d of %d checks failed\n", name, counts[1], counts[0]);
}

int main(void)
{
    pid_t probe = fork(); /* can this process make a UTS namespace? (root, or CAP_SYS_ADMIN) */
    if (probe == 0)
        _exit(unshare(CLONE_NEWUTS) == 0 ? 0 : 1);
    int st = 0;
    g_own_uts = probe > 0 && waitpid(probe, &st, 0) == probe && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    in_child("unprivileged", unprivileged, 0);
    in_child("refused", refused, 0);
    in_child("sets_hostname", sets_hostname, 1);
    return check_report("test_identity");
}
