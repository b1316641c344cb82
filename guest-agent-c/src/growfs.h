/* growfs.h: growing the root's ext4 file system online to fill its disk. A disk template's image is only as big
 * as its files plus some free space; a sandbox may get a bigger disk, and PID 1 grows / into it at boot. */
#ifndef SANDBOX_AGENT_GROWFS_H
#define SANDBOX_AGENT_GROWFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

/* From linux/ext4.h (not in musl's headers). */
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif
#define EXT4_SUPER_MAGIC 0xEF53
#define EXT4_SB_OFFSET 1024 /* the primary superblock, whatever the block size */
#define EXT4_SB_SIZE 1024

struct ext4_geom {
    uint32_t block_size;
    uint64_t blocks; /* s_blocks_count: every block of the file system, metadata included */
};

/* Block size and count from an ext4 superblock (EXT4_SB_SIZE bytes read at EXT4_SB_OFFSET): 0, or -1 when it is
 * short, not ext2/3/4 (magic) or has an impossible block size. */
int ext4_sb_geom(const uint8_t *sb, size_t len, struct ext4_geom *g);

/* The block count that fills a device of dev_bytes, or 0 when that is not more than g->blocks. */
uint64_t growfs_target(uint64_t dev_bytes, const struct ext4_geom *g);

/* /dev/NAME of the block device that holds `mnt` (from /sys/dev/block/MAJ:MIN/uevent): 0, or -1 (not on a block
 * device, no sysfs, or the name does not fit). */
int mount_block_device(const char *mnt, char *path, size_t n);

/* Grows the ext4 file system mounted at `mnt` to fill the block device `dev` (which must be the one it is on).
 * 1 grown (*from and *to in blocks of from->block_size), 0 nothing to grow, -1 failed: `msg` says why. */
int growfs(const char *mnt, const char *dev, struct ext4_geom *from, uint64_t *to, char *msg, size_t n);

#endif
