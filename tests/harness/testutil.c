/* Helpers shared by the harness tests (testutil.h). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Lines of /proc/net/tcp{,6}: "sl local_address rem_address st ..." with hex addr:port. */
static int scan(const char *path, bool v6, int port, int *n_loopback, int *n_other)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    if (!fgets(line, sizeof(line), f)) { /* header */
        fclose(f);
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        char local[64], remote[64];
        unsigned st, lport;
        char *colon;
        if (sscanf(line, "%*s %63s %63s %x", local, remote, &st) != 3 || st != 0x0A)
            continue;
        colon = strrchr(local, ':');
        if (!colon || sscanf(colon + 1, "%x", &lport) != 1 || (int)lport != port)
            continue;
        *colon = '\0';
        if (!v6 && strcmp(local, "0100007F") == 0)
            (*n_loopback)++;
        else
            (*n_other)++;
    }
    fclose(f);
    return 0;
}

int listeners_on_port(int port, int *n_loopback, int *n_other)
{
    int rc;
    *n_loopback = 0;
    *n_other = 0;
    rc = scan("/proc/net/tcp", false, port, n_loopback, n_other);
    if (rc == 0)
        rc = scan("/proc/net/tcp6", true, port, n_loopback, n_other);
    return rc;
}

bool process_gone(pid_t pid)
{
    char path[64], buf[512];
    const char *p;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if (read_small_file(path, buf, sizeof(buf)) < 0)
        return true;
    /* "pid (comm) S ...": the state follows the last ')'. */
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

bool process_gone_within(pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 20000000L};
        if (process_gone(pid))
            return true;
        nanosleep(&ts, NULL);
    }
    return false;
}

int read_small_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    if (fd < 0)
        return -errno;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return (int)n;
}
