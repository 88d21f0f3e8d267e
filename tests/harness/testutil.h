/* Helpers shared by the harness tests: who listens on a port (from /proc/net/tcp and tcp6),
 * whether a process is gone, reading a small file, removing a test's folder. */
#ifndef TESTS_HARNESS_TESTUTIL_H
#define TESTS_HARNESS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Counts listening sockets on a TCP port: bound to 127.0.0.1, and bound to anything else
 * (another IPv4 address, or any IPv6 socket). Returns 0 or -errno. */
int listeners_on_port(int port, int *n_loopback, int *n_other);
/* True when pid no longer runs (absent, or a zombie waiting for its reaper). */
bool process_gone(pid_t pid);
/* Polls process_gone for up to timeout_ms. */
bool process_gone_within(pid_t pid, int timeout_ms);
/* Reads up to cap-1 bytes of path into buf, NUL-terminated. Returns the length or -errno. */
int read_small_file(const char *path, char *buf, size_t cap);

#endif
