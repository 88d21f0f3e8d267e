/* TCP client connect for fd links (link.c): a non-blocking connect with TCP_NODELAY, so small
 * device telegrams leave at once. Names are resolved with getaddrinfo at each attempt; numeric
 * addresses never touch the resolver. */
#include "link_private.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int resolve(const struct tr_addr *a, struct sockaddr_storage *ss, socklen_t *sl)
{
    struct addrinfo hints = {0}, *res = NULL;
    char port[8];
    int rc;

    snprintf(port, sizeof(port), "%u", (unsigned)a->port);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    rc = getaddrinfo(a->host, port, &hints, &res);
    if (rc == EAI_NONAME) {
        hints.ai_flags = AI_NUMERICSERV;
        rc = getaddrinfo(a->host, port, &hints, &res);
    }
    if (rc != 0)
        return rc == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sl = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int tcp_connect_start(const struct tr_addr *a, int *fd, bool *in_progress)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int one = 1, s, rc;

    rc = resolve(a, &ss, &sl);
    if (rc < 0)
        return rc;
    s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s, (struct sockaddr *)&ss, sl) == 0) {
        *in_progress = false;
    } else if (errno == EINPROGRESS) {
        *in_progress = true;
    } else {
        rc = -errno;
        close(s);
        return rc;
    }
    *fd = s;
    return 0;
}

int tcp_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}
