/* test_dirs.c: LIST, MKDIR and REMOVE handlers (dirs.c) on a scratch tree under $TMPDIR. */
#define _GNU_SOURCE
#include "check.h"
#include "dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_root[256];

static const char *at(const char *rel)
{
    static char buf[4][PATH_MAX];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", g_root, rel);
    return buf[k];
}

static void put(const char *rel, const char *content, mode_t mode)
{
    int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_EQ(write(fd, content, strlen(content)), (long long)strlen(content));
        fchmod(fd, mode);
        close(fd);
    }
}

static int exists(const char *rel)
{
    struct stat st;
    return lstat(at(rel), &st) == 0;
}

/* What a listing delivered: copies of the entries and the batches they came in. */
struct got {
    struct dir_entry e[2048];
    char names[2048][AGENT_MAX_NAME + 1];
    uint32_t n;
    int batches;
    int oversize_batches;
    int fail_after; /* the sink fails on this batch (1-based); 0 = never */
};

static int sink(void *ctx, const struct dir_entry *entries, uint32_t n)
{
    struct got *g = ctx;
    g->batches++;
    if (g->fail_after && g->batches >= g->fail_after)
        return -1;
    size_t bytes = 4;
    for (uint32_t i = 0; i < n; i++) {
        bytes += proto_dir_entry_size(&entries[i]);
        if (g->n < 2048) {
            snprintf(g->names[g->n], sizeof(g->names[g->n]), "%s", entries[i].name);
            g->e[g->n] = entries[i];
            g->e[g->n].name = g->names[g->n];
            g->n++;
        }
    }
    if (bytes > AGENT_CHUNK)
        g->oversize_batches++;
    return 0;
}

static const struct dir_entry *find(struct got *g, const char *name)
{
    for (uint32_t i = 0; i < g->n; i++)
        if (!strcmp(g->e[i].name, name))
            return &g->e[i];
    return NULL;
}

static void test_list(void)
{
    uint16_t kind;
    int err, trunc;
    uint32_t count;
    char msg[256];
    static struct got g;

    CHECK_EQ(mkdir(at("l"), 0755), 0);
    put("l/file.txt", "hello", 0640);
    CHECK_EQ(mkdir(at("l/sub"), 0750), 0);
    CHECK_EQ(symlink("/", at("l/up")), 0);
    CHECK_EQ(mkfifo(at("l/fifo"), 0600), 0);

    memset(&g, 0, sizeof(g));
    CHECK_EQ(dir_list(at("l"), 1000, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(count, 4);
    CHECK_EQ(g.n, 4);
    CHECK_EQ(trunc, 0);
    CHECK(find(&g, ".") == NULL && find(&g, "..") == NULL);
    const struct dir_entry *e = find(&g, "file.txt");
    CHECK(e && e->kind == DIR_KIND_FILE && e->size == 5 && e->mode == 0640 && e->mtime_seconds > 1600000000);
    e = find(&g, "sub");
    CHECK(e && e->kind == DIR_KIND_DIR && e->mode == 0750);
    e = find(&g, "up"); /* the link itself: lstat, not its target "/" */
    CHECK(e && e->kind == DIR_KIND_SYMLINK && e->size == 1);
    e = find(&g, "fifo");
    CHECK(e && e->kind == DIR_KIND_OTHER);

    /* bounded: two entries, flagged truncated */
    memset(&g, 0, sizeof(g));
    CHECK_EQ(dir_list(at("l"), 2, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(count, 2);
    CHECK_EQ(g.n, 2);
    CHECK_EQ(trunc, 1);
    /* exactly as many as there are: not truncated */
    memset(&g, 0, sizeof(g));
    CHECK_EQ(dir_list(at("l"), 4, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(count, 4);
    CHECK_EQ(trunc, 0);

    /* many long names: several batches, each within a data frame */
    CHECK_EQ(mkdir(at("many"), 0755), 0);
    char name[300];
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof(name), "many/%04d-%0240d", i, 0);
        put(name + 0, "", 0644);
    }
    memset(&g, 0, sizeof(g));
    CHECK_EQ(dir_list(at("many"), AGENT_MAX_LIST, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(count, 600);
    CHECK_EQ(g.n, 600);
    CHECK(g.batches >= 3);
    CHECK_EQ(g.oversize_batches, 0);
    int seen[600] = {0}, dups = 0;
    for (uint32_t i = 0; i < g.n; i++) {
        int k = atoi(g.e[i].name);
        if (k >= 0 && k < 600 && seen[k]++)
            dups++;
    }
    CHECK_EQ(dups, 0);

    /* a receiver that goes away stops the listing */
    memset(&g, 0, sizeof(g));
    g.fail_after = 1;
    CHECK_EQ(dir_list(at("many"), AGENT_MAX_LIST, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)),
             -1);
    CHECK_EQ(g.batches, 1);
    /* cancelled */
    atomic_int cancel = 1;
    memset(&g, 0, sizeof(g));
    CHECK_EQ(dir_list(at("l"), 10, sink, &g, &cancel, &count, &trunc, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(err, ECANCELED);

    /* errors */
    memset(&g, 0, sizeof(g));
    CHECK_EQ(dir_list(at("nope"), 10, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_NOT_FOUND);
    CHECK_EQ(dir_list(at("l/file.txt"), 10, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_NOT_DIRECTORY);
    CHECK(strstr(msg, "file.txt") != NULL);
    CHECK_EQ(dir_list("relative/dir", 10, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    CHECK_EQ(g.n, 0);
    /* "/" may be listed; a symlink to a directory is followed at the top */
    memset(&g, 0, sizeof(g));
    CHECK_EQ(dir_list("/", 10000, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), 0);
    CHECK(count > 0);
    memset(&g, 0, sizeof(g));
    CHECK_EQ(symlink(at("l"), at("l-link")), 0);
    CHECK_EQ(dir_list(at("l-link"), 10, sink, &g, NULL, &count, &trunc, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(count, 4);
}

static void test_mkdir(void)
{
    uint16_t kind;
    int err, created = -1;
    char msg[256];
    struct stat st;

    CHECK_EQ(dir_make(at("m/a/b/c"), 0700, &created, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(created, 1);
    CHECK(stat(at("m/a/b/c"), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
    CHECK(stat(at("m/a"), &st) == 0 && S_ISDIR(st.st_mode));
    /* again: fine, nothing created */
    CHECK_EQ(dir_make(at("m/a/b/c"), 0700, &created, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(created, 0);
    /* a file in the way, at the end or above */
    put("m/file", "x", 0644);
    CHECK_EQ(dir_make(at("m/file"), 0755, &created, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_EXISTS);
    CHECK_EQ(dir_make(at("m/file/sub"), 0755, &created, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_EXISTS);
    CHECK(strstr(msg, "parent") != NULL);
    CHECK(!exists("m/file/sub"));
    /* bad paths */
    CHECK_EQ(dir_make("/", 0755, &created, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    CHECK_EQ(dir_make("rel/dir", 0755, &created, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    CHECK_EQ(dir_make(at("m/x/.."), 0755, &created, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
}

static void test_remove(void)
{
    uint16_t kind;
    int err;
    char msg[256];
    uint64_t removed = 99;

    put("r-file", "x", 0644);
    CHECK_EQ(dir_remove(at("r-file"), 0, NULL, &removed, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(removed, 1);
    CHECK(!exists("r-file"));
    CHECK_EQ(dir_remove(at("r-file"), 0, NULL, &removed, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_NOT_FOUND);

    /* outside the tree, reachable through symlinks inside it: must survive */
    CHECK_EQ(mkdir(at("outside"), 0755), 0);
    put("outside/keep", "keep", 0644);

    CHECK_EQ(mkdir(at("r"), 0755), 0);
    CHECK_EQ(mkdir(at("r/d1"), 0755), 0);
    CHECK_EQ(mkdir(at("r/d1/d2"), 0755), 0);
    put("r/f", "1", 0644);
    put("r/d1/f", "2", 0644);
    put("r/d1/d2/f", "3", 0644);
    CHECK_EQ(symlink(at("outside"), at("r/d1/link-dir")), 0);
    CHECK_EQ(symlink(at("outside/keep"), at("r/link-file")), 0);
    CHECK_EQ(mkdir(at("r/empty"), 0755), 0);

    /* not empty, not recursive: refused, nothing gone */
    CHECK_EQ(dir_remove(at("r"), 0, NULL, &removed, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_NOT_EMPTY);
    CHECK(exists("r/d1/d2/f"));
    /* an empty directory goes without recursive */
    CHECK_EQ(dir_remove(at("r/empty"), 0, NULL, &removed, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(removed, 1);

    /* cancelled before it starts: nothing removed */
    atomic_int cancel = 1;
    CHECK_EQ(dir_remove(at("r"), 1, &cancel, &removed, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(err, ECANCELED);
    CHECK(exists("r/f"));

    CHECK_EQ(dir_remove(at("r"), 1, NULL, &removed, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(removed, 8); /* d1, d2, 3 files, 2 links, and r itself */
    CHECK(!exists("r"));
    CHECK(exists("outside/keep"));

    /* a symlink to a directory as the target: the link goes, the directory stays */
    CHECK_EQ(symlink(at("outside"), at("r-link")), 0);
    CHECK_EQ(dir_remove(at("r-link"), 1, NULL, &removed, &kind, &err, msg, sizeof(msg)), 0);
    CHECK_EQ(removed, 1);
    CHECK(!exists("r-link"));
    CHECK(exists("outside/keep"));

    /* refused paths */
    CHECK_EQ(dir_remove("/", 1, NULL, &removed, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    CHECK(strstr(msg, "refusing") != NULL);
    CHECK_EQ(dir_remove(at("outside/.."), 1, NULL, &removed, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    CHECK_EQ(dir_remove("relative", 1, NULL, &removed, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    CHECK(exists("outside/keep"));

    /* too deep: refused with a clear message (what was above the limit is gone, the rest stays) */
    char rel[PATH_MAX] = "deep";
    CHECK_EQ(mkdir(at(rel), 0755), 0);
    int fd = open(at(rel), O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < AGENT_MAX_DEPTH + 5 && fd >= 0; i++) {
        CHECK_EQ(mkdirat(fd, "d", 0755), 0);
        int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = next;
    }
    if (fd >= 0)
        close(fd);
    CHECK_EQ(dir_remove(at("deep"), 1, NULL, &removed, &kind, &err, msg, sizeof(msg)), -1);
    CHECK_EQ(kind, E_INVALID);
    CHECK(strstr(msg, "deeper") != NULL);
    CHECK(exists("deep"));

    /* a mount point inside is not crossed (needs root and a mountable tmpfs: skipped otherwise) */
    CHECK_EQ(mkdir(at("mnt"), 0755), 0);
    CHECK_EQ(mkdir(at("mnt/m"), 0755), 0);
    if (mount("tmpfs", at("mnt/m"), "tmpfs", 0, "size=1m") == 0) {
        put("mnt/m/inside", "x", 0644);
        CHECK_EQ(dir_remove(at("mnt"), 1, NULL, &removed, &kind, &err, msg, sizeof(msg)), -1);
        CHECK_EQ(kind, E_PERMISSION_DENIED);
        CHECK_EQ(err, EXDEV);
        CHECK(exists("mnt/m/inside"));
        umount(at("mnt/m"));
    } else {
        fprintf(stderr, "test_dirs: no tmpfs mount (%s): mount point check skipped\n", strerror(errno));
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof(g_root), "%s/test_dirs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return 2;
    }
    test_list();
    test_mkdir();
    test_remove();
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_root);
    if (system(cmd) != 0)
        fprintf(stderr, "test_dirs: could not remove %s\n", g_root);
    return check_report("test_dirs");
}
