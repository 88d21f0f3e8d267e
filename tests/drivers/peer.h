/* The far side of a link in tests, run on the test's own event loop: a TCP server on a free
 * 127.0.0.1 port accepting one client at a time, or the master side of a pty pair whose slave
 * path the driver opens as a serial port. Received bytes accumulate in `in`; an optional
 * responder callback answers them (a scale, a printer, a PLC). */
#ifndef TESTS_DRIVERS_PEER_H
#define TESTS_DRIVERS_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct peer;

/* Called after bytes arrived (p->in holds everything unconsumed); may peer_send and
 * peer_consume. */
typedef void (*peer_fn)(struct peer *p, void *arg);

struct peer {
    struct loop *loop;
    int listen_fd, fd;
    bool pty;
    uint16_t port;
    char pty_path[128];
    peer_fn fn;
    void *arg;
    size_t in_len;
    uint8_t in[65536];
    uint64_t accepts;
    bool silent; /* drop what arrives without calling fn */
};

int peer_tcp(struct peer *p, struct loop *loop, peer_fn fn, void *arg);
/* A 127.0.0.1 port that refuses connections for as long as the returned socket stays open: it
 * is bound (without SO_REUSEADDR) but never listens, so no other process can listen there and
 * the kernel never picks it as a client's own port (a connect to a closed port in the
 * ephemeral range can otherwise meet itself). Returns the fd, or -errno. */
int peer_refusing_port(uint16_t *port);
int peer_pty(struct peer *p, struct loop *loop, peer_fn fn, void *arg);
void peer_close(struct peer *p);
/* Drops the TCP client (the listener stays). */
void peer_kick(struct peer *p);
void peer_send(struct peer *p, const void *data, size_t len);
void peer_sends(struct peer *p, const char *s);
void peer_consume(struct peer *p, size_t n);
/* Index of the first occurrence of s in p->in, or -1. */
long peer_find(const struct peer *p, const char *s);

#endif
