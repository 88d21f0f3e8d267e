/* Private helpers of the emulators: loopback TCP listeners, pty pairs standing in for serial
 * lines, and a seeded random generator. Not installed; only the sources of sim/ include it. */
#ifndef SIM_NET_H
#define SIM_NET_H

#include <stddef.h>
#include <stdint.h>

/* Listens on 127.0.0.1:port (0: a free port) with SO_REUSEADDR, non-blocking, CLOEXEC.
 * Returns the fd and sets *bound_port, or a negative errno. */
int net_listen(uint16_t port, uint16_t *bound_port);
/* Accepts one client, non-blocking, CLOEXEC, TCP_NODELAY. Returns the fd or a negative errno
 * (-EAGAIN when no client is waiting). */
int net_accept(int lfd);
/* Writes all of buf or fails: retries short writes for up to ~100 ms of EAGAIN, then gives up.
 * Returns 0 or a negative errno. */
int net_write_all(int fd, const void *buf, size_t len);

/* A wake-up for an emulator thread blocked in poll without a timeout (an eventfd, non-blocking,
 * CLOEXEC): the thread polls the fd for POLLIN; net_wake makes it readable (stop, or a client
 * closed by an API call), net_wake_clear reads it empty. net_wake_open returns the fd or a
 * negative errno. */
int net_wake_open(void);
void net_wake(int fd);
void net_wake_clear(int fd);

/* Opens a pty pair for a serial emulator: the master (non-blocking, kept by the emulator) and
 * the slave path the device driver opens. The slave is put in raw mode and the emulator keeps
 * one slave fd open so the master never sees a hang-up while the client reopens it.
 * Returns 0, or a negative errno. */
int net_pty_open(int *master_fd, int *keep_slave_fd, char *slave_path, size_t cap);

/* Deterministic generator (splitmix64): the same seed gives the same sequence everywhere. */
struct sim_rng {
    uint64_t s;
};
void rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t rng_next(struct sim_rng *r);
/* Uniform in [0, 1). */
double rng_unit(struct sim_rng *r);
/* Standard normal (Box-Muller). */
double rng_gauss(struct sim_rng *r);

#endif
