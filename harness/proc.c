/* Process, file and socket helpers of the service harness (harness_private.h): free loopback
 * ports, private directories, fork/exec of a server in its own process group that dies with its
 * parent, readiness polling with a deadline, and the SIGTERM-then-SIGKILL stop. */
#include "harness_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void hp_set_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    if (!err || err_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

uint64_t hp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void hp_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

bool hp_keep_requested(void)
{
    const char *k = getenv("HARNESS_KEEP");
    return k && strcmp(k, "1") == 0;
}

char *hp_path(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + 1 + lb + 1);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

/* Returns a malloc'd absolute copy of path when it is executable. Symlinks are not resolved:
 * Debian's redis-server is a link to redis-check-rdb, and messages should name what was asked. */
static char *executable_abs(const char *path)
{
    char cwd[PATH_MAX];
    if (access(path, X_OK) < 0)
        return NULL;
    if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return strdup(path);
    return hp_path(cwd, path);
}

char *hp_find_binary(const char *opt, const char *env, const char *name, const char *fallback_dir)
{
    const char *e = env ? getenv(env) : NULL;
    const char *path;
    char *found = NULL;
    if (opt && *opt)
        return strchr(opt, '/') ? executable_abs(opt) : hp_find_binary(NULL, NULL, opt, NULL);
    if (e && *e)
        return hp_find_binary(e, NULL, name, fallback_dir);
    path = getenv("PATH");
    if (path) {
        char *copy = strdup(path), *save = NULL;
        if (!copy)
            return NULL;
        for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
            char *p = hp_path(*d ? d : ".", name);
            if (p)
                found = executable_abs(p);
            free(p);
        }
        free(copy);
    }
    if (!found && fallback_dir) {
        char *p = hp_path(fallback_dir, name);
        if (p)
            found = executable_abs(p);
        free(p);
    }
    return found;
}

int hp_mkdtemp(const char *parent, const char *what, char **out)
{
    const char *base = parent;
    char *tmpl;
    size_t n;
    if (!base || !*base)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    n = strlen(base) + strlen(what) + sizeof("/wcs-harness--XXXXXX");
    tmpl = malloc(n);
    if (!tmpl)
        return -ENOMEM;
    snprintf(tmpl, n, "%s/wcs-harness-%s-XXXXXX", base, what);
    if (!mkdtemp(tmpl)) {
        int rc = -errno;
        free(tmpl);
        return rc;
    }
    *out = tmpl;
    return 0;
}

int hp_mkdir(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int hp_write_file(const char *path, const char *text, mode_t mode)
{
    size_t len = strlen(text), off = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int rc = 0;
    if (fd < 0)
        return -errno;
    /* An existing file keeps its old mode through O_CREAT: set it explicitly. */
    if (fchmod(fd, mode) < 0)
        rc = -errno;
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            rc = -errno;
        else
            off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int hp_rmtree(const char *path)
{
    int rc = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (rc < 0)
        return errno == ENOENT ? 0 : -errno;
    return rc;
}

int hp_random_hex(char *out, size_t n_bytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    size_t got = 0;
    if (n_bytes > sizeof(b))
        return -EINVAL;
    while (got < n_bytes) {
        ssize_t r = getrandom(b + got, n_bytes - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        got += (size_t)r;
    }
    for (size_t i = 0; i < n_bytes; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n_bytes] = '\0';
    return 0;
}

int hp_free_ports(int *ports, size_t n)
{
    int fds[8];
    int rc = 0;
    size_t opened = 0;
    if (n > sizeof(fds) / sizeof(fds[0]))
        return -EINVAL;
    /* Holding every socket until all are bound makes the ports distinct. */
    for (; opened < n; opened++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        socklen_t alen = sizeof(a);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[opened] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[opened] < 0) {
            rc = -errno;
            break;
        }
        if (bind(fds[opened], (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fds[opened], (struct sockaddr *)&a, &alen) < 0) {
            rc = -errno;
            close(fds[opened]);
            break;
        }
        ports[opened] = ntohs(a.sin_port);
    }
    for (size_t i = 0; i < opened; i++)
        close(fds[i]);
    return rc;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int rc;
    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    if (rc == 0)
        return -ETIMEDOUT;
    return 0;
}

int hp_connect(int port, int timeout_ms)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd, rc, soerr = 0;
    socklen_t slen = sizeof(soerr);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (errno != EINPROGRESS) {
            rc = -errno;
            goto close_fd;
        }
        rc = wait_fd(fd, POLLOUT, timeout_ms);
        if (rc < 0)
            goto close_fd;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) < 0) {
            rc = -errno;
            goto close_fd;
        }
        if (soerr) {
            rc = -soerr;
            goto close_fd;
        }
    }
    return fd;
close_fd:
    close(fd);
    return rc;
}

int hp_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            int rc = wait_fd(fd, POLLOUT, timeout_ms);
            if (rc < 0)
                return rc;
            continue;
        }
        if (w < 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int hp_recv_some(int fd, void *buf, size_t cap, size_t want, int timeout_ms)
{
    uint64_t deadline = hp_now_ms() + (uint64_t)timeout_ms;
    size_t got = 0;
    while (got < want && got < cap) {
        uint64_t now = hp_now_ms();
        int rc;
        ssize_t r;
        if (now >= deadline)
            return -ETIMEDOUT;
        rc = wait_fd(fd, POLLIN, (int)(deadline - now));
        if (rc < 0)
            return rc;
        r = recv(fd, (char *)buf + got, cap - got, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (int)got;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    return (uint64_t)st.st_size;
}

/* Reads the log written since offset `from` (the last 16 KiB of it) into a malloc'd string. */
static char *read_log_since(const char *path, uint64_t from)
{
    uint64_t size = file_size(path);
    size_t n;
    char *buf;
    FILE *f;
    if (size < from)
        from = 0;
    if (size - from > 16384)
        from = size - 16384;
    n = (size_t)(size - from);
    buf = malloc(n + 1);
    if (!buf)
        return NULL;
    f = fopen(path, "rb");
    if (!f || fseek(f, (long)from, SEEK_SET) < 0) {
        n = 0;
    } else {
        n = fread(buf, 1, n, f);
    }
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Copies the last non-empty line of text into out. */
static void last_line(const char *text, char *out, size_t cap)
{
    size_t end = strlen(text), start;
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r'))
        end--;
    start = end;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    snprintf(out, cap, "%.*s", (int)(end - start), text + start);
}

bool hp_alive(struct hp_server *s)
{
    int status;
    pid_t r;
    if (s->pid <= 0)
        return false;
    do {
        r = waitpid(s->pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return true;
    if (r == s->pid)
        s->last_status = status;
    s->pid = 0;
    return false;
}

static bool reap_within(struct hp_server *s, int timeout_ms)
{
    uint64_t deadline = hp_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (!hp_alive(s))
            return true;
        if (hp_now_ms() >= deadline)
            return false;
        hp_sleep_ms(10);
    }
}

void hp_kill(struct hp_server *s)
{
    if (s->pid <= 0)
        return;
    /* The group: a server's own children (an AOF rewrite) must not outlive it. */
    kill(-s->pid, SIGKILL);
    kill(s->pid, SIGKILL);
    while (s->pid > 0) {
        int status;
        pid_t r = waitpid(s->pid, &status, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == s->pid)
            s->last_status = status;
        s->pid = 0;
    }
}

void hp_stop(struct hp_server *s, int timeout_ms)
{
    if (s->pid <= 0)
        return;
    kill(-s->pid, SIGTERM);
    kill(-s->pid, SIGCONT); /* a frozen server (SIGSTOP) acts on the SIGTERM only once going */
    if (!reap_within(s, timeout_ms))
        hp_kill(s);
}

void hp_server_fini(struct hp_server *s)
{
    hp_kill(s);
    free(s->binary);
    free(s->log_file);
    s->binary = NULL;
    s->log_file = NULL;
}

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void child_exec(const char *binary, char *const argv[], const char *log_file, pid_t parent)
{
    sigset_t none;
    int fd;
    setpgid(0, 0);
    /* Die with the parent even when it dies by SIGKILL; the signal follows the forking thread. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL); /* ignored signals stay ignored across exec otherwise */
    fd = open("/dev/null", O_RDONLY);
    if (fd < 0 || dup2(fd, 0) < 0)
        _exit(127);
    fd = open(log_file, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        _exit(127);
    if (close_range(3, ~0u, 0) < 0)
        for (int i = 3; i < 1024; i++)
            close(i);
    execv(binary, argv);
    _exit(127);
}

int hp_run(struct hp_server *s, char *const argv[], hp_probe_fn probe, void *ctx, int timeout_ms,
           char *err, size_t err_len)
{
    char detail[160] = "";
    pid_t parent = getpid(), pid;
    uint64_t deadline;
    int rc;

    s->log_start = file_size(s->log_file);
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        hp_set_err(err, err_len, "%s: fork: %s", s->what, strerror(-rc));
        return rc;
    }
    if (pid == 0)
        child_exec(s->binary, argv, s->log_file, parent);
    /* Also from the parent, so a kill of the group right after fork cannot miss the child. */
    setpgid(pid, pid);
    s->pid = pid;
    deadline = hp_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (!hp_alive(s)) {
            char *log = read_log_since(s->log_file, s->log_start);
            char line[200] = "";
            int st = s->last_status;
            if (log)
                last_line(log, line, sizeof(line));
            /* A port taken since hp_free_ports: redis-server and mosquitto's TCP listener say
             * so; its websockets listener (libwebsockets, silent at mosquitto's log level)
             * only says "Unable to create websockets listener", which is taken as the same. */
            rc = (log && (strstr(log, "Address already in use") ||
                          strstr(log, "Unable to create websockets listener")))
                     ? -EADDRINUSE
                     : -ECHILD;
            free(log);
            hp_set_err(err, err_len, "%s exited at start (%s %d); log %s: %s", s->what,
                       WIFEXITED(st) ? "status" : "signal",
                       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), s->log_file, line);
            return rc;
        }
        rc = probe(ctx, detail, sizeof(detail));
        if (rc == 0 && hp_alive(s))
            return 0;
        if (rc != -EAGAIN && rc != 0) {
            hp_kill(s);
            hp_set_err(err, err_len, "%s does not accept the harness (%s); log %s", s->what, detail,
                       s->log_file);
            return rc;
        }
        if (hp_now_ms() >= deadline) {
            hp_kill(s);
            hp_set_err(err, err_len, "%s did not answer within %d ms (%s); log %s", s->what,
                       timeout_ms, detail[0] ? detail : "no answer", s->log_file);
            return -ETIMEDOUT;
        }
        hp_sleep_ms(20);
    }
}

int hp_exec_wait(const char *binary, char *const argv[], const char *log_file, int timeout_ms)
{
    struct hp_server s = {.what = "tool", .pid = 0};
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child_exec(binary, argv, log_file, parent);
    s.pid = pid;
    if (!reap_within(&s, timeout_ms)) {
        hp_kill(&s);
        return -ETIMEDOUT;
    }
    if (!WIFEXITED(s.last_status))
        return -ECHILD;
    return WEXITSTATUS(s.last_status);
}

void hp_dir_release(const char *dir)
{
    if (!dir)
        return;
    if (hp_keep_requested()) {
        /* The user asked for it with HARNESS_KEEP=1: say where the files are. */
        fprintf(stderr, "harness: kept %s\n", dir);
        return;
    }
    hp_rmtree(dir);
}
