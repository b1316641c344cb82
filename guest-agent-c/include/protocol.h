/*
 * protocol.h: the host <-> guest agent wire protocol. This header is the one place the protocol is defined for C;
 * its Java twin is engine/src/main/java/dev/sandbox/engine/agent/AgentCodec.java. Both are tested against the same
 * byte fixtures in guest-agent-c/fixtures/.
 *
 * TRANSPORT
 *   The agent listens on AF_VSOCK, CID VMADDR_CID_ANY, port AGENT_VSOCK_PORT (10000), stream sockets. For host
 *   tests it can listen on a Unix stream socket instead (sandbox-agent --unix PATH). Many connections at once.
 *
 * FRAME (all integers big-endian, no padding)
 *   u32 len        payload length in bytes, 0 .. AGENT_MAX_PAYLOAD (1 MiB); larger is refused
 *   u8  type       one of enum agent_type below
 *   u8  zero[3]    reserved, must be 0
 *   u32 id         request id: 0 for HELLO/HELLO_OK, otherwise chosen by the client, non-zero, unique among the
 *                  requests in flight on that connection. Every reply frame carries the id of its request.
 *   u8  payload[len]
 *
 *   Payload field types: u8/u16/u32/u64, i32/i64 (two's complement),
 *   str   = u32 n, n bytes UTF-8 (no terminating NUL; an embedded NUL is refused with ERROR INVALID)
 *   bytes = u32 n, n bytes (only where named; data frames carry their bytes as the whole payload)
 *   A payload must be consumed exactly: short or trailing bytes are malformed.
 *
 * CONNECTION
 *   The first frame from the client must be HELLO (id 0); the agent answers HELLO_OK with the highest version both
 *   sides speak (this agent: 1 to 4), or ERROR VERSION and closes. Version 2 adds LIST, MKDIR and REMOVE, version 3
 *   the PROC_* requests, version 4 IDENTITY; on a connection that chose an older version they are answered like an
 *   unknown type (ERROR UNSUPPORTED), which is also what an agent that predates them answers, so a host can tell
 *   "too old" from any other failure.
 *   Then requests may be sent at any time: requests multiplex on one connection, their replies interleave, each
 *   frame tagged with its request id. Malformed input (bad header, oversize length, bad payload, a frame before
 *   HELLO) makes the agent send ERROR INVALID with id 0 when it can and close that connection; other connections
 *   are unaffected. A well-formed frame of unknown type is answered with ERROR UNSUPPORTED. Closing a connection
 *   kills the process groups of its running execs and drops its unfinished uploads.
 *
 * REQUESTS (client -> agent)                          REPLIES (agent -> client)
 *   0x01 HELLO      u32 magic 'SBXA' (0x53425841),     0x81 HELLO_OK  u16 version, str agent_version,
 *                   u16 min_version, u16 max_version                  u32 max_payload, u32 flags (bit0: PID 1)
 *   0x02 PING       payload = any bytes (<= 4 KiB)     0x82 PONG      the same bytes
 *   0x03 EXEC       u32 timeout_ms (0 = none),          0x83 STDOUT    payload = output bytes (chunk)
 *                   u32 stdout_cap, u32 stderr_cap,     0x84 STDERR    payload = output bytes (chunk)
 *                   str cmd, u32 argc, argc x str arg,  0x85 EXIT      i32 exit_code, i32 signal, u32 flags,
 *                   u32 envc, envc x str "KEY=VALUE",                  u64 duration_ns   (last frame of an exec)
 *                   str cwd ("" = "/"), bytes stdin
 *   0x04 WRITE_OPEN str path (absolute), u32 mode       0x86 WRITE_OK  u64 size (after WRITE_END: file in place)
 *   0x05 WRITE_DATA payload = file bytes (chunk)
 *   0x06 WRITE_END  empty
 *   0x07 READ       str path (absolute), u64 max_bytes  0x87 FILE_DATA payload = file bytes (chunk)
 *                                                       0x88 FILE_END  u64 size  (last frame of a read)
 *   0x08 CLOCK      i64 seconds, u32 nanos (Unix time)  0x89 CLOCK_OK  u8 applied, i64 prev_seconds, u32 prev_nanos
 *   0x09 ENTROPY    payload = random bytes              0x8A ENTROPY_OK u32 bytes, u8 credited
 *   0x0A QUIESCE    empty                               0x8B QUIESCE_OK empty
 *   0x0B CANCEL     empty; id = the request to cancel   (no reply of its own; the cancelled request ends as usual)
 *   version 2:
 *   0x0C LIST       str path (absolute),               0x8C DIR_ENTRIES u32 n, n x entry   (chunk)
 *                   u32 max_entries                     0x8D LIST_END  u32 count, u32 flags (last frame of a list)
 *   0x0D MKDIR      str path (absolute), u32 mode       0x8E MKDIR_OK  u8 created
 *   0x0E REMOVE     str path (absolute), u32 flags      0x8F REMOVE_OK u64 removed
 *   version 3:
 *   0x10 PROC_START str cmd, u32 argc, argc x str arg,  0x90 PROCS     u32 n, n x proc  (START: n = 1, the new one)
 *                   u32 envc, envc x str "KEY=VALUE",
 *                   str cwd ("" = "/")
 *   0x11 PROC_LIST  empty                               0x90 PROCS     (every process in the table)
 *   0x12 PROC_SIGNAL u32 pid, u32 signal                0x91 SIGNAL_OK u8 delivered (0: it had already exited)
 *   0x13 PROC_READ  u32 pid, u64 stdout_off,            0x92 PROC_OUTPUT u64 stdout_off, bytes stdout,
 *                   u64 stderr_off, u32 max_bytes,                     u64 stderr_off, bytes stderr,
 *                   u32 wait_ms                                        u8 exited, i32 exit_code, i32 signal
 *   version 4:
 *   0x14 IDENTITY   str hostname ("" = unchanged),      0x93 IDENTITY_OK u8 flags, u32 entropy_bytes, u8 credited
 *                   i64 seconds, u32 nanos (Unix time),
 *                   bytes entropy
 *                                                       0xFF ERROR     u16 kind, i32 errno, str message
 *
 *   Any request may instead end with ERROR (enum agent_error). Every request gets exactly one final frame:
 *   HELLO_OK, PONG, EXIT, WRITE_OK, FILE_END, CLOCK_OK, ENTROPY_OK, QUIESCE_OK, LIST_END, MKDIR_OK, REMOVE_OK,
 *   PROCS, SIGNAL_OK, PROC_OUTPUT, IDENTITY_OK or ERROR.
 *
 * EXEC
 *   argv = [cmd, args...]; cmd is looked up in PATH (the request env's PATH, else the agent's) unless it has a '/'.
 *   env = the agent's environment with the request's entries added/overriding. The child gets a new session and
 *   process group, stdin from a pipe fed with the stdin bytes then closed. A command that cannot start exits
 *   127 (not found) or 126 (not executable) with a shell-style message on stderr; a missing cwd is ERROR NOT_FOUND.
 *   STDOUT/STDERR chunks (<= AGENT_CHUNK each) stream while it runs; at most stdout_cap/stderr_cap bytes per
 *   stream are sent, the rest is read and dropped and the matching truncated flag set. EXIT comes when the child
 *   exits (pipes are drained for at most AGENT_DRAIN_MS after that, so a background process that keeps the pipes
 *   open does not stall it; background processes keep running). On timeout, or CANCEL, the whole process group
 *   gets SIGKILL; the output so far has been sent and EXIT has the timed-out flag (timeout) or just signal 9.
 *   exit_code = the exit status, or 128 + signal when killed by a signal (signal = 0 otherwise).
 *   EXIT flags: bit0 timed out, bit1 stdout truncated, bit2 stderr truncated.
 *
 * FILES
 *   WRITE_OPEN creates the parent directories (0755) and a temp file beside the target; WRITE_DATA frames append;
 *   WRITE_END sets the mode and renames the temp file onto the path, so readers never see half a file. An ERROR
 *   may come at any point; after it, further WRITE_DATA/WRITE_END frames with that id are ignored.
 *   READ streams FILE_DATA chunks then FILE_END; a file larger than max_bytes is ERROR TOO_LARGE.
 *
 * DIRECTORIES (version 2)
 *   LIST reads the directory at path (a symlink there is followed) and streams its entries in the directory's own
 *   order, "." and ".." left out, at most min(max_entries, AGENT_MAX_LIST) of them, in DIR_ENTRIES frames of at
 *   most AGENT_CHUNK payload bytes; LIST_END gives the count sent and flags bit0 (truncated) when entries were left.
 *   entry = str name (1..AGENT_MAX_NAME bytes, no '/'), u8 kind (DIR_KIND_*), u32 mode (permission bits, 07777),
 *   u64 size, i64 mtime_seconds, u32 mtime_nanos; each from lstat: a symlink is listed as one, not followed. An
 *   entry that vanishes while listed is left out. Not found: ERROR NOT_FOUND; not a directory: NOT_DIRECTORY.
 *   MKDIR creates the directory and its missing parents (mode & 07777, as umask allows); created = 0 when it was
 *   already a directory. Path, or a parent, that exists as something else: ERROR EXISTS.
 *   REMOVE deletes the file, symlink (never its target) or directory at path; "/" and a final "." or ".." are
 *   ERROR INVALID. A non-empty directory is ERROR NOT_EMPTY unless flags bit0 (recursive): then the tree below is
 *   deleted without following any symlink (each level opened with O_NOFOLLOW relative to its parent) and without
 *   crossing into another file system (a mount point inside is ERROR PERMISSION_DENIED, errno EXDEV, with what was
 *   removed before it gone), at most AGENT_MAX_DEPTH levels deep. removed = the entries deleted, path included.
 *   LIST and REMOVE stop at CANCEL (ERROR IO, ECANCELED).
 *
 * BACKGROUND PROCESSES (version 3)
 *   PROC_START starts cmd as EXEC does (PATH lookup, env added to the agent's, new session and process group, stdin
 *   empty), answers at once with the new entry and returns; the process belongs to the agent, not to the connection:
 *   it outlives the connection (and a snapshot/restore of the guest). cmd + args may take at most
 *   AGENT_MAX_PROC_ARGV bytes (else ERROR TOO_LARGE); at most AGENT_MAX_PROCS may run at once (else ERROR BUSY);
 *   of the exited ones the AGENT_MAX_EXITED most recent are kept, older ones are forgotten (NOT_FOUND after that).
 *   A missing cwd is ERROR NOT_FOUND; a command that is not found starts and exits 127, as EXEC.
 *   proc = u32 pid, u8 state (1 running, 2 exited), i32 exit_code, i32 signal (as EXIT; both 0 while running),
 *          i64 started_ms (Unix time, ms), str cmd, u32 argc, argc x str arg.   PROCS lists in start order.
 *   PROC_SIGNAL sends signal (1 HUP, 2 INT, 9 KILL, 15 TERM; any other is ERROR INVALID) to the process's group;
 *   delivered = 0 when it had exited already. Unknown pid: ERROR NOT_FOUND (also for PROC_READ).
 *   Output: the agent keeps the last AGENT_PROC_BUFFER bytes of each stream per process; byte offsets count from
 *   the process's start. PROC_READ answers with the bytes from the asked offsets (at most max_bytes per stream,
 *   capped at AGENT_CHUNK); when the asked offset is older than what is kept, the reply's offset is later than the
 *   one asked for (the bytes between were dropped). It waits up to wait_ms (capped at AGENT_MAX_WAIT_MS) for output
 *   or the exit when there is nothing new; exited = 1 only when the process has exited and the reply reaches the end
 *   of both streams (so a reader stops after the exit and all of its output). CANCEL ends a wait (ERROR IO).
 *
 * CLOCK sets CLOCK_REALTIME (applied = 1) when the agent is PID 1 or started with --privileged, else only reports
 *   the current guest time (applied = 0). ENTROPY adds the bytes to the kernel pool with RNDADDENTROPY
 *   (credited = 1) when PID 1/--privileged, else (or if that fails) writes them to /dev/urandom (credited = 0).
 *   QUIESCE runs sync() before a snapshot.
 *
 * IDENTITY (version 4): what a clone restored from a template needs to be itself, in one round trip and without a
 *   fork: its hostname, the time and fresh entropy. hostname is "" (left unchanged) or 1..AGENT_MAX_HOSTNAME bytes of
 *   [A-Za-z0-9.-] starting with a letter or digit (the rule of sandbox.hostname= on the kernel command line); any
 *   other hostname, or nanos >= 10^9, is ERROR INVALID and nothing is changed (the connection stays open). Then, as
 *   CLOCK and ENTROPY do: when PID 1 or --privileged the agent sets the hostname (sethostname) and CLOCK_REALTIME and
 *   credits the entropy (RNDADDENTROPY); otherwise it changes neither hostname nor clock and only mixes the bytes in
 *   through /dev/urandom. flags: bit0 (IDENTITY_F_HOSTNAME) the hostname was set, bit1 (IDENTITY_F_CLOCK) the clock
 *   was set; entropy_bytes = the bytes added, credited as in ENTROPY_OK. A failing sethostname or clock_settime is an
 *   ERROR (what came before it stays applied).
 */
#ifndef SANDBOX_AGENT_PROTOCOL_H
#define SANDBOX_AGENT_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_VSOCK_PORT 10000u
#define AGENT_MAGIC 0x53425841u /* "SBXA" */
#define AGENT_PROTOCOL_VERSION 4     /* the highest this agent speaks */
#define AGENT_PROTOCOL_MIN_VERSION 1 /* the lowest */
#define AGENT_HEADER_SIZE 12
#define AGENT_MAX_PAYLOAD (1024u * 1024u)
#define AGENT_CHUNK (64u * 1024u)
#define AGENT_MAX_PING 4096u
#define AGENT_DRAIN_MS 100
#define AGENT_VERSION_STRING "sandbox-agent 0.4.0"
#define AGENT_MAX_LIST 10000u /* entries per LIST */
#define AGENT_MAX_NAME 255u   /* bytes in a directory entry's name (NAME_MAX) */
#define AGENT_MAX_DEPTH 256   /* directory levels a recursive REMOVE descends */
#define AGENT_MAX_PROCS 64          /* background processes running at once */
#define AGENT_MAX_EXITED 16         /* exited background processes remembered */
#define AGENT_MAX_PROC_ARGV 8192u   /* bytes of cmd + args of one background process */
#define AGENT_PROC_BUFFER (1024u * 1024u) /* bytes kept per stream per background process */
#define AGENT_MAX_WAIT_MS 30000u    /* longest PROC_READ wait */
#define AGENT_MAX_HOSTNAME 64u      /* bytes of an IDENTITY hostname (__NEW_UTS_LEN) */

enum agent_type {
    T_HELLO = 0x01,
    T_PING = 0x02,
    T_EXEC = 0x03,
    T_WRITE_OPEN = 0x04,
    T_WRITE_DATA = 0x05,
    T_WRITE_END = 0x06,
    T_READ = 0x07,
    T_CLOCK = 0x08,
    T_ENTROPY = 0x09,
    T_QUIESCE = 0x0A,
    T_CANCEL = 0x0B,
    T_LIST = 0x0C,   /* version 2 */
    T_MKDIR = 0x0D,  /* version 2 */
    T_REMOVE = 0x0E, /* version 2 */
    T_PROC_START = 0x10,  /* version 3 */
    T_PROC_LIST = 0x11,   /* version 3 */
    T_PROC_SIGNAL = 0x12, /* version 3 */
    T_PROC_READ = 0x13,   /* version 3 */
    T_IDENTITY = 0x14,    /* version 4 */

    T_HELLO_OK = 0x81,
    T_PONG = 0x82,
    T_STDOUT = 0x83,
    T_STDERR = 0x84,
    T_EXIT = 0x85,
    T_WRITE_OK = 0x86,
    T_FILE_DATA = 0x87,
    T_FILE_END = 0x88,
    T_CLOCK_OK = 0x89,
    T_ENTROPY_OK = 0x8A,
    T_QUIESCE_OK = 0x8B,
    T_DIR_ENTRIES = 0x8C,
    T_LIST_END = 0x8D,
    T_MKDIR_OK = 0x8E,
    T_REMOVE_OK = 0x8F,
    T_PROCS = 0x90,
    T_SIGNAL_OK = 0x91,
    T_PROC_OUTPUT = 0x92,
    T_IDENTITY_OK = 0x93,
    T_ERROR = 0xFF,
};

/* ERROR kinds (u16). The Java side maps them onto AgentException.Kind. */
enum agent_error {
    E_NOT_FOUND = 1,
    E_IS_DIRECTORY = 2,
    E_PERMISSION_DENIED = 3,
    E_TOO_LARGE = 4,
    E_INVALID = 5,     /* a request the agent cannot accept (bad path, NUL in string, duplicate id, malformed) */
    E_IO = 6,          /* any other errno */
    E_UNSUPPORTED = 7, /* unknown request type */
    E_VERSION = 8,     /* no common protocol version */
    E_BUSY = 9,        /* too many requests in flight */
    E_NOT_DIRECTORY = 10, /* LIST of something that is not a directory (version 2) */
    E_EXISTS = 11,        /* MKDIR where a file (or other non-directory) is (version 2) */
    E_NOT_EMPTY = 12,     /* REMOVE of a non-empty directory without recursive (version 2) */
};

#define EXIT_F_TIMED_OUT 1u
#define EXIT_F_STDOUT_TRUNC 2u
#define EXIT_F_STDERR_TRUNC 4u
#define HELLO_F_PID1 1u
#define LIST_F_TRUNCATED 1u
#define REMOVE_F_RECURSIVE 1u
#define IDENTITY_F_HOSTNAME 1u
#define IDENTITY_F_CLOCK 2u

/* LIST entry kinds (u8) */
enum dir_kind { DIR_KIND_FILE = 1, DIR_KIND_DIR = 2, DIR_KIND_SYMLINK = 3, DIR_KIND_OTHER = 4 };

/* The protocol version that introduced a request type (1 for the original ones). */
int proto_request_version(uint8_t type);

/* ---- frame header ---- */
struct frame_header {
    uint32_t len;
    uint8_t type;
    uint32_t id;
};

/* Returns 0 and fills *h when buf holds a valid header, -1 when the header is malformed (reserved bytes not zero,
 * len > AGENT_MAX_PAYLOAD). buf must hold AGENT_HEADER_SIZE bytes. */
int proto_parse_header(const uint8_t *buf, struct frame_header *h);
void proto_write_header(uint8_t *buf, uint8_t type, uint32_t id, uint32_t len);

/* ---- payload reader (bounds-checked; any failure sets err and sticks) ---- */
struct rd {
    const uint8_t *p;
    size_t len, pos;
    int err;
};
void rd_init(struct rd *r, const uint8_t *p, size_t len);
uint8_t rd_u8(struct rd *r);
uint16_t rd_u16(struct rd *r);
uint32_t rd_u32(struct rd *r);
uint64_t rd_u64(struct rd *r);
/* A str/bytes field: returns a pointer into the payload (not NUL-terminated) and its length in *n. */
const uint8_t *rd_blob(struct rd *r, uint32_t *n);
/* 0 when everything was read exactly, -1 otherwise. */
int rd_end(const struct rd *r);

/* ---- payload writer (growable buffer; the first AGENT_HEADER_SIZE bytes are reserved for the header) ---- */
struct wr {
    uint8_t *p;
    size_t len, cap;
    int err;
};
void wr_init(struct wr *w);
void wr_free(struct wr *w);
void wr_u8(struct wr *w, uint8_t v);
void wr_u16(struct wr *w, uint16_t v);
void wr_u32(struct wr *w, uint32_t v);
void wr_u64(struct wr *w, uint64_t v);
void wr_raw(struct wr *w, const void *p, size_t n);
void wr_blob(struct wr *w, const void *p, size_t n); /* u32 n + bytes */
void wr_str(struct wr *w, const char *s);
/* Writes the header for the bytes added so far; returns the whole frame length, or 0 on error/oversize. */
size_t wr_finish(struct wr *w, uint8_t type, uint32_t id);

/* ---- decoded requests. Strings are copied and NUL-terminated; free with proto_request_free. ---- */
struct hello_req {
    uint32_t magic;
    uint16_t min_version, max_version;
};
struct exec_req {
    uint32_t timeout_ms, stdout_cap, stderr_cap;
    char *cmd;
    uint32_t argc; /* args after cmd */
    char **args;   /* argc entries + NULL */
    uint32_t envc;
    char **env;    /* envc entries + NULL */
    char *cwd;
    uint8_t *stdin_data;
    uint32_t stdin_len;
    int has_nul;   /* a string had an embedded NUL: well-formed but refused */
};
struct path_req {
    char *path;
    uint32_t mode;        /* WRITE_OPEN, MKDIR */
    uint64_t max_bytes;   /* READ */
    uint32_t max_entries; /* LIST */
    uint32_t flags;       /* REMOVE */
    int has_nul;
};
struct proc_req { /* PROC_SIGNAL, PROC_READ */
    uint32_t pid, signal, max_bytes, wait_ms;
    uint64_t stdout_off, stderr_off;
};
struct clock_req {
    int64_t seconds;
    uint32_t nanos;
};
struct identity_req { /* the entropy bytes are the request's data/data_len */
    char *hostname;        /* NUL-terminated copy; "" = unchanged */
    uint32_t hostname_len; /* bytes sent (an embedded NUL makes strlen shorter) */
    int64_t seconds;
    uint32_t nanos;        /* not range-checked by the decoder: proto_identity_check */
};
struct request {
    uint8_t type;
    uint32_t id;
    const uint8_t *data; /* PING, WRITE_DATA, ENTROPY, IDENTITY (entropy): points into the payload */
    uint32_t data_len;
    union {
        struct hello_req hello;
        struct exec_req exec;
        struct path_req path;
        struct clock_req clock;
        struct proc_req proc;
        struct identity_req identity;
    } u; /* PROC_START uses exec (timeout, caps and stdin left 0) */
};

/* Decodes one request payload. Returns 0 on success, -1 when malformed, -2 for an unknown type (well-formed). */
int proto_decode_request(uint8_t type, uint32_t id, const uint8_t *payload, uint32_t len, struct request *out);
void proto_request_free(struct request *r);

/* Whether p[0..n) is a hostname the agent sets: 1..AGENT_MAX_HOSTNAME bytes of [A-Za-z0-9.-], the first a letter or
 * digit (what the engine's BootCommandLine allows). */
int proto_valid_hostname(const uint8_t *p, size_t n);
/* 0 when a decoded IDENTITY may be applied; else -1 with the reason in msg (answered as ERROR INVALID). */
int proto_identity_check(const struct identity_req *r, char *msg, size_t msglen);

/* ---- reply encoders: each returns a malloc'd frame in *out and its length, or 0 on failure ---- */
size_t proto_enc_hello_ok(uint8_t **out, uint16_t version, const char *agent_version, uint32_t max_payload,
                          uint32_t flags);
size_t proto_enc_data(uint8_t **out, uint8_t type, uint32_t id, const void *data, uint32_t len);
size_t proto_enc_exit(uint8_t **out, uint32_t id, int32_t exit_code, int32_t signal, uint32_t flags,
                      uint64_t duration_ns);
size_t proto_enc_u64(uint8_t **out, uint8_t type, uint32_t id, uint64_t v); /* WRITE_OK, FILE_END */
size_t proto_enc_clock_ok(uint8_t **out, uint32_t id, uint8_t applied, int64_t prev_seconds, uint32_t prev_nanos);
size_t proto_enc_entropy_ok(uint8_t **out, uint32_t id, uint32_t bytes, uint8_t credited);
size_t proto_enc_identity_ok(uint8_t **out, uint32_t id, uint8_t flags, uint32_t entropy_bytes, uint8_t credited);
size_t proto_enc_error(uint8_t **out, uint32_t id, uint16_t kind, int32_t err, const char *message);

/* One LIST entry; name is NUL-terminated, at most AGENT_MAX_NAME bytes. */
struct dir_entry {
    const char *name;
    uint8_t kind; /* enum dir_kind */
    uint32_t mode;
    uint64_t size;
    int64_t mtime_seconds;
    uint32_t mtime_nanos;
};
/* Bytes one entry takes in a DIR_ENTRIES payload. */
size_t proto_dir_entry_size(const struct dir_entry *e);
size_t proto_enc_dir_entries(uint8_t **out, uint32_t id, const struct dir_entry *entries, uint32_t n);
size_t proto_enc_list_end(uint8_t **out, uint32_t id, uint32_t count, uint32_t flags);
size_t proto_enc_mkdir_ok(uint8_t **out, uint32_t id, uint8_t created);
/* REMOVE_OK: proto_enc_u64(out, T_REMOVE_OK, id, removed) */

/* One background process as PROCS lists it; args NULL-terminated. */
struct proc_info {
    uint32_t pid;
    uint8_t state; /* PROC_RUNNING, PROC_EXITED */
    int32_t exit_code, signal;
    int64_t started_ms;
    const char *cmd;
    char *const *args;
};
#define PROC_RUNNING 1
#define PROC_EXITED 2
size_t proto_enc_procs(uint8_t **out, uint32_t id, const struct proc_info *procs, uint32_t n);
size_t proto_enc_signal_ok(uint8_t **out, uint32_t id, uint8_t delivered);
size_t proto_enc_proc_output(uint8_t **out, uint32_t id, uint64_t stdout_off, const uint8_t *out_data, uint32_t out_len,
                             uint64_t stderr_off, const uint8_t *err_data, uint32_t err_len, uint8_t exited,
                             int32_t exit_code, int32_t signal);

/* errno -> enum agent_error */
uint16_t proto_errno_kind(int err);

#endif
