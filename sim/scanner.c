/* Line-mode barcode scanner emulator (sim/include/sim/scanner.h). The thread only accepts and
 * drains clients; reads are written by the caller's thread under the mutex, so the order of
 * lines is the order of sim_scanner_read calls. */
#include "sim/scanner.h"

#include "base/err.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CLIENTS_MAX = 8, LINE_MAX_BYTES = 600, BARCODE_MAX = 512 };

struct sim_scanner {
    struct sim_scanner_cfg cfg;
    pthread_mutex_t mu;
    pthread_t thread;
    atomic_bool stop;
    int wake; /* net_wake_open: stop, or a client closed by sim_scanner_read */
    int lfd;
    uint16_t port;
    int clients[CLIENTS_MAX];
    int pty_m, pty_keep;
    char pty_path[64];
    struct sim_rng rng;
    struct sim_scanner_counters c;
};

void sim_scanner_cfg_defaults(struct sim_scanner_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tcp = true;
    snprintf(cfg->aim, sizeof(cfg->aim), "]C1");
    snprintf(cfg->terminator, sizeof(cfg->terminator), "\r\n");
    snprintf(cfg->noread_token, sizeof(cfg->noread_token), "NOREAD");
    snprintf(cfg->multiread_token, sizeof(cfg->multiread_token), "MULTIREAD");
    cfg->seed = 1;
}

static bool token_ok(const char *t, size_t cap)
{
    size_t n = strnlen(t, cap);
    if (n == 0 || n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)
            return false;
    return true;
}

static bool aim_ok(const char *a)
{
    /* "]" + symbology letter + modifier character, or nothing. */
    size_t n = strnlen(a, 4);
    return n == 0 ||
           (n == 3 && a[0] == ']' && a[1] > 0x20 && a[1] < 0x7f && a[2] > 0x20 && a[2] < 0x7f);
}

static void *scanner_thread(void *arg)
{
    struct sim_scanner *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd[CLIENTS_MAX + 3];
        int n = 0;
        pthread_mutex_lock(&s->mu);
        pfd[n++] = (struct pollfd){.fd = s->wake, .events = POLLIN};
        if (s->lfd >= 0)
            pfd[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        if (s->pty_m >= 0)
            pfd[n++] = (struct pollfd){.fd = s->pty_m, .events = POLLIN};
        for (int i = 0; i < CLIENTS_MAX; i++)
            if (s->clients[i] >= 0)
                pfd[n++] = (struct pollfd){.fd = s->clients[i], .events = POLLIN};
        pthread_mutex_unlock(&s->mu);
        /* Only bytes, a client or the wake fd wake the thread: no timeout (26 idle scanners
         * polling every 10 ms cost the runner 2,600 wake-ups a second). */
        if (poll(pfd, (nfds_t)n, -1) <= 0)
            continue;
        pthread_mutex_lock(&s->mu);
        for (int k = 0; k < n; k++) {
            char junk[256];
            bool known = pfd[k].fd == s->pty_m;
            if (!pfd[k].revents)
                continue;
            if (pfd[k].fd == s->wake) {
                net_wake_clear(s->wake);
                continue;
            }
            if (pfd[k].fd == s->lfd) {
                int fd;
                while ((fd = net_accept(s->lfd)) >= 0) {
                    int i = 0;
                    while (i < CLIENTS_MAX && s->clients[i] >= 0)
                        i++;
                    if (i == CLIENTS_MAX)
                        close(fd);
                    else
                        s->clients[i] = fd;
                }
                continue;
            }
            /* A client sim_scanner_read closed meanwhile: its number may be another file now. */
            for (int i = 0; i < CLIENTS_MAX && !known; i++)
                known = s->clients[i] == pfd[k].fd;
            if (!known)
                continue;
            /* Host-to-scanner bytes (triggers, configuration) are read and ignored. */
            if (read(pfd[k].fd, junk, sizeof(junk)) > 0 || pfd[k].fd == s->pty_m)
                continue;
            for (int i = 0; i < CLIENTS_MAX; i++) {
                if (s->clients[i] == pfd[k].fd) {
                    close(s->clients[i]);
                    s->clients[i] = -1;
                }
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

int sim_scanner_open(struct sim_scanner **out, const struct sim_scanner_cfg *cfg)
{
    struct sim_scanner *s;
    const char *t = cfg->terminator;
    int rc;
    if (!cfg->tcp && !cfg->serial)
        return WCS_E_CONFIG;
    if (cfg->noread_rate < 0 || cfg->multiread_rate < 0 || cfg->misread_rate < 0 ||
        cfg->noread_rate + cfg->multiread_rate + cfg->misread_rate > 1.0)
        return WCS_E_CONFIG;
    if (!token_ok(cfg->noread_token, sizeof(cfg->noread_token)) ||
        !token_ok(cfg->multiread_token, sizeof(cfg->multiread_token)) || !aim_ok(cfg->aim))
        return WCS_E_CONFIG;
    if (strcmp(t, "\r\n") != 0 && strcmp(t, "\r") != 0 && strcmp(t, "\n") != 0)
        return WCS_E_CONFIG;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    s->lfd = s->pty_m = s->pty_keep = s->wake = -1;
    for (int i = 0; i < CLIENTS_MAX; i++)
        s->clients[i] = -1;
    rng_seed(&s->rng, cfg->seed);
    if (cfg->tcp) {
        rc = net_listen(cfg->port, &s->port);
        if (rc < 0)
            goto fail_listen;
        s->lfd = rc;
    }
    if (cfg->serial &&
        (rc = net_pty_open(&s->pty_m, &s->pty_keep, s->pty_path, sizeof(s->pty_path))) < 0)
        goto fail_pty;
    if ((rc = net_wake_open()) < 0)
        goto fail_pty;
    s->wake = rc;
    if ((rc = -pthread_mutex_init(&s->mu, NULL)) < 0)
        goto fail_pty;
    atomic_init(&s->stop, false);
    if ((rc = -pthread_create(&s->thread, NULL, scanner_thread, s)) < 0)
        goto fail_thread;
    *out = s;
    return 0;
fail_thread:
    pthread_mutex_destroy(&s->mu);
fail_pty:
    if (s->wake >= 0)
        close(s->wake);
    if (s->pty_m >= 0)
        close(s->pty_m);
    if (s->pty_keep >= 0)
        close(s->pty_keep);
    if (s->lfd >= 0)
        close(s->lfd);
fail_listen:
    free(s);
    return rc;
}

void sim_scanner_close(struct sim_scanner *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    net_wake(s->wake);
    pthread_join(s->thread, NULL);
    close(s->wake);
    for (int i = 0; i < CLIENTS_MAX; i++)
        if (s->clients[i] >= 0)
            close(s->clients[i]);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->pty_m >= 0)
        close(s->pty_m);
    if (s->pty_keep >= 0)
        close(s->pty_keep);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

uint16_t sim_scanner_port(const struct sim_scanner *s)
{
    return s->port;
}

const char *sim_scanner_pty_path(const struct sim_scanner *s)
{
    return s->pty_path;
}

unsigned sim_scanner_clients(struct sim_scanner *s)
{
    unsigned n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < CLIENTS_MAX; i++)
        n += s->clients[i] >= 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* A misread keeps the character class, so the result still looks like a plausible barcode:
 * a digit becomes another digit, a letter another letter of the same case. */
static void corrupt(struct sim_rng *r, char *d, size_t n)
{
    size_t tries = 0, i;
    do {
        i = (size_t)(rng_next(r) % n);
    } while (d[i] == 0x1d && ++tries < 4 * n);
    if (d[i] == 0x1d)
        return;
    if (d[i] >= '0' && d[i] <= '9')
        d[i] = (char)('0' + (d[i] - '0' + 1 + (int)(rng_next(r) % 9)) % 10);
    else if (d[i] >= 'A' && d[i] <= 'Z')
        d[i] = (char)('A' + (d[i] - 'A' + 1 + (int)(rng_next(r) % 25)) % 26);
    else if (d[i] >= 'a' && d[i] <= 'z')
        d[i] = (char)('a' + (d[i] - 'a' + 1 + (int)(rng_next(r) % 25)) % 26);
    else
        d[i] = d[i] == '?' ? '#' : '?';
}

int sim_scanner_read(struct sim_scanner *s, const char *barcode, const char *aim,
                     enum sim_scan_outcome *outcome, char *line, size_t cap)
{
    char buf[LINE_MAX_BYTES + 8];
    size_t n = strlen(barcode), len = 0, tl = strlen(s->cfg.terminator);
    enum sim_scan_outcome oc;
    double u;
    if (n == 0 || n > BARCODE_MAX || (aim && !aim_ok(aim)))
        return WCS_E_RANGE;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)barcode[i];
        if (ch != 0x1d && (ch < 0x20 || ch > 0x7e))
            return WCS_E_RANGE;
    }
    if (!aim)
        aim = s->cfg.aim;
    pthread_mutex_lock(&s->mu);
    u = rng_unit(&s->rng);
    if (u < s->cfg.noread_rate)
        oc = SIM_SCAN_NOREAD;
    else if (u < s->cfg.noread_rate + s->cfg.multiread_rate)
        oc = SIM_SCAN_MULTI;
    else if (u < s->cfg.noread_rate + s->cfg.multiread_rate + s->cfg.misread_rate)
        oc = SIM_SCAN_MISREAD;
    else
        oc = SIM_SCAN_GOOD;
    if (oc == SIM_SCAN_NOREAD || oc == SIM_SCAN_MULTI) {
        const char *tok = oc == SIM_SCAN_NOREAD ? s->cfg.noread_token : s->cfg.multiread_token;
        len = strlen(tok);
        memcpy(buf, tok, len);
    } else {
        len = strlen(aim);
        memcpy(buf, aim, len);
        memcpy(buf + len, barcode, n);
        if (oc == SIM_SCAN_MISREAD)
            corrupt(&s->rng, buf + len, n);
        len += n;
    }
    s->c.reads++;
    s->c.good += oc == SIM_SCAN_GOOD;
    s->c.noread += oc == SIM_SCAN_NOREAD;
    s->c.multiread += oc == SIM_SCAN_MULTI;
    s->c.misread += oc == SIM_SCAN_MISREAD;
    if (line && cap > 0) {
        size_t k = len < cap - 1 ? len : cap - 1;
        memcpy(line, buf, k);
        line[k] = '\0';
    }
    memcpy(buf + len, s->cfg.terminator, tl);
    len += tl;
    for (int i = 0; i < CLIENTS_MAX; i++) {
        if (s->clients[i] < 0)
            continue;
        if (net_write_all(s->clients[i], buf, len) == 0) {
            s->c.tcp_lines++;
        } else {
            s->c.tcp_dropped++;
            close(s->clients[i]);
            s->clients[i] = -1;
            net_wake(s->wake); /* the thread drops the closed fd from its poll set */
        }
    }
    if (s->pty_m >= 0) {
        /* A serial line with nobody listening loses bytes once the tty buffer is full. */
        ssize_t w = write(s->pty_m, buf, len);
        if (w == (ssize_t)len)
            s->c.pty_lines++;
        else
            s->c.pty_dropped++;
    }
    pthread_mutex_unlock(&s->mu);
    if (outcome)
        *outcome = oc;
    return 0;
}

void sim_scanner_counters(struct sim_scanner *s, struct sim_scanner_counters *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->c;
    pthread_mutex_unlock(&s->mu);
}
