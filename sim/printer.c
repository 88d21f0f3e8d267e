/* Label printer emulator (sim/include/sim/printer.h): raw TCP clients, the ZPL stream split by
 * zpl_next(), formats printed (files written) or held, and the ~HS / ~HQES replies of the
 * ZPL II Programming Guide ("~HS Host Status Return", "~HQ Host Query" ES flag tables). */
#include "sim/printer.h"
#include "sim/zpl.h"

#include "base/err.h"
#include "net.h"
#include "render.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    CLIENTS_MAX = 8,
    CLIENT_BUF = 256 * 1024, /* one format may not exceed this */
    LABELS_MAX = 100000,     /* label records kept */
};

/* ~HQES error bits (group 1). */
enum { HQ_MEDIA_OUT = 0x1, HQ_HEAD_OPEN = 0x4, HQ_PAUSED = 0x10000 };

struct client {
    int fd;
    uint8_t *buf;
    size_t len;
};

struct held {
    char *zpl;
    size_t len;
};

struct sim_printer {
    struct sim_printer_cfg cfg;
    pthread_mutex_t mu;
    pthread_t thread;
    atomic_bool stop;
    int wake; /* net_wake_open: stop */
    int lfd;
    uint16_t port;
    struct client cl[CLIENTS_MAX];
    bool paper_out, head_open, paused;
    struct held *held;
    unsigned n_held;
    struct zpl_label *scratch;
    struct sim_printer_label *labels;
    unsigned n_labels, cap_labels;
    struct sim_printer_counters c;
};

void sim_printer_cfg_defaults(struct sim_printer_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->out_dir, sizeof(cfg->out_dir), ".");
    cfg->width_dots = 812;
    cfg->length_dots = 1218;
    cfg->held_max = 64;
}

static bool faulted(const struct sim_printer *p)
{
    return p->paper_out || p->head_open;
}

static int write_file(const char *path, const char *data, size_t len)
{
    int rc = 0, fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (net_write_all(fd, data, len) < 0)
        rc = -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    return rc;
}

static void print_format(struct sim_printer *p, const char *zpl, size_t len)
{
    struct sim_printer_label *lb;
    if (p->n_labels == p->cap_labels) {
        unsigned ncap = p->cap_labels ? p->cap_labels * 2 : 16;
        struct sim_printer_label *nl;
        if (p->cap_labels >= LABELS_MAX || !(nl = realloc(p->labels, ncap * sizeof(*nl)))) {
            p->c.overflows++;
            return;
        }
        p->labels = nl;
        p->cap_labels = ncap;
    }
    lb = &p->labels[p->n_labels];
    memset(lb, 0, sizeof(*lb));
    lb->index = p->n_labels + 1;
    p->n_labels++;
    p->c.formats++;
    snprintf(lb->zpl_path, sizeof(lb->zpl_path), "%s/label-%06u.zpl", p->cfg.out_dir, lb->index);
    if (write_file(lb->zpl_path, zpl, len) < 0)
        lb->errors++;
    if (zpl_parse(zpl, len, p->scratch, NULL, 0) < 0) {
        /* A real printer prints whatever it made of a bad format; the emulator keeps the ZPL
         * for inspection, counts it and prints nothing. */
        p->c.format_errors++;
        lb->errors++;
        return;
    }
    lb->copies = p->scratch->pq;
    lb->n_fields = p->scratch->n_fields;
    if (!p->cfg.png_max || lb->index <= p->cfg.png_max)
        snprintf(lb->png_path, sizeof(lb->png_path), "%s/label-%06u.png", p->cfg.out_dir,
                 lb->index);
    if (render_label(p->scratch, p->scratch->pw ? p->scratch->pw : p->cfg.width_dots,
                     p->scratch->ll ? p->scratch->ll : p->cfg.length_dots,
                     lb->png_path[0] ? lb->png_path : NULL, lb) < 0)
        p->c.render_errors++;
    p->c.labels_printed += lb->copies;
}

static void flush_held(struct sim_printer *p)
{
    if (faulted(p) || p->paused)
        return;
    for (unsigned i = 0; i < p->n_held; i++) {
        print_format(p, p->held[i].zpl, p->held[i].len);
        free(p->held[i].zpl);
    }
    p->n_held = 0;
}

static void drop_held(struct sim_printer *p)
{
    for (unsigned i = 0; i < p->n_held; i++)
        free(p->held[i].zpl);
    p->n_held = 0;
}

static void on_format(struct sim_printer *p, const uint8_t *zpl, size_t len)
{
    char *copy;
    if (!faulted(p) && !p->paused) {
        print_format(p, (const char *)zpl, len);
        return;
    }
    if (p->n_held >= p->cfg.held_max || !(copy = malloc(len))) {
        p->c.held_dropped++;
        return;
    }
    memcpy(copy, zpl, len);
    p->held[p->n_held++] = (struct held){copy, len};
    p->c.held++;
}

static void reply_hs(struct sim_printer *p, int fd)
{
    char buf[160];
    int32_t ll = p->cfg.length_dots;
    int n;
    if (faulted(p) && !p->cfg.hs_when_faulted) {
        p->c.hs_ignored++;
        return;
    }
    /* String 1: aaa,b(paper out),c(pause),dddd(label length),eee(formats in buffer),
     * f(buffer full),g(diag),h(partial format),iii,j(corrupt RAM),k(under temp),l(over temp).
     * String 2: mmm,n,o(head up),p(ribbon out),q(thermal transfer),r(print mode),s(width mode),
     * t(label waiting),uuuuuuuu(labels remaining),v(format while printing),www(graphics).
     * String 3: xxxx(password),y(static RAM). */
    n = snprintf(buf, sizeof(buf),
                 "\x02"
                 "030,%d,%d,%04d,%03u,%d,0,0,000,0,0,0\x03\r\n"
                 "\x02"
                 "001,0,%d,0,0,2,6,0,00000000,1,000\x03\r\n"
                 "\x02"
                 "1234,0\x03\r\n",
                 p->paper_out ? 1 : 0, p->paused ? 1 : 0, ll > 9999 ? 9999 : ll,
                 p->n_held > 999 ? 999 : p->n_held, p->n_held >= p->cfg.held_max ? 1 : 0,
                 p->head_open ? 1 : 0);
    if (net_write_all(fd, buf, (size_t)n) == 0)
        p->c.hs_answered++;
}

static void reply_hqes(struct sim_printer *p, int fd)
{
    char buf[200];
    uint32_t err = 0;
    int n;
    if (p->paper_out)
        err |= HQ_MEDIA_OUT;
    if (p->head_open)
        err |= HQ_HEAD_OPEN;
    if (p->paused)
        err |= HQ_PAUSED;
    n = snprintf(buf, sizeof(buf),
                 "\x02\r\n"
                 " PRINTER STATUS\r\n"
                 "   ERRORS:         %d 00000000 %08X\r\n"
                 "   WARNINGS:       0 00000000 00000000\r\n"
                 "\x03\r\n",
                 err ? 1 : 0, (unsigned)err);
    if (net_write_all(fd, buf, (size_t)n) == 0)
        p->c.hqes_answered++;
}

static void process(struct sim_printer *p, struct client *cl)
{
    size_t off = 0;
    for (;;) {
        size_t used, s = 0, e = 0;
        enum zpl_event ev = zpl_next(cl->buf + off, cl->len - off, &used, &s, &e);
        if (ev == ZPL_EV_NEED_MORE)
            break;
        switch (ev) {
        case ZPL_EV_FORMAT:
            on_format(p, cl->buf + off + s, e - s);
            break;
        case ZPL_EV_HS:
            reply_hs(p, cl->fd);
            break;
        case ZPL_EV_HQES:
            reply_hqes(p, cl->fd);
            break;
        case ZPL_EV_PAUSE:
            p->paused = true;
            break;
        case ZPL_EV_RESUME:
            p->paused = false;
            flush_held(p);
            break;
        case ZPL_EV_CANCEL_ALL:
            drop_held(p);
            break;
        default:
            p->c.skipped++;
            break;
        }
        off += used;
    }
    memmove(cl->buf, cl->buf + off, cl->len - off);
    cl->len -= off;
}

static void drop_client(struct client *cl)
{
    close(cl->fd);
    cl->fd = -1;
    free(cl->buf);
    cl->buf = NULL;
    cl->len = 0;
}

static void on_readable(struct sim_printer *p, struct client *cl)
{
    ssize_t n;
    if (cl->len == CLIENT_BUF) {
        /* An unterminated format filled the buffer: discard it, as a printer would flush. */
        p->c.overflows++;
        cl->len = 0;
    }
    n = read(cl->fd, cl->buf + cl->len, CLIENT_BUF - cl->len);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        drop_client(cl);
        return;
    }
    if (n < 0)
        return;
    p->c.bytes += (uint64_t)n;
    cl->len += (size_t)n;
    process(p, cl);
}

static void *printer_thread(void *arg)
{
    struct sim_printer *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pfd[CLIENTS_MAX + 2];
        int idx[CLIENTS_MAX + 2], n = 0;
        pthread_mutex_lock(&p->mu);
        pfd[n] = (struct pollfd){.fd = p->wake, .events = POLLIN};
        idx[n++] = -2;
        pfd[n] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        idx[n++] = -1;
        for (int i = 0; i < CLIENTS_MAX; i++) {
            if (p->cl[i].fd >= 0) {
                pfd[n] = (struct pollfd){.fd = p->cl[i].fd, .events = POLLIN};
                idx[n++] = i;
            }
        }
        pthread_mutex_unlock(&p->mu);
        /* Only bytes, a client or the wake fd wake the thread: no timeout (26 idle printers
         * polling every 10 ms cost the runner 2,600 wake-ups a second). */
        if (poll(pfd, (nfds_t)n, -1) <= 0)
            continue;
        pthread_mutex_lock(&p->mu);
        for (int k = 0; k < n; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (idx[k] == -2) {
                net_wake_clear(p->wake);
            } else if (idx[k] < 0) {
                int fd;
                while ((fd = net_accept(p->lfd)) >= 0) {
                    int i = 0;
                    while (i < CLIENTS_MAX && p->cl[i].fd >= 0)
                        i++;
                    if (i == CLIENTS_MAX || !(p->cl[i].buf = malloc(CLIENT_BUF))) {
                        close(fd);
                        continue;
                    }
                    p->cl[i].fd = fd;
                    p->cl[i].len = 0;
                }
            } else if (p->cl[idx[k]].fd == pfd[k].fd) {
                on_readable(p, &p->cl[idx[k]]);
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

int sim_printer_open(struct sim_printer **out, const struct sim_printer_cfg *cfg)
{
    struct sim_printer *p;
    struct stat st;
    int rc;
    if (stat(cfg->out_dir, &st) < 0 || !S_ISDIR(st.st_mode) || cfg->width_dots < 2 ||
        cfg->width_dots > 32000 || cfg->length_dots < 1 || cfg->length_dots > 32000 ||
        strnlen(cfg->out_dir, sizeof(cfg->out_dir)) > 180)
        return WCS_E_CONFIG;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    if (p->cfg.held_max == 0)
        p->cfg.held_max = 64;
    for (int i = 0; i < CLIENTS_MAX; i++)
        p->cl[i].fd = -1;
    p->scratch = malloc(sizeof(*p->scratch));
    p->held = calloc(p->cfg.held_max, sizeof(*p->held));
    if (!p->scratch || !p->held) {
        rc = -ENOMEM;
        goto fail_alloc;
    }
    if ((rc = net_listen(cfg->port, &p->port)) < 0)
        goto fail_alloc;
    p->lfd = rc;
    if ((rc = net_wake_open()) < 0)
        goto fail_wake;
    p->wake = rc;
    if ((rc = -pthread_mutex_init(&p->mu, NULL)) < 0)
        goto fail_mutex;
    atomic_init(&p->stop, false);
    if ((rc = -pthread_create(&p->thread, NULL, printer_thread, p)) < 0)
        goto fail_thread;
    *out = p;
    return 0;
fail_thread:
    pthread_mutex_destroy(&p->mu);
fail_mutex:
    close(p->wake);
fail_wake:
    close(p->lfd);
fail_alloc:
    free(p->held);
    free(p->scratch);
    free(p);
    return rc;
}

void sim_printer_close(struct sim_printer *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    net_wake(p->wake);
    pthread_join(p->thread, NULL);
    close(p->wake);
    for (int i = 0; i < CLIENTS_MAX; i++)
        if (p->cl[i].fd >= 0)
            drop_client(&p->cl[i]);
    close(p->lfd);
    drop_held(p);
    pthread_mutex_destroy(&p->mu);
    free(p->held);
    free(p->scratch);
    free(p->labels);
    free(p);
}

uint16_t sim_printer_port(const struct sim_printer *p)
{
    return p->port;
}

static void set_state(struct sim_printer *p, bool *flag, bool on)
{
    pthread_mutex_lock(&p->mu);
    *flag = on;
    flush_held(p);
    pthread_mutex_unlock(&p->mu);
}

void sim_printer_set_paper_out(struct sim_printer *p, bool on)
{
    set_state(p, &p->paper_out, on);
}

void sim_printer_set_head_open(struct sim_printer *p, bool on)
{
    set_state(p, &p->head_open, on);
}

void sim_printer_set_pause(struct sim_printer *p, bool on)
{
    set_state(p, &p->paused, on);
}

int sim_printer_label(struct sim_printer *p, unsigned index, struct sim_printer_label *out)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (index == 0 || index > p->n_labels)
        rc = WCS_E_UNKNOWN;
    else
        *out = p->labels[index - 1];
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void sim_printer_counters(struct sim_printer *p, struct sim_printer_counters *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->c;
    pthread_mutex_unlock(&p->mu);
}
