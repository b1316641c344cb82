/* init.c: what the agent does as PID 1 of the microVM, before serving. */
#define _GNU_SOURCE
#include "agent.h"
#include "growfs.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define RAMFS_MAGIC 0x858458f6
#define TMPFS_MAGIC 0x01021994

void agent_log(const char *fmt, ...)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "sandbox-agent: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    (void)!write(2, line, len);
}

void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            continue;
        int n = open("/dev/null", O_RDWR);
        if (n < 0)
            n = open("/", O_RDONLY); /* no /dev yet: any fd keeps the slot taken */
        if (n >= 0 && n != fd) {
            dup2(n, fd);
            close(n);
        }
    }
}

struct mnt {
    const char *src, *dir, *type;
    unsigned long flags;
    const char *data;
    mode_t mode;
    int ram_root_only; /* only when / is the initramfs: a disk root keeps the directory it has */
};

/* Two roots: the `minimal` initramfs (nothing mounted yet) and an ext4 disk, where the kernel has mounted / and,
 * with CONFIG_DEVTMPFS_MOUNT, /dev already. What is already a mount point is left alone. */
static const struct mnt MOUNTS[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555, 0},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555, 0},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755, 0},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666", 0755, 0},
    {"tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777, 0}, /* POSIX shm, semaphores */
    {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777, 1},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755, 0},
};

/* The links a devtmpfs lacks and udev would make (bash's <(...) wants /dev/fd). */
static const char *const DEV_LINKS[][2] = {
    {"/proc/self/fd", "/dev/fd"},
    {"/proc/self/fd/0", "/dev/stdin"},
    {"/proc/self/fd/1", "/dev/stdout"},
    {"/proc/self/fd/2", "/dev/stderr"},
};

static int is_mountpoint(const char *dir)
{
    char parent[64];
    struct stat a, b;
    snprintf(parent, sizeof(parent), "%s/..", dir);
    return stat(dir, &a) == 0 && stat(parent, &b) == 0 && (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
}

static int ram_root(void)
{
    struct statfs fs;
    return statfs("/", &fs) == 0 && (fs.f_type == RAMFS_MAGIC || fs.f_type == TMPFS_MAGIC);
}

/* An ext4 root grows into a disk bigger than its image; never fatal. */
static void grow_root(void)
{
    struct statfs fs;
    if (statfs("/", &fs) != 0 || fs.f_type != EXT4_SUPER_MAGIC)
        return;
    char dev[64], msg[256];
    if (mount_block_device("/", dev, sizeof(dev)) != 0) {
        agent_log("cannot grow /: its block device is not in /sys/dev/block");
        return;
    }
    struct ext4_geom from;
    uint64_t to = 0;
    int rc = growfs("/", dev, &from, &to, msg, sizeof(msg));
    if (rc < 0)
        agent_log("cannot grow /: %s", msg);
    else if (rc > 0)
        agent_log("grew / (ext4 on %s) from %llu to %llu MiB", dev,
                  (unsigned long long)(from.blocks * from.block_size >> 20),
                  (unsigned long long)(to * from.block_size >> 20));
}

static void set_hostname(void)
{
    char name[65] = "sandbox";
    char buf[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        for (char *tok = strtok(buf, " \n\t"); tok; tok = strtok(NULL, " \n\t")) {
            if (strncmp(tok, "sandbox.hostname=", 17))
                continue;
            const char *v = tok + 17;
            size_t l = strlen(v);
            if (proto_valid_hostname((const uint8_t *)v, l)) /* the rule IDENTITY applies too */
                memcpy(name, v, l + 1);
            else
                agent_log("ignoring invalid sandbox.hostname=%s", v);
        }
    }
    if (sethostname(name, strlen(name)) != 0)
        agent_log("sethostname %s: %s", name, strerror(errno));
}

static void loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        agent_log("lo: socket: %s", strerror(errno));
        return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
        agent_log("lo: SIOCGIFFLAGS: %s", strerror(errno));
    } else {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
            agent_log("lo: SIOCSIFFLAGS: %s", strerror(errno));
    }
    close(s);
}

void pid1_setup(void)
{
    char errors[1024] = "";
    size_t el = 0;
    int on_ram = ram_root();
    for (size_t i = 0; i < sizeof(MOUNTS) / sizeof(MOUNTS[0]); i++) {
        const struct mnt *m = &MOUNTS[i];
        mkdir(m->dir, m->mode);
        if ((m->ram_root_only && !on_ram) || is_mountpoint(m->dir))
            continue;
        if (mount(m->src, m->dir, m->type, m->flags, m->data) != 0 && errno != EBUSY && el < sizeof(errors) - 1) {
            int n = snprintf(errors + el, sizeof(errors) - el, "mount %s on %s: %s; ", m->type, m->dir,
                             strerror(errno));
            if (n > 0)
                el += (size_t)n < sizeof(errors) - el ? (size_t)n : sizeof(errors) - el - 1;
        }
    }
    for (size_t i = 0; i < sizeof(DEV_LINKS) / sizeof(DEV_LINKS[0]); i++)
        (void)!symlink(DEV_LINKS[i][0], DEV_LINKS[i][1]); /* EEXIST: fine */
    mkdir("/run/lock", 01777); /* Debian's /var/lock points there */
    chmod("/run/lock", 01777); /* past the umask */
    /* the console now exists for sure: make it our stdout/stderr, where fatal errors go */
    int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0) {
        if (fcntl(0, F_GETFD) < 0)
            dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    ensure_std_fds();
    if (el)
        agent_log("%s", errors);
    umask(022);
    setenv("PATH", DEFAULT_PATH, 0);
    setenv("HOME", "/root", 1); /* the kernel passes HOME=/ */
    setenv("TERM", "linux", 0);
    set_hostname();
    loopback_up();
    grow_root();
    /* Blocked here, before any thread exists, so every thread inherits it and only the power thread takes them. */
    sigset_t power;
    sigemptyset(&power);
    sigaddset(&power, SIGTERM);
    sigaddset(&power, SIGUSR1);
    sigaddset(&power, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &power, NULL);
}

/* busybox's halt, poweroff and reboot ask init with SIGUSR1, SIGUSR2 and SIGTERM: as PID 1 we act on them. */
static void *power_main(void *arg)
{
    (void)arg;
    sigset_t power;
    sigemptyset(&power);
    sigaddset(&power, SIGTERM);
    sigaddset(&power, SIGUSR1);
    sigaddset(&power, SIGUSR2);
    for (;;) {
        int sig;
        if (sigwait(&power, &sig) != 0)
            continue;
        int how = sig == SIGTERM ? RB_AUTOBOOT : sig == SIGUSR2 ? RB_POWER_OFF : RB_HALT_SYSTEM;
        agent_log("%s requested: syncing", sig == SIGTERM ? "reboot" : sig == SIGUSR2 ? "poweroff" : "halt");
        sync();
        reboot(how);
        agent_log("reboot(): %s", strerror(errno));
    }
    return NULL;
}

void pid1_start_power_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, power_main, NULL) != 0)
        agent_log("cannot start the power thread: halt, poweroff and reboot will not work");
    else
        pthread_detach(t);
}
