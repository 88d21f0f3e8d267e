/* Socket helpers for libraries that open their own sockets. */
#ifndef BASE_SOCK_H
#define BASE_SOCK_H

#include <stdint.h>

/* Sets TCP_NODELAY on every TCP socket of this process whose peer's port is `port` (0: every
 * TCP socket). For libraries with no option for it (paho.mqtt.c): with Nagle's algorithm on, a
 * small message written while an earlier one is unacknowledged waits for the peer's delayed
 * ACK, up to 40 ms on Linux, so a request-reply over MQTT at low traffic took tens of
 * milliseconds. Safe to call from any thread at any time (a socket already set is set again).
 * Returns how many sockets it set, or -errno if /proc/self/fd cannot be read. */
int sock_nodelay_peers(uint16_t port);

/* The port of an MQTT/URL-style address "scheme://host:port" or "host:port" ("[v6]:port"
 * too); 0 when there is none. Pure. */
uint16_t sock_uri_port(const char *uri);

#endif
