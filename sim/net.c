/* Loopback listeners, pty pairs and the seeded generator shared by the emulators (net.h). */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int net_listen(uint16_t port, uint16_t *bound_port)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int one = 1, rc;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    *bound_port = ntohs(sa.sin_port);
    return fd;
}

int net_accept(int lfd)
{
    int one = 1;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int net_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    int waits = 0;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN && waits++ < 100) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, 1);
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int net_wake_open(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

void net_wake(int fd)
{
    uint64_t one = 1;
    /* EAGAIN: the counter is already non-zero, the thread wakes anyway */
    while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

void net_wake_clear(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

int net_pty_open(int *master_fd, int *keep_slave_fd, char *slave_path, size_t cap)
{
    struct termios tio;
    int rc, m, s;
    const char *name;
    m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (m < 0)
        return -errno;
    if (grantpt(m) < 0 || unlockpt(m) < 0 || !(name = ptsname(m)))
        goto fail_master;
    if (strlen(name) + 1 > cap) {
        errno = ENAMETOOLONG;
        goto fail_master;
    }
    s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0)
        goto fail_master;
    if (tcgetattr(s, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(s, TCSANOW, &tio);
    }
    snprintf(slave_path, cap, "%s", name);
    *master_fd = m;
    *keep_slave_fd = s;
    return 0;
fail_master:
    rc = -errno;
    close(m);
    return rc;
}

void rng_seed(struct sim_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t rng_next(struct sim_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double rng_unit(struct sim_rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double rng_gauss(struct sim_rng *r)
{
    double u1 = rng_unit(r), u2 = rng_unit(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
