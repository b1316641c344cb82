/* Sets a non-default MXCSR (round toward zero, flush to zero), then spins checking it is still there: a VMM that
 * loses MXCSR across a snapshot hands the running task the default 0x1f80. Writes "ok N" or "lost 0xXXXX" to argv[1]
 * every 2^24 checks, and exits 1 on a loss. */
#include <stdio.h>
#include <stdlib.h>

static unsigned get_mxcsr(void) {
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    return m;
}

static void set_mxcsr(unsigned m) {
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
}

static void report(const char *path, const char *what, unsigned long long n) {
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s %llu\n", what, n);
        fclose(f);
    }
}

int main(int argc, char **argv) {
    const unsigned want = 0xff80;
    const char *out = argc > 1 ? argv[1] : "/tmp/mxcsr.out";
    set_mxcsr(want);
    for (unsigned long long n = 1;; n++) {
        unsigned m = get_mxcsr();
        if (m != want) {
            char what[32];
            snprintf(what, sizeof what, "lost 0x%x", m);
            report(out, what, n);
            return 1;
        }
        if ((n & ((1u << 24) - 1)) == 0) {
            report(out, "ok", n);
            set_mxcsr(want); /* stdio may not touch it, but be sure */
        }
    }
}
