/* The PLC stand-in of plcsim.h: libmodbus server mode (modbus_tcp_accept on our own listening
 * socket so a free port can be chosen, modbus_receive / modbus_reply on a mapping guarded by a
 * mutex the test shares). */
#include "plcsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct plcsim {
    modbus_t *ctx;
    modbus_mapping_t *map;
    pthread_mutex_t mu;
    pthread_t thread, hb_thread;
    _Atomic bool stop;
    int listen_fd, client_fd;
    uint16_t port;
    _Atomic bool exception, silent;
    _Atomic uint32_t write_delay_ms;
    _Atomic uint32_t restart_ms;
    _Atomic uint32_t hb_period_ms;
    _Atomic uint16_t hb_addr;
    plcsim_hook hook;
    void *hook_arg;
    struct plcsim_write log[PLCSIM_LOG];
    size_t n_log;
    _Atomic uint64_t reads, accepts;
    uint64_t rx_us;
};

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int listen_on(uint16_t port, uint16_t *bound)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

static void drop_client(struct plcsim *s)
{
    if (s->client_fd >= 0) {
        close(s->client_fd);
        s->client_fd = -1;
        modbus_set_socket(s->ctx, -1);
    }
}

static void serve_one(struct plcsim *s)
{
    uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
    int rc = modbus_receive(s->ctx, req);
    int hl = modbus_get_header_length(s->ctx);
    int fn;
    uint16_t addr;

    if (rc <= 0) {
        if (rc < 0)
            drop_client(s);
        return;
    }
    if (atomic_load(&s->silent))
        return;
    s->rx_us = mono_us();
    fn = req[hl];
    if (fn == MODBUS_FC_WRITE_MULTIPLE_REGISTERS && atomic_load(&s->write_delay_ms))
        usleep(atomic_load(&s->write_delay_ms) * 1000u); /* outside the lock: still readable */
    addr = (uint16_t)(req[hl + 1] << 8 | req[hl + 2]);
    pthread_mutex_lock(&s->mu);
    if (fn == MODBUS_FC_READ_HOLDING_REGISTERS && atomic_load(&s->exception)) {
        modbus_reply_exception(s->ctx, req, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
    } else {
        modbus_reply(s->ctx, req, rc, s->map);
        if (fn == MODBUS_FC_READ_HOLDING_REGISTERS)
            atomic_fetch_add(&s->reads, 1);
        if (fn == MODBUS_FC_WRITE_MULTIPLE_REGISTERS) {
            int n = req[hl + 3] << 8 | req[hl + 4];
            struct plcsim_write *w = &s->log[s->n_log % PLCSIM_LOG];
            w->addr = addr;
            w->n = (uint16_t)n;
            w->at_us = mono_us();
            for (int i = 0; i < n && i < PLCSIM_WRITE_MAX; i++)
                w->regs[i] = s->map->tab_registers[addr + i];
            s->n_log++;
        }
        if (s->hook)
            s->hook(s, fn, addr,
                    fn == MODBUS_FC_WRITE_MULTIPLE_REGISTERS ? &s->map->tab_registers[addr] : NULL,
                    req[hl + 3] << 8 | req[hl + 4], s->hook_arg);
    }
    pthread_mutex_unlock(&s->mu);
}

static void *server(void *arg)
{
    struct plcsim *s = arg;

    while (!atomic_load(&s->stop)) {
        uint32_t down = atomic_exchange(&s->restart_ms, 0);
        if (down) {
            uint16_t p;
            drop_client(s);
            close(s->listen_fd);
            usleep(down * 1000u);
            s->listen_fd = listen_on(s->port, &p);
            if (s->listen_fd < 0)
                return NULL;
            continue;
        }
        if (s->client_fd < 0) {
            struct pollfd pf = {s->listen_fd, POLLIN, 0};
            if (poll(&pf, 1, 20) == 1) {
                s->client_fd = modbus_tcp_accept(s->ctx, &s->listen_fd);
                if (s->client_fd >= 0)
                    atomic_fetch_add(&s->accepts, 1);
            }
            continue;
        }
        struct pollfd pf = {s->client_fd, POLLIN, 0};
        if (poll(&pf, 1, 20) == 1)
            serve_one(s);
    }
    drop_client(s);
    return NULL;
}

static void *ticker(void *arg)
{
    struct plcsim *s = arg;

    while (!atomic_load(&s->stop)) {
        uint32_t p = atomic_load(&s->hb_period_ms);
        usleep((p ? p : 5) * 1000u);
        if (p) {
            uint16_t a = atomic_load(&s->hb_addr);
            pthread_mutex_lock(&s->mu);
            s->map->tab_registers[a]++;
            pthread_mutex_unlock(&s->mu);
        }
    }
    return NULL;
}

int plcsim_start(struct plcsim **out, uint16_t port)
{
    struct plcsim *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->ctx = modbus_new_tcp("127.0.0.1", 502);
    s->map = modbus_mapping_new(0, 0, PLCSIM_REGS, 0);
    pthread_mutex_init(&s->mu, NULL);
    s->client_fd = -1;
    s->listen_fd = listen_on(port, &s->port);
    if (!s->ctx || !s->map || s->listen_fd < 0) {
        int rc = s->listen_fd < 0 ? s->listen_fd : -ENOMEM;
        if (s->map)
            modbus_mapping_free(s->map);
        if (s->ctx)
            modbus_free(s->ctx);
        free(s);
        return rc;
    }
    pthread_create(&s->thread, NULL, server, s);
    pthread_create(&s->hb_thread, NULL, ticker, s);
    *out = s;
    return 0;
}

void plcsim_stop(struct plcsim *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    pthread_join(s->hb_thread, NULL);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    modbus_mapping_free(s->map);
    modbus_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

uint16_t plcsim_port(const struct plcsim *s)
{
    return s->port;
}

void plcsim_set_hook(struct plcsim *s, plcsim_hook hook, void *arg)
{
    pthread_mutex_lock(&s->mu);
    s->hook = hook;
    s->hook_arg = arg;
    pthread_mutex_unlock(&s->mu);
}

void plcsim_set(struct plcsim *s, uint16_t addr, uint16_t value)
{
    pthread_mutex_lock(&s->mu);
    s->map->tab_registers[addr] = value;
    pthread_mutex_unlock(&s->mu);
}

uint16_t plcsim_get(struct plcsim *s, uint16_t addr)
{
    uint16_t v;
    pthread_mutex_lock(&s->mu);
    v = s->map->tab_registers[addr];
    pthread_mutex_unlock(&s->mu);
    return v;
}

void plcsim_set_locked(struct plcsim *s, uint16_t addr, uint16_t value)
{
    s->map->tab_registers[addr] = value;
}

uint16_t plcsim_get_locked(struct plcsim *s, uint16_t addr)
{
    return s->map->tab_registers[addr];
}

void plcsim_set_text(struct plcsim *s, uint16_t addr, const char *text, uint16_t nregs)
{
    size_t n = strlen(text);

    pthread_mutex_lock(&s->mu);
    for (uint16_t i = 0; i < nregs; i++) {
        uint8_t hi = 2u * i < n ? (uint8_t)text[2 * i] : 0;
        uint8_t lo = 2u * i + 1 < n ? (uint8_t)text[2 * i + 1] : 0;
        s->map->tab_registers[addr + i] = (uint16_t)(hi << 8 | lo);
    }
    pthread_mutex_unlock(&s->mu);
}

void plcsim_heartbeat(struct plcsim *s, uint16_t addr, uint32_t period_ms)
{
    atomic_store(&s->hb_addr, addr);
    atomic_store(&s->hb_period_ms, period_ms);
}

void plcsim_set_exception(struct plcsim *s, bool on)
{
    atomic_store(&s->exception, on);
}

void plcsim_set_write_delay(struct plcsim *s, uint32_t delay_ms)
{
    atomic_store(&s->write_delay_ms, delay_ms);
}

void plcsim_set_block(struct plcsim *s, uint16_t addr, const uint16_t *regs, uint16_t n)
{
    pthread_mutex_lock(&s->mu);
    memcpy(&s->map->tab_registers[addr], regs, n * sizeof(*regs));
    pthread_mutex_unlock(&s->mu);
}

void plcsim_set_silent(struct plcsim *s, bool on)
{
    atomic_store(&s->silent, on);
}

void plcsim_restart(struct plcsim *s, uint32_t down_ms)
{
    atomic_store(&s->restart_ms, down_ms ? down_ms : 1);
    usleep((down_ms + 60) * 1000u);
}

size_t plcsim_writes(struct plcsim *s, struct plcsim_write *out, size_t cap)
{
    size_t n, first;

    pthread_mutex_lock(&s->mu);
    n = s->n_log;
    first = n > PLCSIM_LOG ? n - PLCSIM_LOG : 0;
    for (size_t i = first, k = 0; i < n && k < cap; i++, k++)
        out[k] = s->log[i % PLCSIM_LOG];
    pthread_mutex_unlock(&s->mu);
    return n - first;
}

uint64_t plcsim_rx_us_locked(struct plcsim *s)
{
    return s->rx_us;
}

uint64_t plcsim_reads(struct plcsim *s)
{
    return atomic_load(&s->reads);
}

uint64_t plcsim_accepts(struct plcsim *s)
{
    return atomic_load(&s->accepts);
}
