/* check.h: minimal test assertions; a failed check prints and counts, main returns non-zero. */
#ifndef SANDBOX_AGENT_CHECK_H
#define SANDBOX_AGENT_CHECK_H

#include <stdio.h>
#include <string.h>

static int g_failures, g_checks;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        g_checks++;                                                                                                    \
        if (!(cond)) {                                                                                                 \
            g_failures++;                                                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_EQ(a, b)                                                                                                 \
    do {                                                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                                          \
        g_checks++;                                                                                                    \
        if (va_ != vb_) {                                                                                              \
            g_failures++;                                                                                              \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, va_, vb_);                   \
        }                                                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                                                \
    do {                                                                                                               \
        const char *sa_ = (a), *sb_ = (b);                                                                             \
        g_checks++;                                                                                                    \
        if (!sa_ || strcmp(sa_, sb_)) {                                                                                \
            g_failures++;                                                                                              \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, sa_ ? sa_ : "(null)",    \
                    sb_);                                                                                              \
        }                                                                                                              \
    } while (0)

#define CHECK_MEM(p, n, q, m) CHECK((size_t)(n) == (size_t)(m) && (n == 0 || memcmp((p), (q), (size_t)(n)) == 0))

static int check_report(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, g_checks, g_failures);
    return g_failures ? 1 : 0;
}

#endif
