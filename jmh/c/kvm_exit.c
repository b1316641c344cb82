/* The C side of KvmExitBenchmark: a real-mode guest looping on `out dx, al`; times KVM_RUN round trips
 * (entry + I/O exit) and KVM_GET_REGS, printed as "name ns/op". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

int main(void)
{
    static const unsigned char guest[] = {0xba, 0xf8, 0x03, 0xee, 0xeb, 0xfd};
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        die("open /dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        die("KVM_CREATE_VM");
    if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
        die("KVM_SET_TSS_ADDR");
    size_t size = 1 << 20;
    unsigned char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap");
    memcpy(mem + 0x1000, guest, sizeof(guest));
    struct kvm_userspace_memory_region region = {.slot = 0, .guest_phys_addr = 0, .memory_size = size,
                                                 .userspace_addr = (unsigned long)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        die("KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        die("KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        die("mmap kvm_run");
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        die("KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        die("KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = 0x1000, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        die("KVM_SET_REGS");

    long n = 200000;
    for (int pass = 0; pass < 2; pass++) { /* the first pass warms up */
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            if (ioctl(vcpu, KVM_RUN, 0) < 0)
                die("KVM_RUN");
            if (run->exit_reason != KVM_EXIT_IO) {
                fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
                return 1;
            }
        }
        if (pass == 1)
            printf("exitRoundTrip %.2f\n", (now_ns() - t0) / n);
    }
    n = 1000000;
    for (int pass = 0; pass < 2; pass++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++)
            if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
                die("KVM_GET_REGS");
        if (pass == 1)
            printf("getRegs %.2f\n", (now_ns() - t0) / n);
    }
    return 0;
}
