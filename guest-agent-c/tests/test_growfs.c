/* test_growfs.c: the arithmetic of growing / (src/growfs.c): superblock fields, the target block count, the ioctl
 * number against the kernel's, a superblock written by mke2fs itself when the host has it, and the guard that keeps
 * growfs() from sizing a file system by any device but its own. The resize ioctl itself needs a mounted ext4 of our
 * own (a loop mount), so it is left to the KVM tests. */
#define _GNU_SOURCE
#include "check.h"
#include "growfs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void superblock(uint8_t *sb, uint32_t log_bs, uint64_t blocks, int is64)
{
    memset(sb, 0, EXT4_SB_SIZE);
    sb[0x38] = 0x53, sb[0x39] = 0xEF;
    put32(sb + 0x18, log_bs);
    put32(sb + 0x04, (uint32_t)blocks);
    put32(sb + 0x150, (uint32_t)(blocks >> 32));
    if (is64)
        put32(sb + 0x60, 0x80 | 0x2 | 0x40); /* 64bit, plus filetype and extents around it */
}

static void parse(void)
{
    uint8_t sb[EXT4_SB_SIZE];
    struct ext4_geom g;

    superblock(sb, 2, 496640, 1);
    CHECK_EQ(ext4_sb_geom(sb, sizeof(sb), &g), 0);
    CHECK_EQ(g.block_size, 4096);
    CHECK_EQ(g.blocks, 496640);

    superblock(sb, 2, (5ull << 32) + 7, 1); /* 80 TiB + 7 blocks: the high word counts */
    CHECK_EQ(ext4_sb_geom(sb, sizeof(sb), &g), 0);
    CHECK_EQ(g.blocks, (5ll << 32) + 7);

    superblock(sb, 0, (5ull << 32) + 7, 0); /* without the 64bit feature the high word is not a count */
    CHECK_EQ(ext4_sb_geom(sb, sizeof(sb), &g), 0);
    CHECK_EQ(g.block_size, 1024);
    CHECK_EQ(g.blocks, 7);

    superblock(sb, 7, 100, 1); /* 128 KiB blocks: no ext4 has them */
    CHECK_EQ(ext4_sb_geom(sb, sizeof(sb), &g), -1);
    superblock(sb, 2, 100, 1);
    sb[0x38] = 0;
    CHECK_EQ(ext4_sb_geom(sb, sizeof(sb), &g), -1);
    superblock(sb, 2, 100, 1);
    CHECK_EQ(ext4_sb_geom(sb, EXT4_SB_SIZE - 1, &g), -1);
}

static void target(void)
{
    struct ext4_geom g = {4096, 496640}; /* a 1940 MiB image */
    CHECK_EQ(growfs_target(10ull << 30, &g), 2621440);        /* a 10 GiB disk */
    CHECK_EQ(growfs_target(496640ull * 4096, &g), 0);          /* the image's own size: nothing to do */
    CHECK_EQ(growfs_target(496640ull * 4096 + 4095, &g), 0);   /* less than a block more */
    CHECK_EQ(growfs_target(496641ull * 4096 + 1, &g), 496641); /* one block more, the tail dropped */
    CHECK_EQ(growfs_target(1ull << 30, &g), 0);                /* smaller: never shrink */
    struct ext4_geom none = {0, 0};
    CHECK_EQ(growfs_target(1ull << 30, &none), 0);
}

/* The kernel's number (linux/ext4.h: _IOW('f', 16, __u64)), written out so a wrong macro cannot check itself. */
static void ioctl_number(void)
{
    CHECK_EQ((unsigned long)EXT4_IOC_RESIZE_FS, 0x40086610ul);
}

/* A superblock that mke2fs wrote: our offsets against the real layout. */
static void real_superblock(void)
{
    if (system("command -v mke2fs >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_growfs: no mke2fs here, skipping the real superblock\n");
        return;
    }
    char img[] = "/tmp/test_growfs.XXXXXX";
    int fd = mkstemp(img);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "mke2fs -F -q -t ext4 -b 4096 -O 64bit %s 48M >/dev/null 2>&1", img);
    CHECK_EQ(system(cmd), 0);
    uint8_t sb[EXT4_SB_SIZE];
    CHECK_EQ(pread(fd, sb, sizeof(sb), EXT4_SB_OFFSET), EXT4_SB_SIZE);
    struct ext4_geom g = {0, 0};
    CHECK_EQ(ext4_sb_geom(sb, sizeof(sb), &g), 0);
    CHECK_EQ(g.block_size, 4096);
    CHECK_EQ(g.blocks, 48 * 256);
    snprintf(cmd, sizeof(cmd), "mke2fs -F -q -t ext4 -b 1024 %s 3M >/dev/null 2>&1", img);
    CHECK_EQ(system(cmd), 0);
    CHECK_EQ(pread(fd, sb, sizeof(sb), EXT4_SB_OFFSET), EXT4_SB_SIZE);
    CHECK_EQ(ext4_sb_geom(sb, sizeof(sb), &g), 0);
    CHECK_EQ(g.block_size, 1024);
    CHECK_EQ(g.blocks, 3 * 1024);

    /* growfs refuses a device that is not the one under the mount point (here: a plain file), before any ioctl */
    CHECK_EQ(ftruncate(fd, 64 << 20), 0);
    struct ext4_geom from;
    uint64_t to = 0;
    char msg[256] = "";
    CHECK_EQ(growfs("/", img, &from, &to, msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "is not the block device of /") != NULL);
    close(fd);
    unlink(img);
}

static void refusals(void)
{
    struct ext4_geom from;
    uint64_t to = 0;
    char msg[256] = "";
    CHECK_EQ(growfs("/nonexistent-mount", "/dev/null", &from, &to, msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "stat /nonexistent-mount") != NULL);
    CHECK_EQ(growfs("/", "/nonexistent-device", &from, &to, msg, sizeof(msg)), -1);
    CHECK(strstr(msg, "open /nonexistent-device") != NULL);
    CHECK_EQ(growfs("/", "/dev/null", &from, &to, msg, sizeof(msg)), -1); /* a character device */
    CHECK(strstr(msg, "is not the block device") != NULL);
    char path[64] = "";
    CHECK_EQ(mount_block_device("/nonexistent-mount", path, sizeof(path)), -1);
    /* /proc is on no block device: no /sys/dev/block entry */
    CHECK_EQ(mount_block_device("/proc", path, sizeof(path)), -1);
}

int main(void)
{
    parse();
    target();
    ioctl_number();
    real_superblock();
    refusals();
    return check_report("test_growfs");
}
