/* Socket helpers (base/sock.h). */
#include "base/sock.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

static uint16_t peer_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t n = sizeof(a);
    int type = 0;
    socklen_t tn = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tn) != 0 || type != SOCK_STREAM)
        return 0;
    if (getpeername(fd, (struct sockaddr *)&a, &n) != 0)
        return 0;
    if (a.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&a)->sin_port);
    if (a.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
    return 0;
}

int sock_nodelay_peers(uint16_t port)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        struct stat st;
        uint16_t p;
        int one = 1;
        if (*end || end == e->d_name || fd < 0 || fd == dirfd(d))
            continue;
        if (fstat((int)fd, &st) != 0 || !S_ISSOCK(st.st_mode))
            continue;
        p = peer_port((int)fd);
        if (p == 0 || (port != 0 && p != port))
            continue;
        if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
            n++;
    }
    closedir(d);
    return n;
}

uint16_t sock_uri_port(const char *uri)
{
    const char *host, *colon, *end;
    unsigned long v;
    if (!uri)
        return 0;
    host = strstr(uri, "://");
    host = host ? host + 3 : uri;
    end = host + strcspn(host, "/?#");
    colon = NULL;
    if (host[0] == '[') {
        /* "[v6]:port": the address's own colons are inside the brackets */
        const char *rb = memchr(host, ']', (size_t)(end - host));
        if (rb && rb + 1 < end && rb[1] == ':')
            colon = rb + 1;
    } else {
        for (const char *p = host; p < end; p++)
            if (*p == ':')
                colon = p;
    }
    if (!colon)
        return 0;
    if (colon + 1 >= end)
        return 0;
    v = 0;
    for (const char *p = colon + 1; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > 65535)
            return 0;
    }
    return (uint16_t)v;
}
