/* growfs.c: online growth of an ext4 file system to its device's size (EXT4_IOC_RESIZE_FS, as resize2fs does
 * for a mounted file system). */
#define _GNU_SOURCE
#include "growfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

/* Superblock fields (little-endian), from the kernel's struct ext4_super_block. */
#define SB_BLOCKS_COUNT_LO 0x04
#define SB_LOG_BLOCK_SIZE 0x18
#define SB_MAGIC 0x38
#define SB_FEATURE_INCOMPAT 0x60
#define SB_BLOCKS_COUNT_HI 0x150
#define INCOMPAT_64BIT 0x80

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ext4_sb_geom(const uint8_t *sb, size_t len, struct ext4_geom *g)
{
    if (len < EXT4_SB_SIZE || (sb[SB_MAGIC] | sb[SB_MAGIC + 1] << 8) != EXT4_SUPER_MAGIC)
        return -1;
    uint32_t log = le32(sb + SB_LOG_BLOCK_SIZE);
    if (log > 6) /* 1 KiB << 6 = 64 KiB, ext4's largest */
        return -1;
    g->block_size = 1024u << log;
    g->blocks = le32(sb + SB_BLOCKS_COUNT_LO);
    if (le32(sb + SB_FEATURE_INCOMPAT) & INCOMPAT_64BIT)
        g->blocks |= (uint64_t)le32(sb + SB_BLOCKS_COUNT_HI) << 32;
    return 0;
}

uint64_t growfs_target(uint64_t dev_bytes, const struct ext4_geom *g)
{
    if (g->block_size == 0)
        return 0;
    uint64_t fit = dev_bytes / g->block_size;
    return fit > g->blocks ? fit : 0;
}

int mount_block_device(const char *mnt, char *path, size_t n)
{
    struct stat st;
    if (stat(mnt, &st) != 0)
        return -1;
    char sys[64], buf[512];
    snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/uevent", major(st.st_dev), minor(st.st_dev));
    int fd = open(sys, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "DEVNAME=", 8) || !line[8] || strstr(line, ".."))
            continue;
        int w = snprintf(path, n, "/dev/%s", line + 8);
        return w > 0 && (size_t)w < n ? 0 : -1;
    }
    return -1;
}

static int fail(char *msg, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

int growfs(const char *mnt, const char *dev, struct ext4_geom *from, uint64_t *to, char *msg, size_t n)
{
    struct stat ms, ds;
    if (stat(mnt, &ms) != 0)
        return fail(msg, n, "stat %s: %s", mnt, strerror(errno));
    int dfd = open(dev, O_RDONLY | O_CLOEXEC);
    if (dfd < 0)
        return fail(msg, n, "open %s: %s", dev, strerror(errno));
    /* Only the device under `mnt`: a superblock read elsewhere must never size this file system. */
    if (fstat(dfd, &ds) != 0 || !S_ISBLK(ds.st_mode) || ds.st_rdev != ms.st_dev) {
        close(dfd);
        return fail(msg, n, "%s is not the block device of %s", dev, mnt);
    }
    uint64_t dev_bytes = 0;
    uint8_t sb[EXT4_SB_SIZE];
    if (ioctl(dfd, BLKGETSIZE64, &dev_bytes) != 0) {
        int e = errno;
        close(dfd);
        return fail(msg, n, "BLKGETSIZE64 %s: %s", dev, strerror(e));
    }
    ssize_t got = pread(dfd, sb, sizeof(sb), EXT4_SB_OFFSET);
    close(dfd);
    if (got != (ssize_t)sizeof(sb) || ext4_sb_geom(sb, sizeof(sb), from) != 0)
        return fail(msg, n, "%s: no ext4 superblock", dev);
    *to = growfs_target(dev_bytes, from);
    if (*to == 0)
        return 0;
    int mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mfd < 0)
        return fail(msg, n, "open %s: %s", mnt, strerror(errno));
    uint64_t blocks = *to;
    int rc = ioctl(mfd, EXT4_IOC_RESIZE_FS, &blocks);
    int e = errno;
    close(mfd);
    if (rc != 0)
        return fail(msg, n, "EXT4_IOC_RESIZE_FS %s to %llu blocks: %s", mnt, (unsigned long long)*to, strerror(e));
    return 1;
}
