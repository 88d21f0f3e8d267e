/* Test peers of peer.h: a loop-driven TCP server and pty master. */
#include "peer.h"

#include "base/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_client(struct loop *l, int fd, unsigned ev, void *arg)
{
    struct peer *p = arg;

    for (;;) {
        ssize_t n = read(fd, p->in + p->in_len, sizeof(p->in) - p->in_len);
        if (n > 0) {
            if (p->silent)
                continue;
            p->in_len += (size_t)n;
            if (p->fn)
                p->fn(p, p->arg);
            if (p->fd != fd)
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || (p->pty && errno == EIO)))
            return;
        if (!p->pty) /* the client closed */
            peer_kick(p);
        return;
    }
}

static void on_accept(struct loop *l, int fd, unsigned ev, void *arg)
{
    struct peer *p = arg;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (c < 0)
        return;
    if (p->fd >= 0)
        peer_kick(p);
    p->fd = c;
    p->accepts++;
    p->in_len = 0;
    loop_add_fd(l, c, LOOP_READ, on_client, p);
}

int peer_tcp(struct peer *p, struct loop *loop, peer_fn fn, void *arg)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    int one = 1;

    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->fn = fn;
    p->arg = arg;
    p->fd = -1;
    p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->listen_fd < 0)
        return -errno;
    setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(p->listen_fd, 4) < 0 ||
        getsockname(p->listen_fd, (struct sockaddr *)&sa, &sl) < 0)
        return -errno;
    p->port = ntohs(sa.sin_port);
    return loop_add_fd(loop, p->listen_fd, LOOP_READ, on_accept, p);
}

int peer_refusing_port(uint16_t *port)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int peer_pty(struct peer *p, struct loop *loop, peer_fn fn, void *arg)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->fn = fn;
    p->arg = arg;
    p->pty = true;
    p->listen_fd = -1;
    p->fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (p->fd < 0 || grantpt(p->fd) < 0 || unlockpt(p->fd) < 0 ||
        ptsname_r(p->fd, p->pty_path, sizeof(p->pty_path)) != 0)
        return -errno;
    return loop_add_fd(loop, p->fd, LOOP_READ, on_client, p);
}

void peer_kick(struct peer *p)
{
    if (p->fd >= 0 && !p->pty) {
        loop_del_fd(p->loop, p->fd);
        close(p->fd);
        p->fd = -1;
    }
}

void peer_close(struct peer *p)
{
    if (p->fd >= 0) {
        loop_del_fd(p->loop, p->fd);
        close(p->fd);
        p->fd = -1;
    }
    if (p->listen_fd >= 0) {
        loop_del_fd(p->loop, p->listen_fd);
        close(p->listen_fd);
        p->listen_fd = -1;
    }
}

void peer_send(struct peer *p, const void *data, size_t len)
{
    const uint8_t *d = data;

    while (len > 0 && p->fd >= 0) {
        ssize_t n = write(p->fd, d, len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return;
        d += n;
        len -= (size_t)n;
    }
}

void peer_sends(struct peer *p, const char *s)
{
    peer_send(p, s, strlen(s));
}

void peer_consume(struct peer *p, size_t n)
{
    if (n > p->in_len)
        n = p->in_len;
    memmove(p->in, p->in + n, p->in_len - n);
    p->in_len -= n;
}

long peer_find(const struct peer *p, const char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i + n <= p->in_len; i++)
        if (memcmp(p->in + i, s, n) == 0)
            return (long)i;
    return -1;
}
