/* The MQTT link (wcs/bus/mqlink.c) against a scripted fake broker on a loopback socket: the
 * bytes of CONNECT (session expiry, Will, credentials), flow control under a Receive Maximum and
 * max_unacked, EPOLLOUT when the socket is full, one segment for a round's writes, resends after a
 * lost connection (events yes, retained no), PUBACK refusals, the close's drain and DISCONNECT
 * reason, keepalive, the connect timeout, received MQTT 5 properties, and bad packets from the
 * broker. The fake broker lets a test hold back acknowledgements or reads, which a real mosquitto
 * does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/loop.h"
#include "bus/mqlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the fake broker ---- */

struct fb {
    int lfd, cfd;
    uint16_t port;
    unsigned char in[1 << 16];
    size_t in_len;
    bool eof;
};

struct pkt {
    unsigned char hdr;
    size_t len;
    unsigned char body[8192];
};

static struct loop *L;

static void fb_open(struct fb *f, int rcvbuf)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int one = 1;
    memset(f, 0, sizeof(*f));
    f->cfd = -1;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (rcvbuf)
        setsockopt(f->lfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
}

static void fb_drop(struct fb *f)
{
    if (f->cfd >= 0)
        close(f->cfd);
    f->cfd = -1;
    f->in_len = 0;
    f->eof = false;
}

static void fb_close(struct fb *f)
{
    fb_drop(f);
    close(f->lfd);
}

/* Waits for fd to be readable, running the loop meanwhile when pump (the link lives in it). */
static bool wait_readable(int fd, int ms, bool pump)
{
    uint64_t t0 = clock_real_mono_us();
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, pump ? 0 : ms) > 0)
            return true;
        if (clock_real_mono_us() - t0 >= (uint64_t)ms * 1000)
            return false;
        if (pump)
            loop_run_once(L, 1);
    }
}

static bool fb_accept(struct fb *f, int ms, bool pump)
{
    if (!wait_readable(f->lfd, ms, pump))
        return false;
    fb_drop(f);
    f->cfd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
    return f->cfd >= 0;
}

/* One complete packet from the in-buffer, if there is one. */
static bool parse(struct fb *f, struct pkt *p)
{
    size_t rl = 0, i = 1;
    unsigned mult = 1;
    if (f->in_len < 2)
        return false;
    for (;; i++) {
        if (i >= f->in_len)
            return false;
        rl += (f->in[i] & 127u) * mult;
        mult *= 128;
        if (!(f->in[i] & 128u))
            break;
    }
    i++;
    if (f->in_len < i + rl)
        return false;
    assert_true(rl <= sizeof(p->body));
    p->hdr = f->in[0];
    p->len = rl;
    memcpy(p->body, f->in + i, rl);
    memmove(f->in, f->in + i + rl, f->in_len - i - rl);
    f->in_len -= i + rl;
    return true;
}

/* The next packet from the client within ms; false on a timeout or EOF (f->eof). */
static bool fb_read(struct fb *f, struct pkt *p, int ms, bool pump)
{
    uint64_t t0 = clock_real_mono_us();
    while (!parse(f, p)) {
        uint64_t el = (clock_real_mono_us() - t0) / 1000;
        if (el >= (uint64_t)ms || !wait_readable(f->cfd, ms - (int)el, pump))
            return false;
        ssize_t n = read(f->cfd, f->in + f->in_len, sizeof(f->in) - f->in_len);
        if (n <= 0) {
            f->eof = true;
            return false;
        }
        f->in_len += (size_t)n;
    }
    return true;
}

static void fb_send(struct fb *f, const void *b, size_t n)
{
    assert_int_equal(write(f->cfd, b, n), (ssize_t)n);
}

static size_t varint(unsigned char *o, size_t v)
{
    size_t n = 0;
    do {
        o[n] = (unsigned char)(v % 128);
        v /= 128;
        if (v)
            o[n] |= 128;
        n++;
    } while (v);
    return n;
}

/* A packet with header byte hdr and the given body. */
static void fb_packet(struct fb *f, unsigned char hdr, const void *body, size_t len)
{
    unsigned char b[9000];
    size_t n;
    b[0] = hdr;
    n = 1 + varint(b + 1, len);
    memcpy(b + n, body, len);
    fb_send(f, b, n + len);
}

static void fb_connack(struct fb *f, int version, int receive_max)
{
    unsigned char b[16] = {0, 0};
    size_t n = 2;
    if (version == 5) {
        if (receive_max) {
            b[n++] = 3;
            b[n++] = 0x21;
            b[n++] = (unsigned char)(receive_max >> 8);
            b[n++] = (unsigned char)receive_max;
        } else {
            b[n++] = 0;
        }
    }
    fb_packet(f, 0x20, b, n);
}

static void fb_puback(struct fb *f, int mid, int reason)
{
    unsigned char b[3] = {(unsigned char)(mid >> 8), (unsigned char)mid, (unsigned char)reason};
    fb_packet(f, 0x40, b, reason ? 3 : 2);
}

static unsigned u16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* A PUBLISH from the client, decoded. */
struct pub {
    int qos, mid;
    bool retain, dup;
    char topic[256];
    char payload[2048];
    size_t payload_len;
};

static void decode_pub(const struct pkt *p, int version, struct pub *o)
{
    size_t i = 0, tl;
    assert_int_equal(p->hdr & 0xF0, 0x30);
    memset(o, 0, sizeof(*o));
    o->qos = (p->hdr >> 1) & 3;
    o->retain = p->hdr & 1;
    o->dup = p->hdr & 8;
    tl = u16(p->body);
    assert_true(tl < sizeof(o->topic));
    memcpy(o->topic, p->body + 2, tl);
    i = 2 + tl;
    if (o->qos) {
        o->mid = (int)u16(p->body + i);
        i += 2;
    }
    if (version == 5) {
        size_t pl = 0, mult = 1;
        do {
            pl += (p->body[i] & 127u) * mult;
            mult *= 128;
        } while (p->body[i++] & 128u);
        i += pl;
    }
    o->payload_len = p->len - i;
    if (o->payload_len < sizeof(o->payload)) {
        memcpy(o->payload, p->body + i, o->payload_len);
        o->payload[o->payload_len] = '\0';
    }
}

/* The next PUBLISH (other packets are skipped), or false within ms. */
static bool fb_pub(struct fb *f, int version, struct pub *o, int ms)
{
    struct pkt p;
    uint64_t t0 = clock_real_mono_us();
    for (;;) {
        uint64_t el = (clock_real_mono_us() - t0) / 1000;
        if (el >= (uint64_t)ms || !fb_read(f, &p, ms - (int)el, true))
            return false;
        if ((p.hdr & 0xF0) == 0x30) {
            decode_pub(&p, version, o);
            return true;
        }
    }
}

/* ---- the link under test ---- */

static struct mqlink *K;
static struct {
    int n;
    struct mqlink_ev ev[256];
} EV;
static struct {
    int n;
    char topic[8][128], payload[8][128], rt[8][128], corr[8][64];
} MSG;

static void on_event(void *arg, const struct mqlink_ev *ev)
{
    (void)arg;
    if (EV.n < 256)
        EV.ev[EV.n++] = *ev;
}

static void on_msg(void *arg, struct mqlink_msg *m)
{
    (void)arg;
    if (MSG.n < 8) {
        snprintf(MSG.topic[MSG.n], 128, "%s", m->topic);
        snprintf(MSG.payload[MSG.n], 128, "%.*s", (int)m->len, (const char *)m->payload);
        snprintf(MSG.rt[MSG.n], 128, "%s", m->response_topic ? m->response_topic : "");
        snprintf(MSG.corr[MSG.n], 64, "%.*s", (int)m->correlation_len,
                 m->correlation ? (const char *)m->correlation : "");
    }
    MSG.n++;
}

static int ev_count(enum mqlink_ev_kind kind)
{
    int n = 0;
    for (int i = 0; i < EV.n; i++)
        n += EV.ev[i].kind == kind;
    return n;
}

static bool pump_until_ev(enum mqlink_ev_kind kind, int count, int ms)
{
    uint64_t t0 = clock_real_mono_us();
    while (ev_count(kind) < count && clock_real_mono_us() - t0 < (uint64_t)ms * 1000)
        loop_run_once(L, 1);
    return ev_count(kind) >= count;
}

static void pump_ms(int ms)
{
    uint64_t t0 = clock_real_mono_us();
    while (clock_real_mono_us() - t0 < (uint64_t)ms * 1000)
        loop_run_once(L, 1);
}

static int setup(void **state)
{
    (void)state;
    memset(&EV, 0, sizeof(EV));
    memset(&MSG, 0, sizeof(MSG));
    K = NULL;
    return loop_new(&L, clock_system());
}

static int teardown(void **state)
{
    (void)state;
    mqlink_close(K, 0, false);
    K = NULL;
    loop_free(L);
    return 0;
}

struct link_opts {
    int version, max_unacked, connect_timeout_ms, tick_ms;
};

static void open_link(const struct fb *f, struct link_opts lo)
{
    char uri[64];
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", f->port);
    struct mqlink_opts o = {.uri = uri,
                            .client_id = "wcs-test",
                            .mqtt_version = lo.version ? lo.version : 5,
                            .max_unacked = lo.max_unacked ? lo.max_unacked : 100,
                            .connect_timeout_ms = lo.connect_timeout_ms,
                            /* Long unless a test needs it: nothing may depend on the tick. */
                            .tick_ms = lo.tick_ms ? lo.tick_ms : 60000};
    struct mqlink_cbs cbs = {.on_event = on_event, .on_msg = on_msg};
    assert_int_equal(mqlink_open(&K, L, &o, &cbs), 0);
}

static const struct mqlink_connect PLAIN = {.keepalive_s = 30, .clean_start = true};

/* Starts connecting K with c and reads its CONNECT at f into p. */
static void read_connect(struct fb *f, const struct mqlink_connect *c, struct pkt *p)
{
    assert_int_equal(mqlink_connect(K, c), 0);
    assert_true(fb_accept(f, 2000, true));
    assert_true(fb_read(f, p, 2000, true));
    assert_int_equal(p->hdr, 0x10);
}

/* Connects K to f (a CONNACK with receive_max when given) and waits for MQLINK_EV_CONNECTED. */
static void connect_to(struct fb *f, int version, const struct mqlink_connect *c, int receive_max)
{
    struct pkt p;
    int before = ev_count(MQLINK_EV_CONNECTED);
    read_connect(f, c, &p);
    fb_connack(f, version, receive_max);
    assert_true(pump_until_ev(MQLINK_EV_CONNECTED, before + 1, 2000));
}

static int send_evt(const char *topic, const char *payload)
{
    return mqlink_send(K, topic, payload, strlen(payload), 1, false, NULL);
}

/* ---- tests ---- */

/* Reads CONNECT's properties (MQTT 5) and returns the session expiry interval (0 absent). */
static uint32_t connect_session_expiry(const struct pkt *p, size_t *after)
{
    size_t i = 10, pl = 0, mult = 1, end;
    uint32_t exp = 0;
    do {
        pl += (p->body[i] & 127u) * mult;
        mult *= 128;
    } while (p->body[i++] & 128u);
    end = i + pl;
    while (i < end) {
        unsigned id = p->body[i++];
        if (id == 0x11) {
            exp = (uint32_t)p->body[i] << 24 | (uint32_t)p->body[i + 1] << 16 |
                  (uint32_t)p->body[i + 2] << 8 | p->body[i + 3];
            i += 4;
        } else if (id == 0x21) {
            i += 2; /* receive maximum */
        } else {
            fail_msg("unexpected CONNECT property 0x%02x", id);
        }
    }
    *after = end;
    return exp;
}

/* The CONNECT of a persistent MQTT 5 session carries its Session Expiry Interval (libmosquitto
 * 2.0 sends CONNECT properties only from its blocking connect: mqlink.c's workaround), clean
 * start off, the retained QoS 1 Will and the credentials. */
static void test_connect_packet(void **state)
{
    struct fb f;
    struct pkt p;
    size_t i;
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){0});
    struct mqlink_connect c = {.user = "wcs",
                               .password = "pw1",
                               .keepalive_s = 2, /* raised to 5 */
                               .clean_start = false,
                               .session_expiry_s = 600,
                               .will_topic = "wcs/v1/s/status",
                               .will_payload = "{\"online\":false}",
                               .will_len = 16};
    read_connect(&f, &c, &p);
    assert_memory_equal(p.body, "\0\4MQTT\5", 7);
    /* username, password, Will retain, Will QoS 1, Will flag; clean start off */
    assert_int_equal(p.body[7], 0x80 | 0x40 | 0x20 | 0x08 | 0x04);
    assert_int_equal(u16(p.body + 8), 5);
    assert_int_equal(connect_session_expiry(&p, &i), 600);
    assert_int_equal(u16(p.body + i), 8);
    assert_memory_equal(p.body + i + 2, "wcs-test", 8);
    fb_connack(&f, 5, 0);
    assert_true(pump_until_ev(MQLINK_EV_CONNECTED, 1, 2000));

    /* MQTT 3.1.1, clean session: no properties at all. */
    mqlink_close(K, 0, false);
    K = NULL;
    open_link(&f, (struct link_opts){.version = 4});
    c.clean_start = true;
    read_connect(&f, &c, &p);
    assert_memory_equal(p.body, "\0\4MQTT\4", 7);
    assert_int_equal(p.body[7], 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02);
    assert_int_equal(u16(p.body + 10), 8);
    fb_close(&f);
}

/* libmosquitto keeps the broker's Receive Maximum: with 3, three events are in flight and each
 * PUBACK lets the next one go, in order. */
static void test_receive_maximum(void **state)
{
    struct fb f;
    struct pub pb;
    int mids[10];
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){0});
    connect_to(&f, 5, &PLAIN, 3);
    for (int i = 0; i < 10; i++) {
        char t[16];
        snprintf(t, sizeof(t), "e/%d", i);
        assert_int_equal(send_evt(t, "x"), 0);
    }
    assert_int_equal(mqlink_inflight(K), 10);
    for (int i = 0; i < 3; i++) {
        assert_true(fb_pub(&f, 5, &pb, 2000));
        assert_int_equal(atoi(pb.topic + 2), i);
        mids[i] = pb.mid;
    }
    assert_false(fb_pub(&f, 5, &pb, 200)); /* the window is full */
    for (int i = 3; i < 10; i++) {
        fb_puback(&f, mids[i - 3], 0);
        assert_true(fb_pub(&f, 5, &pb, 2000));
        assert_int_equal(atoi(pb.topic + 2), i);
        mids[i] = pb.mid;
    }
    for (int i = 7; i < 10; i++)
        fb_puback(&f, mids[i], 0);
    pump_ms(100);
    assert_int_equal(mqlink_inflight(K), 0);
    fb_close(&f);
}

/* max_unacked bounds what the link holds: beyond it -EAGAIN, then SEND_READY once half is
 * acknowledged. */
static void test_max_unacked_and_ready(void **state)
{
    struct fb f;
    struct pub pb;
    int mids[4];
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){.max_unacked = 4});
    connect_to(&f, 5, &PLAIN, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(send_evt("e", "x"), 0);
    assert_int_equal(send_evt("e", "x"), -EAGAIN);
    /* Retained QoS 1 messages count too. */
    assert_int_equal(mqlink_send(K, "r", "x", 1, 1, true, NULL), -EAGAIN);
    for (int i = 0; i < 4; i++) {
        assert_true(fb_pub(&f, 5, &pb, 2000));
        mids[i] = pb.mid;
    }
    fb_puback(&f, mids[0], 0);
    pump_ms(100);
    assert_int_equal(ev_count(MQLINK_EV_SEND_READY), 0); /* 3 held: above half */
    fb_puback(&f, mids[1], 0);
    assert_true(pump_until_ev(MQLINK_EV_SEND_READY, 1, 2000));
    assert_int_equal(send_evt("e", "x"), 0);
    fb_close(&f);
}

/* A broker that stops reading fills the socket: QoS 0 messages are refused (-EAGAIN) rather than
 * queued without bound, and once it reads again the loop's EPOLLOUT finishes the write at once
 * (the tick is 60 s here: nothing else would) and SEND_READY follows. */
static void test_socket_full_epollout(void **state)
{
    struct fb f;
    struct pub pb;
    char payload[1001];
    int n = 0, rc = 0, got = 0;
    (void)state;
    memset(payload, 'p', 1000);
    payload[1000] = '\0';
    fb_open(&f, 4096);
    open_link(&f, (struct link_opts){0});
    connect_to(&f, 5, &PLAIN, 0);
    while (n < 200000 && (rc = mqlink_send(K, "q", payload, 1000, 0, false, NULL)) == 0)
        n++;
    assert_int_equal(rc, -EAGAIN);
    assert_true(n > 0 && n < 200000);
    pump_ms(50);
    assert_int_equal(ev_count(MQLINK_EV_SEND_READY), 0);
    uint64_t t0 = clock_real_mono_us();
    while (got < n && fb_pub(&f, 5, &pb, 2000)) {
        assert_int_equal(pb.payload_len, 1000);
        got++;
    }
    print_message("%d QoS 0 messages of 1000 bytes before the socket was full; read back in %llu "
                  "ms\n",
                  n, (unsigned long long)(clock_real_mono_us() - t0) / 1000);
    assert_int_equal(got, n);
    assert_true(pump_until_ev(MQLINK_EV_SEND_READY, 1, 2000));
    assert_int_equal(mqlink_send(K, "q", payload, 1000, 0, false, NULL), 0);
    assert_true(fb_pub(&f, 5, &pb, 2000));
    fb_close(&f);
}

/* The writes of one loop round leave together: ten events sent back to back stay in the socket
 * (TCP_CORK) until the round ends, then the broker gets them in one data segment
 * (tcpi_data_segs_in), in order. With one segment each, a burst of replies and events woke the
 * broker once per message. */
static void test_round_one_segment(void **state)
{
    struct fb f;
    struct pub pb;
    struct tcp_info ti;
    socklen_t tl = sizeof(ti);
    struct pollfd p;
    uint32_t before;
    char payload[16];
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){0});
    connect_to(&f, 5, &PLAIN, 0);
    pump_ms(20);
    assert_int_equal(getsockopt(f.cfd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
    before = ti.tcpi_data_segs_in;
    for (int i = 0; i < 10; i++) {
        snprintf(payload, sizeof(payload), "e%d", i);
        assert_int_equal(mqlink_send(K, "q", payload, strlen(payload), 0, false, NULL), 0);
    }
    p = (struct pollfd){.fd = f.cfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 20), 0); /* held while the round lasts */
    pump_ms(10);
    for (int i = 0; i < 10; i++) {
        snprintf(payload, sizeof(payload), "e%d", i);
        assert_true(fb_pub(&f, 5, &pb, 2000));
        assert_string_equal(pb.payload, payload);
    }
    tl = sizeof(ti);
    assert_int_equal(getsockopt(f.cfd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
    print_message("10 events in %u data segments\n", ti.tcpi_data_segs_in - before);
    assert_int_equal(ti.tcpi_data_segs_in - before, 1);
    fb_close(&f);
}

/* A lost connection: the events it left unacknowledged are sent again first on the next one, in
 * order; the retained message is counted and not sent again. */
static void test_resend_after_loss(void **state)
{
    struct fb f;
    struct pub pb;
    struct mqlink_counts ct;
    const char *order[] = {"e1", "e2", "e3", "r1", "e4", "e5", "e6"};
    int mids[7];
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){0});
    connect_to(&f, 5, &PLAIN, 0);
    for (int i = 0; i < 7; i++)
        assert_int_equal(mqlink_send(K, order[i], order[i], 2, 1, order[i][0] == 'r', NULL), 0);
    for (int i = 0; i < 7; i++) {
        assert_true(fb_pub(&f, 5, &pb, 2000));
        assert_string_equal(pb.topic, order[i]);
        assert_int_equal(pb.retain, order[i][0] == 'r');
        mids[i] = pb.mid;
    }
    fb_puback(&f, mids[0], 0);
    fb_puback(&f, mids[1], 0);
    pump_ms(50);
    assert_int_equal(mqlink_inflight(K), 4); /* e3..e6 */
    fb_drop(&f);
    assert_true(pump_until_ev(MQLINK_EV_LOST, 1, 2000));
    mqlink_counts(K, &ct);
    assert_int_equal(ct.resent, 4);
    assert_int_equal(ct.retained_failed, 1);
    assert_int_equal(mqlink_inflight(K), 4);
    assert_int_equal(send_evt("late", "x"), WCS_E_LINK); /* the owner keeps it meanwhile */

    connect_to(&f, 5, &PLAIN, 0);
    assert_int_equal(send_evt("e7", "x"), 0);
    const char *again[] = {"e3", "e4", "e5", "e6", "e7"};
    for (int i = 0; i < 5; i++) {
        assert_true(fb_pub(&f, 5, &pb, 2000));
        assert_string_equal(pb.topic, again[i]);
        fb_puback(&f, pb.mid, 0);
    }
    assert_false(fb_pub(&f, 5, &pb, 200));
    pump_ms(50);
    assert_int_equal(mqlink_inflight(K), 0);
    mqlink_counts(K, &ct);
    assert_int_equal(ct.send_failed, 0);
    fb_close(&f);
}

/* An MQTT 5 PUBACK refusing an event (0x87 not authorised): sent again, and after 4 attempts
 * given up and counted. */
static void test_puback_refusal(void **state)
{
    struct fb f;
    struct pub pb;
    struct mqlink_counts ct;
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){0});
    connect_to(&f, 5, &PLAIN, 0);
    assert_int_equal(send_evt("denied", "x"), 0);
    for (int i = 0; i < 4; i++) {
        assert_true(fb_pub(&f, 5, &pb, 2000));
        assert_string_equal(pb.topic, "denied");
        fb_puback(&f, pb.mid, 0x87);
    }
    assert_false(fb_pub(&f, 5, &pb, 300));
    mqlink_counts(K, &ct);
    assert_int_equal(ct.resent, 3);
    assert_int_equal(ct.send_failed, 1);
    assert_int_equal(mqlink_inflight(K), 0);
    fb_close(&f);
}

/* The fake broker of the close tests runs in a thread: mqlink_close blocks the test's thread. */
struct closer {
    struct fb *f;
    int version, ack_after_ms; /* < 0: never acknowledge */
    int disconnect_reason;     /* -1: none came (EOF) */
    int pubs;
    pthread_t th;
};

static void *closer_main(void *arg)
{
    struct closer *c = arg;
    struct pkt p;
    c->disconnect_reason = -1;
    while (fb_read(c->f, &p, 5000, false)) {
        if ((p.hdr & 0xF0) == 0x30) {
            struct pub pb;
            decode_pub(&p, c->version, &pb);
            c->pubs++;
            if (c->ack_after_ms >= 0) {
                usleep((useconds_t)c->ack_after_ms * 1000);
                fb_puback(c->f, pb.mid, 0);
            }
        } else if ((p.hdr & 0xF0) == 0xE0) {
            c->disconnect_reason = p.len ? p.body[0] : 0;
            break;
        }
    }
    return NULL;
}

static uint64_t close_with(struct fb *f, int version, int ack_after_ms, bool send_will,
                           int timeout_ms, struct closer *c)
{
    open_link(f, (struct link_opts){.version = version});
    connect_to(f, version, &PLAIN, 0);
    assert_int_equal(send_evt("last", "x"), 0);
    *c = (struct closer){.f = f, .version = version, .ack_after_ms = ack_after_ms};
    assert_int_equal(pthread_create(&c->th, NULL, closer_main, c), 0);
    uint64_t t0 = clock_real_mono_us();
    mqlink_close(K, timeout_ms, send_will);
    K = NULL;
    uint64_t took_ms = (clock_real_mono_us() - t0) / 1000;
    pthread_join(c->th, NULL);
    return took_ms;
}

/* mqlink_close runs the socket until the last event is acknowledged, then sends DISCONNECT 0;
 * unacknowledged at the timeout, or with send_will, DISCONNECT 0x04 (the broker publishes the
 * Will); MQTT 3.1.1 with the Will: no DISCONNECT, the socket just closes. */
static void test_close(void **state)
{
    struct fb f;
    struct closer c;
    uint64_t ms;
    (void)state;
    fb_open(&f, 0);
    ms = close_with(&f, 5, 200, false, 2000, &c);
    assert_int_equal(c.pubs, 1);
    assert_int_equal(c.disconnect_reason, 0);
    assert_true(ms >= 150 && ms < 1500);

    ms = close_with(&f, 5, -1, false, 300, &c);
    assert_int_equal(c.pubs, 1);
    assert_int_equal(c.disconnect_reason, 0x04);
    assert_true(ms >= 280 && ms < 1500);

    close_with(&f, 5, 0, true, 2000, &c);
    assert_int_equal(c.disconnect_reason, 0x04);

    close_with(&f, 4, 0, false, 2000, &c);
    assert_int_equal(c.disconnect_reason, 0);
    close_with(&f, 4, 0, true, 2000, &c);
    assert_int_equal(c.disconnect_reason, -1);
    assert_true(f.eof);
    fb_close(&f);
}

/* Keepalive runs from the link's tick: an idle link sends PINGREQ after keepalive_s (at least
 * 5 s, libmosquitto's least). */
static void test_keepalive(void **state)
{
    struct fb f;
    struct pkt p;
    struct mqlink_connect c = {.keepalive_s = 5, .clean_start = true};
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){.tick_ms = 100});
    connect_to(&f, 5, &c, 0);
    uint64_t t0 = clock_real_mono_us();
    assert_true(fb_read(&f, &p, 8000, true));
    assert_int_equal(p.hdr, 0xC0);
    assert_true(clock_real_mono_us() - t0 > 3000000);
    unsigned char pingresp[2] = {0xD0, 0};
    fb_send(&f, pingresp, 2);
    pump_ms(300);
    assert_int_equal(ev_count(MQLINK_EV_LOST), 0);
    fb_close(&f);
}

/* A broker that accepts the TCP connection but never answers CONNECT: the attempt fails after
 * connect_timeout_ms. A refused port fails at once, with no event. */
static void test_connect_timeout(void **state)
{
    struct fb f;
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){.connect_timeout_ms = 300, .tick_ms = 50});
    assert_int_equal(mqlink_connect(K, &PLAIN), 0);
    assert_true(fb_accept(&f, 2000, true));
    assert_true(pump_until_ev(MQLINK_EV_CONNECT_FAILED, 1, 3000));
    assert_int_equal(EV.ev[EV.n - 1].rc, WCS_E_LINK);
    assert_int_equal(ev_count(MQLINK_EV_CONNECTED), 0);
    fb_close(&f);
    /* Nobody listens now, and the port stays bound (never listening) until the attempt is
     * over: a closed port could be taken by a parallel test, or met by the link's own connect. */
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons(f.port)};
    int one = 1, hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(hold >= 0);
    setsockopt(hold, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* its TIME_WAIT peers */
    assert_int_equal(bind(hold, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(mqlink_connect(K, &PLAIN), WCS_E_LINK);
    close(hold);
}

/* A refused CONNECT (bad password), MQTT 5 and 3.1.1: CONNECT_FAILED with WCS_E_DENIED. */
static void test_connect_denied(void **state)
{
    struct fb f;
    struct pkt p;
    unsigned char ack[3] = {0, 0x87, 0};
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){0});
    read_connect(&f, &PLAIN, &p);
    fb_packet(&f, 0x20, ack, 3);
    assert_true(pump_until_ev(MQLINK_EV_CONNECT_FAILED, 1, 2000));
    assert_int_equal(EV.ev[EV.n - 1].rc, WCS_E_DENIED);

    /* MQTT 3.1.1: CONNACK return code 5, not authorised. */
    mqlink_close(K, 0, false);
    K = NULL;
    open_link(&f, (struct link_opts){.version = 4});
    read_connect(&f, &PLAIN, &p);
    ack[1] = 5;
    fb_packet(&f, 0x20, ack, 2);
    assert_true(pump_until_ev(MQLINK_EV_CONNECT_FAILED, 2, 2000));
    assert_int_equal(EV.ev[EV.n - 1].rc, WCS_E_DENIED);
    fb_close(&f);
}

/* A command with MQTT 5 response topic and correlation data reaches on_msg with both, and the
 * link acknowledges it. */
static void test_receive_properties(void **state)
{
    struct fb f;
    struct pkt p;
    unsigned char b[256];
    size_t n = 0;
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){0});
    connect_to(&f, 5, &PLAIN, 0);
    b[n++] = 0;
    b[n++] = 5;
    memcpy(b + n, "cmd/x", 5);
    n += 5;
    b[n++] = 0x12; /* mid 0x1234 */
    b[n++] = 0x34;
    b[n++] = 3 + 7 + 3 + 4; /* properties */
    b[n++] = 0x08;
    b[n++] = 0;
    b[n++] = 7;
    memcpy(b + n, "reply/x", 7);
    n += 7;
    b[n++] = 0x09;
    b[n++] = 0;
    b[n++] = 4;
    memcpy(b + n, "c-77", 4);
    n += 4;
    memcpy(b + n, "{\"a\":1}", 7);
    n += 7;
    fb_packet(&f, 0x32, b, n);
    assert_true(fb_read(&f, &p, 2000, true));
    assert_int_equal(p.hdr, 0x40);
    assert_int_equal(u16(p.body), 0x1234);
    assert_int_equal(MSG.n, 1);
    assert_string_equal(MSG.topic[0], "cmd/x");
    assert_string_equal(MSG.payload[0], "{\"a\":1}");
    assert_string_equal(MSG.rt[0], "reply/x");
    assert_string_equal(MSG.corr[0], "c-77");
    fb_close(&f);
}

/* Bad bytes from the broker end the connection (LOST); nothing reaches on_msg, nothing
 * crashes, and the link connects again. */
static void test_bad_packets(void **state)
{
    struct fb f;
    static const unsigned char bad_utf8[] = {0x30, 9, 0, 3, 'a', 0xC0, 0x80, 0, 'x', 'y', 'z'};
    static const unsigned char bad_length[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    static const unsigned char reserved[] = {0x00, 0x00};
    static const unsigned char short_pub[] = {0x32, 3, 0, 9, 'a'};
    const unsigned char *cases[] = {bad_utf8, bad_length, reserved, short_pub};
    size_t lens[] = {sizeof(bad_utf8), sizeof(bad_length), sizeof(reserved), sizeof(short_pub)};
    (void)state;
    fb_open(&f, 0);
    open_link(&f, (struct link_opts){0});
    for (size_t i = 0; i < 4; i++) {
        connect_to(&f, 5, &PLAIN, 0);
        fb_send(&f, cases[i], lens[i]);
        if (!pump_until_ev(MQLINK_EV_LOST, (int)i + 1, 3000))
            fail_msg("case %zu: the connection was not ended", i);
    }
    assert_int_equal(MSG.n, 0);
    connect_to(&f, 5, &PLAIN, 0);
    fb_close(&f);
}

static void test_bad_uri(void **state)
{
    struct mqlink_opts o = {.client_id = "x", .mqtt_version = 5, .max_unacked = 10};
    struct mqlink_cbs cbs = {.on_event = on_event, .on_msg = on_msg};
    struct mqlink *k = NULL;
    const char *bad[] = {"ssl://127.0.0.1:8883", "ws://127.0.0.1:9001", "tcp://:1883",
                         "tcp://127.0.0.1:x", "tcp://127.0.0.1:1883/path"};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o.uri = bad[i];
        if (mqlink_open(&k, L, &o, &cbs) != -EINVAL)
            fail_msg("%s accepted", bad[i]);
        assert_null(k);
    }
    o.uri = "mqtt://[::1]:1883";
    assert_int_equal(mqlink_open(&k, L, &o, &cbs), 0);
    mqlink_close(k, 0, false);
    o.uri = "127.0.0.1";
    assert_int_equal(mqlink_open(&k, L, &o, &cbs), 0);
    mqlink_close(k, 0, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connect_packet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_maximum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_unacked_and_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_full_epollout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_one_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_after_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_puback_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receive_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_packets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_uri, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
