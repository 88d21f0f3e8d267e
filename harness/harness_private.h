/* Private to harness/: the process, file and socket helpers shared by redis.c and mqtt.c
 * (proc.c). Not installed, not reachable from other targets. */
#ifndef HARNESS_PRIVATE_H
#define HARNESS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HP_LOOPBACK      "127.0.0.1"
#define HP_PORT_ATTEMPTS 5

/* One supervised server process. */
struct hp_server {
    const char *what;   /* "redis-server", "mosquitto": for messages */
    char *binary;       /* resolved absolute path */
    char *log_file;     /* the server's stdout and stderr (appended) */
    pid_t pid;          /* 0 while stopped */
    int last_status;    /* waitpid status of the last exit */
    uint64_t log_start; /* log size when the current run was spawned */
};

/* A readiness probe: 0 ready, -EAGAIN not yet, another negative code: give up. It may write a
 * short reason into detail (for the timeout message). */
typedef int (*hp_probe_fn)(void *ctx, char *detail, size_t detail_len);

void hp_set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t hp_now_ms(void);
void hp_sleep_ms(unsigned ms);
bool hp_keep_requested(void);

/* Resolves the binary: opt if set, else $env, else name searched in PATH, then fallback_dir.
 * Returns a malloc'd absolute path or NULL (not found or not executable). */
char *hp_find_binary(const char *opt, const char *env, const char *name, const char *fallback_dir);

/* Makes a 0700 directory <parent or $TMPDIR or /tmp>/wcs-harness-<what>-XXXXXX.
 * Returns 0 and a malloc'd path, or a negative errno. */
int hp_mkdtemp(const char *parent, const char *what, char **out);
int hp_mkdir(const char *path); /* 0700; an existing directory is fine */
/* Writes text to path (created or truncated) with the given mode, fsync'd. 0 or -errno. */
int hp_write_file(const char *path, const char *text, mode_t mode);
/* Removes a tree (no symlink is followed). 0 or -errno. */
int hp_rmtree(const char *path);
/* Returns a malloc'd "a/b" (NULL on out of memory). */
char *hp_path(const char *a, const char *b);
/* Writes 2*n_bytes random hex characters and a NUL into out. 0 or -errno. */
int hp_random_hex(char *out, size_t n_bytes);

/* Finds n distinct free TCP ports on 127.0.0.1 (bound together, then released). 0 or -errno. */
int hp_free_ports(int *ports, size_t n);
/* Connects to 127.0.0.1:port within timeout_ms. Returns a blocking fd or -errno. */
int hp_connect(int port, int timeout_ms);
/* Sends all of buf. 0 or -errno. */
int hp_send_all(int fd, const void *buf, size_t len, int timeout_ms);
/* Reads up to cap bytes, returning as soon as at least want bytes arrived (or the peer closed).
 * Returns the count or -errno (-ETIMEDOUT). */
int hp_recv_some(int fd, void *buf, size_t cap, size_t want, int timeout_ms);

/* Forks and execs argv (argv[0] is ignored; s->binary runs) with stdout and stderr appended to
 * s->log_file, stdin from /dev/null, in a new process group, with PR_SET_PDEATHSIG(SIGKILL).
 * Then polls probe every 20 ms until it returns 0, the child exits or timeout_ms pass.
 * Returns 0 (running, s->pid set); -EADDRINUSE when the server exited and its log says the
 * address is in use; -ECHILD when it exited otherwise; -ETIMEDOUT (the child is killed); or the
 * probe's fatal code (the child is killed). err names the log file and its last line. */
int hp_run(struct hp_server *s, char *const argv[], hp_probe_fn probe, void *ctx, int timeout_ms,
           char *err, size_t err_len);
/* Runs a tool to completion (as hp_run spawns a server) and returns its exit status, -ECHILD
 * when a signal ended it, -ETIMEDOUT (it is killed) or -errno. */
int hp_exec_wait(const char *binary, char *const argv[], const char *log_file, int timeout_ms);
/* Reaps the child if it has exited. Returns true while it runs. */
bool hp_alive(struct hp_server *s);
/* SIGTERM to the process group, SIGKILL after timeout_ms; reaps. No-op when stopped. */
void hp_stop(struct hp_server *s, int timeout_ms);
/* SIGKILL to the process group; reaps. No-op when stopped. */
void hp_kill(struct hp_server *s);
void hp_server_fini(struct hp_server *s); /* kills if running, frees strings */

/* Removes dir unless HARNESS_KEEP=1 (then names it on stderr). */
void hp_dir_release(const char *dir);

#endif
