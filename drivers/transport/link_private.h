/* Private to drivers/: the shape every link implementation shares. A link is a `struct link`
 * header (ops, loop, callbacks, counters) embedded first in the implementation's struct, so
 * the generic functions in link.c dispatch through the const ops table of its kind. */
#ifndef DRIVERS_LINK_PRIVATE_H
#define DRIVERS_LINK_PRIVATE_H

#include "drivers/transport.h"

struct link_ops {
    const char *kind;
    int (*write)(struct link *k, const void *data, size_t len);
    void (*reset)(struct link *k, int rc);
    void (*close)(struct link *k); /* frees the implementation */
    size_t (*pending)(const struct link *k);
};

struct link {
    const struct link_ops *ops;
    struct loop *loop;
    struct link_cbs cbs;
    void *arg;
    enum link_state state;
    struct link_stats stats;
};

/* Fills in the defaults of unset option fields. Returns 0 or -EINVAL. */
int link_opts_resolve(const struct link_opts *in, struct link_opts *out);

/* Records a state change and reports it to the owner when it is one. */
void link_set_state(struct link *k, enum link_state st, int rc);

/* Hands received bytes to the owner (counted). */
void link_deliver(struct link *k, const uint8_t *data, size_t len);

/* Starts a non-blocking TCP connect to a. Returns 0 with *fd set and *in_progress telling
 * whether the connect is still running (wait for writability), or a negative errno. (tcp.c) */
int tcp_connect_start(const struct tr_addr *a, int *fd, bool *in_progress);
/* Returns the pending error of a connecting socket (0 when connected). (tcp.c) */
int tcp_connect_result(int fd);

/* Opens a serial device non-blocking in raw mode with a's line settings. Returns 0 with *fd
 * set, or a negative errno. (serial.c) */
int serial_open_fd(const struct tr_addr *a, int *fd);

#endif
