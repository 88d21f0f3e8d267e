/* MT-SICS scale emulator (sim/include/sim/scale.h): connections (TCP clients and the pty
 * master), one pending wait-for-stability command per connection, and the weight model. */
#include "sim/scale.h"
#include "sim/sics.h"

#include "base/err.h"
#include "net.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CONN_MAX = 9, INBUF = 128 };

struct conn {
    int fd;
    bool is_pty;
    char in[INBUF];
    size_t len;
    bool overflow;
    int pending;          /* SICS_S, SICS_Z or SICS_T waiting for stability; 0: none */
    uint64_t deadline_us; /* of the pending command */
};

struct sim_scale {
    struct sim_scale_cfg cfg;
    const struct wcs_clock *clk;
    pthread_mutex_t mu;
    pthread_t thread;
    atomic_bool stop;
    int wake; /* net_wake_open: stop */
    int lfd, pty_keep;
    uint16_t port;
    char pty_path[64];
    struct conn conns[CONN_MAX]; /* [0] is the pty when serial */
    struct sim_rng rng;
    uint64_t start_us, change_us;
    int64_t from_mg, load_mg, zero_mg, tare_mg;
    bool unstable;
    struct sim_scale_counters c;
};

void sim_scale_cfg_defaults(struct sim_scale_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->clock = clock_system();
    cfg->tcp = true;
    cfg->capacity_mg = 30000000;
    cfg->underload_mg = 200000;
    cfg->resolution_mg = 10;
    cfg->noise_mg = 5;
    cfg->settle_ms = 800;
    cfg->stable_timeout_ms = 3000;
    cfg->zero_range_mg = 600000;
    snprintf(cfg->serial_no, sizeof(cfg->serial_no), "0123456789");
    cfg->seed = 1;
}

static bool is_stable(struct sim_scale *s, uint64_t now)
{
    return !s->unstable && now - s->change_us >= (uint64_t)s->cfg.settle_ms * 1000u;
}

/* The gross reading now, relative to the zero point: the settling ramp, drift and noise. */
static int64_t gross_mg(struct sim_scale *s, uint64_t now)
{
    double v, el = (double)(now - s->change_us), settle = (double)s->cfg.settle_ms * 1000.0;
    double noise = s->cfg.noise_mg;
    if (el < settle) {
        v = (double)s->from_mg + (double)(s->load_mg - s->from_mg) * (el / settle);
        noise *= 5; /* a moving platform reads far noisier */
    } else {
        v = (double)s->load_mg;
    }
    if (s->unstable)
        noise *= 5;
    v += s->cfg.drift_mg_per_min * (double)(now - s->start_us) / 60e6;
    v += noise * rng_gauss(&s->rng);
    return (int64_t)llround(v) - s->zero_mg;
}

static void send_line(struct sim_scale *s, struct conn *c, const char *line)
{
    char buf[96];
    int n = snprintf(buf, sizeof(buf), "%s\r\n", line);
    if (net_write_all(c->fd, buf, (size_t)n) < 0 && !c->is_pty) {
        close(c->fd);
        c->fd = -1;
    }
    (void)s;
}

/* Answers a weight command if it can now; returns false when it must keep waiting. */
static bool answer(struct sim_scale *s, struct conn *c, int cmd, uint64_t now, bool timed_out)
{
    char line[64];
    const char *name = cmd == SICS_SI ? "S" : cmd == SICS_T ? "T" : cmd == SICS_ZI ? "ZI" : "S";
    int64_t g = gross_mg(s, now), net = g - s->tare_mg;
    int64_t over = s->cfg.capacity_mg + 9 * (int64_t)s->cfg.resolution_mg;
    bool stable = is_stable(s, now);
    if (cmd == SICS_Z) {
        int64_t target = g + s->zero_mg; /* absolute gross before this zero */
        if (!stable && !timed_out)
            return false;
        if (!stable) {
            s->c.not_executable++;
            send_line(s, c, "Z I");
        } else if (target > s->cfg.zero_range_mg) {
            send_line(s, c, "Z +");
        } else if (target < -s->cfg.zero_range_mg) {
            send_line(s, c, "Z -");
        } else {
            s->zero_mg = target;
            s->tare_mg = 0;
            s->c.zeros++;
            send_line(s, c, "Z A");
        }
        return true;
    }
    if (g > over) {
        s->c.overloads++;
        snprintf(line, sizeof(line), "%s +", name);
        send_line(s, c, line);
        return true;
    }
    if (g < -s->cfg.underload_mg) {
        s->c.underloads++;
        snprintf(line, sizeof(line), "%s -", name);
        send_line(s, c, line);
        return true;
    }
    if (cmd == SICS_SI || cmd == SICS_ZI) {
        if (cmd == SICS_ZI) {
            s->zero_mg += g;
            s->tare_mg = 0;
            s->c.zeros++;
            send_line(s, c, stable ? "ZI S" : "ZI D");
            return true;
        }
        sics_fmt_weight(line, sizeof(line), "S", stable ? 'S' : 'D', net, s->cfg.resolution_mg);
        if (stable)
            s->c.weights_stable++;
        else
            s->c.weights_dynamic++;
        send_line(s, c, line);
        return true;
    }
    if (!stable && !timed_out)
        return false;
    if (!stable) {
        s->c.not_executable++;
        snprintf(line, sizeof(line), "%s I", name);
        send_line(s, c, line);
        return true;
    }
    if (cmd == SICS_T) {
        if (g <= 0) {
            send_line(s, c, "T -");
            return true;
        }
        s->tare_mg = g;
        s->c.tares++;
        sics_fmt_weight(line, sizeof(line), "T", 'S', g, s->cfg.resolution_mg);
    } else {
        s->c.weights_stable++;
        sics_fmt_weight(line, sizeof(line), "S", 'S', net, s->cfg.resolution_mg);
    }
    send_line(s, c, line);
    return true;
}

static void on_line(struct sim_scale *s, struct conn *c, const char *line, size_t len, uint64_t now)
{
    char reply[64];
    int cmd = sics_parse(line, len);
    s->c.commands++;
    if (cmd == WCS_E_SYNTAX) {
        s->c.syntax_errors++;
        send_line(s, c, "ES");
        return;
    }
    if (cmd == WCS_E_RANGE) {
        s->c.logic_errors++;
        send_line(s, c, "EL");
        return;
    }
    switch (cmd) {
    case SICS_I4:
    case SICS_RESET:
        if (cmd == SICS_RESET)
            s->tare_mg = 0;
        snprintf(reply, sizeof(reply), "I4 A \"%s\"", s->cfg.serial_no);
        send_line(s, c, reply);
        break;
    case SICS_TAC:
        s->tare_mg = 0;
        send_line(s, c, "TAC A");
        break;
    case SICS_S:
    case SICS_Z:
    case SICS_T:
        if (!answer(s, c, cmd, now, false)) {
            c->pending = cmd;
            c->deadline_us = now + (uint64_t)s->cfg.stable_timeout_ms * 1000u;
        }
        break;
    default:
        answer(s, c, cmd, now, false);
        break;
    }
}

/* Splits the input into lines (CR LF, or a bare LF/CR) and runs them while nothing waits. */
static void drain_lines(struct sim_scale *s, struct conn *c, uint64_t now)
{
    while (c->fd >= 0 && !c->pending) {
        size_t i = 0;
        while (i < c->len && c->in[i] != '\r' && c->in[i] != '\n')
            i++;
        if (i == c->len)
            break;
        if (c->overflow)
            c->overflow = false; /* the tail of an over-long line: already answered ES */
        else
            on_line(s, c, c->in, i, now);
        while (i < c->len && (c->in[i] == '\r' || c->in[i] == '\n'))
            i++;
        memmove(c->in, c->in + i, c->len - i);
        c->len -= i;
    }
}

static void on_readable(struct sim_scale *s, struct conn *c, uint64_t now)
{
    ssize_t n = read(c->fd, c->in + c->len, INBUF - c->len);
    if (n <= 0) {
        if (!c->is_pty && (n == 0 || (errno != EAGAIN && errno != EINTR))) {
            close(c->fd);
            c->fd = -1;
        }
        return;
    }
    c->len += (size_t)n;
    drain_lines(s, c, now);
    if (c->len == INBUF) {
        /* A line longer than any command: answer once and skip to its end. */
        s->c.syntax_errors++;
        send_line(s, c, "ES");
        c->len = 0;
        c->overflow = true;
    }
}

static void *scale_thread(void *arg)
{
    struct sim_scale *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd[CONN_MAX + 2];
        int idx[CONN_MAX + 2], n = 0, wait_ms = -1;
        uint64_t now;
        pthread_mutex_lock(&s->mu);
        pfd[n] = (struct pollfd){.fd = s->wake, .events = POLLIN};
        idx[n++] = -2;
        if (s->lfd >= 0) {
            pfd[n] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
            idx[n++] = -1;
        }
        for (int i = 0; i < CONN_MAX; i++) {
            if (s->conns[i].fd >= 0) {
                pfd[n] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
                idx[n++] = i;
                /* A command waiting for stability is looked at every millisecond; otherwise
                 * only client bytes or the wake fd (stop) wake the thread: a floor of idle
                 * scales must not cost a core in wake-ups. */
                if (s->conns[i].pending)
                    wait_ms = 1;
            }
        }
        pthread_mutex_unlock(&s->mu);
        poll(pfd, (nfds_t)n, wait_ms);
        pthread_mutex_lock(&s->mu);
        now = clock_mono_us(s->clk);
        for (int k = 0; k < n; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (idx[k] == -2) {
                net_wake_clear(s->wake);
            } else if (idx[k] < 0) {
                int fd;
                while ((fd = net_accept(s->lfd)) >= 0) {
                    int i = s->cfg.serial ? 1 : 0;
                    while (i < CONN_MAX && s->conns[i].fd >= 0)
                        i++;
                    if (i == CONN_MAX) {
                        close(fd);
                        continue;
                    }
                    memset(&s->conns[i], 0, sizeof(s->conns[i]));
                    s->conns[i].fd = fd;
                }
            } else if (s->conns[idx[k]].fd == pfd[k].fd) {
                on_readable(s, &s->conns[idx[k]], now);
            }
        }
        for (int i = 0; i < CONN_MAX; i++) {
            struct conn *c = &s->conns[i];
            if (c->fd < 0 || !c->pending)
                continue;
            if (answer(s, c, c->pending, now, now >= c->deadline_us)) {
                c->pending = 0;
                drain_lines(s, c, now);
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

int sim_scale_open(struct sim_scale **out, const struct sim_scale_cfg *cfg)
{
    struct sim_scale *s;
    int rc, m;
    if (!cfg->clock || (!cfg->tcp && !cfg->serial) || cfg->capacity_mg <= 0 ||
        cfg->underload_mg < 0 || cfg->noise_mg < 0 || cfg->zero_range_mg < 0 ||
        (cfg->resolution_mg != 1 && cfg->resolution_mg != 10 && cfg->resolution_mg != 100 &&
         cfg->resolution_mg != 1000) ||
        cfg->capacity_mg > 9999999999LL || strnlen(cfg->serial_no, 16) == 16)
        return WCS_E_CONFIG;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    s->clk = cfg->clock;
    s->lfd = s->pty_keep = s->wake = -1;
    for (int i = 0; i < CONN_MAX; i++)
        s->conns[i].fd = -1;
    rng_seed(&s->rng, cfg->seed);
    s->start_us = s->change_us = clock_mono_us(s->clk);
    if (cfg->tcp) {
        if ((rc = net_listen(cfg->port, &s->port)) < 0)
            goto fail_listen;
        s->lfd = rc;
    }
    if (cfg->serial) {
        if ((rc = net_pty_open(&m, &s->pty_keep, s->pty_path, sizeof(s->pty_path))) < 0)
            goto fail_pty;
        s->conns[0].fd = m;
        s->conns[0].is_pty = true;
    }
    if ((rc = net_wake_open()) < 0)
        goto fail_mutex;
    s->wake = rc;
    if ((rc = -pthread_mutex_init(&s->mu, NULL)) < 0)
        goto fail_mutex;
    atomic_init(&s->stop, false);
    if ((rc = -pthread_create(&s->thread, NULL, scale_thread, s)) < 0)
        goto fail_thread;
    *out = s;
    return 0;
fail_thread:
    pthread_mutex_destroy(&s->mu);
fail_mutex:
    if (s->wake >= 0)
        close(s->wake);
    if (cfg->serial) {
        close(s->conns[0].fd);
        close(s->pty_keep);
    }
fail_pty:
    if (s->lfd >= 0)
        close(s->lfd);
fail_listen:
    free(s);
    return rc;
}

void sim_scale_close(struct sim_scale *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    net_wake(s->wake);
    pthread_join(s->thread, NULL);
    close(s->wake);
    for (int i = 0; i < CONN_MAX; i++)
        if (s->conns[i].fd >= 0)
            close(s->conns[i].fd);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->pty_keep >= 0)
        close(s->pty_keep);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

uint16_t sim_scale_port(const struct sim_scale *s)
{
    return s->port;
}

const char *sim_scale_pty_path(const struct sim_scale *s)
{
    return s->pty_path;
}

void sim_scale_set_load(struct sim_scale *s, int64_t load_mg)
{
    uint64_t now;
    pthread_mutex_lock(&s->mu);
    now = clock_mono_us(s->clk);
    /* A change during settling starts from where the platform is now (noise-free). */
    if (now - s->change_us < (uint64_t)s->cfg.settle_ms * 1000u)
        s->from_mg = s->from_mg +
                     (int64_t)((double)(s->load_mg - s->from_mg) * (double)(now - s->change_us) /
                               ((double)s->cfg.settle_ms * 1000.0));
    else
        s->from_mg = s->load_mg;
    s->load_mg = load_mg;
    s->change_us = now;
    pthread_mutex_unlock(&s->mu);
}

void sim_scale_set_unstable(struct sim_scale *s, bool on)
{
    pthread_mutex_lock(&s->mu);
    s->unstable = on;
    pthread_mutex_unlock(&s->mu);
}

void sim_scale_counters(struct sim_scale *s, struct sim_scale_counters *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->c;
    pthread_mutex_unlock(&s->mu);
}
