/* exec.c: vfork/execve with PATH lookup, output pumping with caps and timeout, and the reaper thread. */
#define _GNU_SOURCE
#include "exec.h"

#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- reaper ---- */

static pthread_mutex_t g_reap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct exec_job *g_jobs; /* live exec children, guarded by g_reap_lock */

uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void reap_all(void)
{
    pthread_mutex_lock(&g_reap_lock);
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0)
            break;
        for (struct exec_job **pp = &g_jobs; *pp; pp = &(*pp)->next) {
            struct exec_job *j = *pp;
            if (j->pid == pid) {
                *pp = j->next;
                j->status = st;
                j->end_ns = mono_ns();
                atomic_store(&j->exited, 1);
                char c = 'x';
                (void)!write(j->wake[1], &c, 1);
                break;
            }
        }
        /* not an exec child: an orphan reparented to us; its status is simply dropped */
    }
    pthread_mutex_unlock(&g_reap_lock);
}

static void *reaper_main(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (;;) {
        siginfo_t si;
        /* periodic sweep too, in case a SIGCHLD was consumed elsewhere */
        struct timespec ts = {1, 0};
        sigtimedwait(&set, &si, &ts);
        reap_all();
    }
    return NULL;
}

static void on_sigchld(int sig)
{
    (void)sig; /* never runs: SIGCHLD stays blocked; a handler keeps it from being ignored for PID 1 */
}

int reaper_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL))
        return -1;
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); /* orphans of our commands come to us, as in the guest */

    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 * 1024);
    pthread_t t;
    int rc = pthread_create(&t, &a, reaper_main, NULL);
    pthread_attr_destroy(&a);
    return rc ? -1 : 0;
}

int exec_job_init(struct exec_job *job)
{
    memset(job, 0, sizeof(*job));
    if (pipe2(job->wake, O_CLOEXEC | O_NONBLOCK))
        return -1;
    return 0;
}

void exec_job_destroy(struct exec_job *job)
{
    close(job->wake[0]);
    close(job->wake[1]);
}

void exec_job_cancel(struct exec_job *job)
{
    atomic_store(&job->cancelled, 1);
    char c = 'c';
    (void)!write(job->wake[1], &c, 1);
}

int exec_job_signal(struct exec_job *job, int sig)
{
    int sent = 0;
    pthread_mutex_lock(&g_reap_lock); /* the reaper sets exited under this lock: the pid is ours while it is 0 */
    if (job->pid > 0 && !atomic_load(&job->exited)) {
        if (kill(-job->pid, sig) != 0)
            kill(job->pid, sig);
        sent = 1;
    }
    pthread_mutex_unlock(&g_reap_lock);
    return sent;
}

/* ---- child side (vfork: our memory, our stack below the caller): only syscalls, no allocation, no return ---- */

static void child_write(const char *a, const char *b, const char *c)
{
    (void)!write(2, a, strlen(a));
    (void)!write(2, b, strlen(b));
    (void)!write(2, c, strlen(c));
}

struct child_plan {
    const char *cmd;
    char **argv;    /* [cmd, args..., NULL] */
    char **sh_argv; /* [sh, <path slot>, args..., NULL] for ENOEXEC scripts */
    char **envp;
    const char *path; /* PATH to search */
    const char *cwd;
    int in_fd, out_fd, err_fd;
};

static void try_exec(const struct child_plan *p, const char *file, int *saw_eacces)
{
    execve(file, p->argv, p->envp);
    if (errno == ENOEXEC) { /* a script without #!: run it with the shell, as execvp does */
        p->sh_argv[1] = (char *)file;
        execve("/bin/sh", p->sh_argv, p->envp);
        errno = ENOEXEC;
    }
    if (errno == EACCES || errno == ENOEXEC || errno == EISDIR || errno == ETXTBSY)
        *saw_eacces = 1;
}

static void __attribute__((noreturn)) child_main(const struct child_plan *p)
{
    setsid();
    if (dup2(p->in_fd, 0) < 0 || dup2(p->out_fd, 1) < 0 || dup2(p->err_fd, 2) < 0)
        _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (chdir(p->cwd) != 0) {
        child_write("sandbox-agent: cd: ", p->cwd, ": No such directory\n");
        _exit(126);
    }

    int saw_eacces = 0;
    if (strchr(p->cmd, '/')) {
        try_exec(p, p->cmd, &saw_eacces);
        if (errno == ENOENT || errno == ENOTDIR) {
            child_write(p->cmd, ": No such file or directory", "\n");
            _exit(127);
        }
        child_write(p->cmd, ": Permission denied", "\n");
        _exit(126);
    }
    char buf[4096];
    size_t cl = strlen(p->cmd);
    const char *s = p->path;
    while (*p->cmd && s) {
        const char *e = strchr(s, ':');
        size_t dl = e ? (size_t)(e - s) : strlen(s);
        if (dl == 0) { /* empty element = current directory */
            buf[0] = '.';
            dl = 1;
        } else if (dl < sizeof(buf)) {
            memcpy(buf, s, dl);
        }
        if (dl + 1 + cl + 1 <= sizeof(buf)) {
            buf[dl] = '/';
            memcpy(buf + dl + 1, p->cmd, cl + 1);
            try_exec(p, buf, &saw_eacces);
        }
        s = e ? e + 1 : NULL;
    }
    if (saw_eacces) {
        child_write(p->cmd, ": Permission denied", "\n");
        _exit(126);
    }
    child_write(p->cmd, ": command not found", "\n");
    _exit(127);
}

/* ---- parent side ---- */

static int env_key_eq(const char *a, const char *b)
{
    while (*a && *a != '=' && *a == *b)
        a++, b++;
    return (*a == '=' || !*a) && (*b == '=' || !*b);
}

/* agent environment + request entries (overriding by key); pointers are borrowed, the array is malloc'd */
static char **merge_env(char *const *extra)
{
    size_t n = 0, m = 0;
    while (environ && environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **v = calloc(n + m + 1, sizeof(char *));
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int overridden = 0;
        for (size_t j = 0; j < m && !overridden; j++)
            overridden = env_key_eq(environ[i], extra[j]);
        if (!overridden)
            v[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++) {
        int dup = 0; /* a later entry with the same key wins */
        for (size_t l = j + 1; l < m && !dup; l++)
            dup = env_key_eq(extra[j], extra[l]);
        if (!dup)
            v[k++] = extra[j];
    }
    return v;
}

static const char *env_get(char *const *env, const char *key)
{
    size_t kl = strlen(key);
    for (; env && *env; env++)
        if (!strncmp(*env, key, kl) && (*env)[kl] == '=')
            return *env + kl + 1;
    return NULL;
}

struct pump {
    int fd;
    int stream;
    uint32_t cap, sent;
    int truncated;
};

/* Reads what is there (one read); returns 1 on data, 0 on EOF/error (fd closed), -1 when it would block. */
static int pump_read(struct pump *pu, uint8_t *buf, exec_sink sink, void *ctx, int *sink_dead)
{
    ssize_t n = read(pu->fd, buf, AGENT_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return -1;
    if (n <= 0) {
        close(pu->fd);
        pu->fd = -1;
        return 0;
    }
    size_t keep = (size_t)n;
    if (keep > pu->cap - pu->sent) {
        keep = pu->cap - pu->sent;
        pu->truncated = 1;
    }
    if (keep && !*sink_dead) {
        if (sink(ctx, pu->stream, buf, keep))
            *sink_dead = 1;
    }
    pu->sent += (uint32_t)keep;
    return 1;
}

static void kill_group(pid_t pid)
{
    if (kill(-pid, SIGKILL) != 0)
        kill(pid, SIGKILL);
}

static int fail(uint16_t *kind, int *err, char *msg, size_t msglen, uint16_t k, int e, const char *what)
{
    *kind = k;
    *err = e;
    snprintf(msg, msglen, "%s: %s", what, strerror(e));
    return -1;
}

int exec_run(const struct exec_spec *spec, struct exec_job *job, exec_sink sink, void *ctx, struct exec_result *res,
             uint16_t *kind, int *err, char *msg, size_t msglen)
{
    memset(res, 0, sizeof(*res));
    if (!spec->cmd || !*spec->cmd) {
        *kind = E_INVALID;
        *err = EINVAL;
        snprintf(msg, msglen, "empty command");
        return -1;
    }
    const char *cwd = spec->cwd && *spec->cwd ? spec->cwd : "/";
    struct stat st;
    if (stat(cwd, &st) != 0)
        return fail(kind, err, msg, msglen, proto_errno_kind(errno), errno, "working directory");
    if (!S_ISDIR(st.st_mode))
        return fail(kind, err, msg, msglen, E_INVALID, ENOTDIR, "working directory");

    size_t argc = 0;
    while (spec->args && spec->args[argc])
        argc++;
    struct child_plan p;
    memset(&p, 0, sizeof(p));
    p.cmd = spec->cmd;
    p.cwd = cwd;
    p.argv = calloc(argc + 2, sizeof(char *));
    p.sh_argv = calloc(argc + 3, sizeof(char *));
    p.envp = merge_env(spec->env);
    uint8_t *buf = malloc(AGENT_CHUNK);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    int rc = -1;
    if (!p.argv || !p.sh_argv || !p.envp || !buf) {
        fail(kind, err, msg, msglen, E_IO, ENOMEM, "exec");
        goto done;
    }
    p.argv[0] = (char *)spec->cmd;
    p.sh_argv[0] = (char *)"sh";
    for (size_t i = 0; i < argc; i++)
        p.argv[i + 1] = p.sh_argv[i + 2] = spec->args[i];
    p.path = env_get(p.envp, "PATH");
    if (!p.path)
        p.path = DEFAULT_PATH;
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
        fail(kind, err, msg, msglen, E_IO, errno, "pipe");
        goto done;
    }
    p.in_fd = in[0];
    p.out_fd = out[1];
    p.err_fd = errp[1];

    uint64_t start = mono_ns();
    pthread_mutex_lock(&g_reap_lock); /* the reaper cannot reap the child before it is registered */
    /* vfork: the child shares our memory until its execve, so no page tables are copied (what dominates an exec's
     * cost in a small guest); it only makes syscalls on its own stack and never returns (child_main). */
    pid_t pid = vfork();
    if (pid == 0)
        child_main(&p);
    if (pid < 0) {
        int e = errno;
        pthread_mutex_unlock(&g_reap_lock);
        fail(kind, err, msg, msglen, E_IO, e, "fork");
        goto done;
    }
    job->pid = pid;
    job->next = g_jobs;
    g_jobs = job;
    pthread_mutex_unlock(&g_reap_lock);
    if (job->started)
        job->started(job, job->started_arg);
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    in[0] = out[1] = errp[1] = -1;

    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    uint32_t in_off = 0;
    if (spec->stdin_len == 0) {
        close(in[1]);
        in[1] = -1;
    }
    struct pump po = {out[0], EXEC_STDOUT, spec->stdout_cap, 0, 0};
    struct pump pe = {errp[0], EXEC_STDERR, spec->stderr_cap, 0, 0};
    out[0] = errp[0] = -1; /* owned by the pumps now */
    int sink_dead = 0, killed = 0, timed_out = 0;
    uint64_t deadline = spec->timeout_ms ? start + (uint64_t)spec->timeout_ms * 1000000u : 0;

    while (!atomic_load(&job->exited)) {
        int timeout = -1;
        if (deadline && !killed) {
            uint64_t now = mono_ns();
            if (now >= deadline) {
                kill_group(pid);
                killed = timed_out = 1;
                continue;
            }
            uint64_t ms = (deadline - now + 999999u) / 1000000u;
            timeout = ms > 60000 ? 60000 : (int)ms;
        }
        struct pollfd f[4];
        int nf = 0, iw = -1, io = -1, ie = -1, iin = -1;
        f[nf].fd = job->wake[0], f[nf].events = POLLIN, iw = nf++;
        if (po.fd >= 0)
            f[nf].fd = po.fd, f[nf].events = POLLIN, io = nf++;
        if (pe.fd >= 0)
            f[nf].fd = pe.fd, f[nf].events = POLLIN, ie = nf++;
        if (in[1] >= 0)
            f[nf].fd = in[1], f[nf].events = POLLOUT, iin = nf++;
        int n = poll(f, (nfds_t)nf, timeout);
        if (n < 0 && errno != EINTR)
            usleep(10000); /* never leave while the job is registered with the reaper */
        if (n <= 0)
            continue;
        if (f[iw].revents) {
            char drain[64];
            while (read(job->wake[0], drain, sizeof(drain)) > 0) {
            }
        }
        if (io >= 0 && f[io].revents)
            pump_read(&po, buf, sink, ctx, &sink_dead);
        if (ie >= 0 && f[ie].revents)
            pump_read(&pe, buf, sink, ctx, &sink_dead);
        if (iin >= 0 && f[iin].revents) {
            ssize_t w = (f[iin].revents & POLLOUT) ? write(in[1], spec->stdin_data + in_off, spec->stdin_len - in_off) : -1;
            if (w > 0)
                in_off += (uint32_t)w;
            if ((w < 0 && errno != EAGAIN) || in_off >= spec->stdin_len) {
                close(in[1]);
                in[1] = -1;
            }
        }
        if (!killed && (sink_dead || atomic_load(&job->cancelled)) && !atomic_load(&job->exited)) {
            kill_group(pid);
            killed = 1;
        }
    }
    if (in[1] >= 0) {
        close(in[1]);
        in[1] = -1;
    }

    /* The child exited: drain what it left, but never wait on a background process holding the pipes. */
    uint64_t grace = mono_ns() + (uint64_t)AGENT_DRAIN_MS * 1000000u;
    while (po.fd >= 0 || pe.fd >= 0) {
        uint64_t now = mono_ns();
        if (now >= grace)
            break;
        struct pollfd f[2];
        int nf = 0, io = -1, ie = -1;
        if (po.fd >= 0)
            f[nf].fd = po.fd, f[nf].events = POLLIN, io = nf++;
        if (pe.fd >= 0)
            f[nf].fd = pe.fd, f[nf].events = POLLIN, ie = nf++;
        int n = poll(f, (nfds_t)nf, (int)((grace - now) / 1000000u) + 1);
        if (n <= 0)
            continue;
        if (io >= 0 && f[io].revents)
            pump_read(&po, buf, sink, ctx, &sink_dead);
        if (ie >= 0 && f[ie].revents)
            pump_read(&pe, buf, sink, ctx, &sink_dead);
    }
    for (int i = 0; i < 16 && po.fd >= 0 && pump_read(&po, buf, sink, ctx, &sink_dead) > 0; i++) {
    }
    for (int i = 0; i < 16 && pe.fd >= 0 && pump_read(&pe, buf, sink, ctx, &sink_dead) > 0; i++) {
    }
    if (po.fd >= 0)
        close(po.fd);
    if (pe.fd >= 0)
        close(pe.fd);

    int status = job->status;
    if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
        res->exit_code = 128 + res->signal;
    } else {
        res->exit_code = WEXITSTATUS(status);
    }
    res->flags = (timed_out ? EXIT_F_TIMED_OUT : 0) | (po.truncated ? EXIT_F_STDOUT_TRUNC : 0) |
                 (pe.truncated ? EXIT_F_STDERR_TRUNC : 0);
    res->duration_ns = job->end_ns > start ? job->end_ns - start : 0;
    rc = 0;

done:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    free(p.argv);
    free(p.sh_argv);
    free(p.envp);
    free(buf);
    return rc;
}
