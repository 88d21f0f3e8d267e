/* The Redis store on the wcs event loop: the only file that sees hiredis. A hiredis 0.14 async
 * context is plugged into base/loop through its ev hooks; one loop timer per connection watches
 * the oldest outstanding command (replies come in order) and drops the connection when it is
 * late. Every (re)connect runs connect -> AUTH -> SCRIPT LOAD (SHA checked) -> ready, then
 * replays the writes held while down. Operations are EVALSHA calls that fall back to EVAL. */
#include "store/store.h"

#include "base/clock.h"
#include "base/err.h"
#include "hook.h"
#include "scripts.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum conn_state { ST_DOWN, ST_CONNECTING, ST_READY };

enum kind { K_AUTH, K_LOAD, K_SCRIPT, K_CLAIM, K_SET, K_RAW };

#define DETAIL_MAX 256

struct cmd {
    struct cmd *next;
    struct store *s;
    enum kind kind;
    int script;  /* index in store_scripts (K_LOAD, K_SCRIPT) */
    bool write;  /* held while down; resent after a link loss */
    bool eval;   /* NOSCRIPT seen: sent as EVAL with the body */
    bool secret; /* buf holds a password: wiped before free */
    uint64_t sent_us;
    uint64_t sent_real_us; /* the round-trip histogram's start */
    store_cb cb;
    store_raw_cb raw_cb; /* K_RAW */
    void *arg;
    char op_id[STORE_ID_MAX];
    int n_keys;                      /* K_SCRIPT: the keys the script was built with */
    const struct store_claim *claim; /* K_SCRIPT: the guard, until finish_build adds it */
    int argc, cap_args;
    char *buf;
    size_t used, cap;
    size_t *off;      /* argument i starts at buf + off[i] */
    size_t *len;      /* and is len[i] bytes */
    const char **ptr; /* filled just before sending */
};

struct cmd_list {
    struct cmd *head, *tail;
    size_t n;
};

struct store {
    struct loop *loop;
    char *host, *user, *password_file, *site, *instance;
    int port;
    uint64_t timeout_us, backoff_min_us, backoff_max_us;
    uint64_t rng;
    size_t queue_cap;
    char maxlen_s[16], ttl_s[16];
    store_state_cb on_state;
    void *state_arg;

    enum conn_state state;
    redisAsyncContext *ac;
    uint64_t conn_gen;
    int fd;
    bool fd_registered, ev_read, ev_write;
    unsigned fd_events;
    size_t loads_pending;

    int fail_rc; /* what outstanding commands get when the link drops */
    int down_rc; /* why the current/last connection went down */
    char down_text[DETAIL_MAX];
    bool reported, reported_up;
    int reported_rc;

    uint64_t timer_id, reconnect_id;
    bool timer_armed, reconnect_armed;
    unsigned attempt;
    bool was_ready; /* the current connection reached ready */
    bool closing;
    int in_cb;

    struct cmd_list inflight, queue, retry;
    uint64_t next_op;
    struct store_stats st;
    struct hist rtt; /* store_rtt */
};

/* ---- scripts ---- */

static int script_index(const char *name)
{
    for (int i = 0; store_scripts[i].name; i++)
        if (strcmp(store_scripts[i].name, name) == 0)
            return i;
    return -1;
}

const char *store_script_sha(const char *name)
{
    int i = name ? script_index(name) : -1;
    return i < 0 ? NULL : store_scripts[i].sha1;
}

const char *store_script_body(const char *name)
{
    int i = name ? script_index(name) : -1;
    return i < 0 ? NULL : store_scripts[i].body;
}

static size_t script_count(void)
{
    size_t n = 0;
    while (store_scripts[n].name)
        n++;
    return n;
}

/* ---- commands ---- */

static void list_push(struct cmd_list *l, struct cmd *c)
{
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->n++;
}

static struct cmd *list_pop(struct cmd_list *l)
{
    struct cmd *c = l->head;
    if (!c)
        return NULL;
    l->head = c->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    c->next = NULL;
    return c;
}

/* Puts every command of `front` before those of `l`, keeping both orders. */
static void list_prepend(struct cmd_list *l, struct cmd_list *front)
{
    if (!front->head)
        return;
    front->tail->next = l->head;
    if (!l->tail)
        l->tail = front->tail;
    l->head = front->head;
    l->n += front->n;
    *front = (struct cmd_list){0};
}

static struct cmd *cmd_new(struct store *s, enum kind kind, int nargs)
{
    struct cmd *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->s = s;
    c->kind = kind;
    c->script = -1;
    c->cap_args = nargs;
    c->off = malloc((size_t)nargs * sizeof(*c->off));
    c->len = malloc((size_t)nargs * sizeof(*c->len));
    c->ptr = malloc((size_t)nargs * sizeof(*c->ptr));
    c->cap = 256;
    c->buf = malloc(c->cap);
    if (!c->off || !c->len || !c->ptr || !c->buf) {
        free(c->off);
        free(c->len);
        free(c->ptr);
        free(c->buf);
        free(c);
        return NULL;
    }
    return c;
}

static void cmd_free(struct cmd *c)
{
    if (!c)
        return;
    if (c->secret)
        explicit_bzero(c->buf, c->used);
    free(c->off);
    free(c->len);
    free(c->ptr);
    free(c->buf);
    free(c);
}

/* Appends one argument. Returns 0, -ENOMEM, or WCS_E_EXHAUSTED (more args than planned). */
static int arg_n(struct cmd *c, const char *p, size_t n)
{
    if (c->argc >= c->cap_args)
        return WCS_E_EXHAUSTED;
    if (c->used + n > c->cap) {
        size_t cap = c->cap;
        char *b;
        while (c->used + n > cap)
            cap *= 2;
        b = realloc(c->buf, cap);
        if (!b)
            return -ENOMEM;
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->used, p, n);
    c->off[c->argc] = c->used;
    c->len[c->argc] = n;
    c->used += n;
    c->argc++;
    return 0;
}

static int arg_s(struct cmd *c, const char *p)
{
    return arg_n(c, p, strlen(p));
}

static int arg_i64(struct cmd *c, int64_t v)
{
    char b[24];
    return arg_n(c, b, (size_t)snprintf(b, sizeof(b), "%" PRId64, v));
}

/* Appends the key wcs:{site}:kind[:id]. */
static int arg_key(struct cmd *c, const char *kind, const char *id)
{
    char k[STORE_KEY_MAX];
    int n = store_key(k, sizeof(k), c->s->site, kind, id);
    return n < 0 ? n : arg_n(c, k, (size_t)n);
}

static int arg_quant(struct cmd *c, const struct store_line *l)
{
    char k[STORE_KEY_MAX];
    int n = store_key_quant(k, sizeof(k), c->s->site, l->sku, l->loc, l->lot ? l->lot : "");
    return n < 0 ? n : arg_n(c, k, (size_t)n);
}

/* ---- results ---- */

static void finish_cmd(struct store *s, struct cmd *c, struct store_result *r)
{
    (void)s;
    if (c->kind == K_RAW && c->raw_cb)
        c->raw_cb(c->arg, r->rc, r->message, NULL, 0);
    else if (c->cb)
        c->cb(c->arg, r);
    cmd_free(c);
}

static void fail_cmd(struct store *s, struct cmd *c, int rc)
{
    struct store_result r = {.rc = rc};
    finish_cmd(s, c, &r);
}

/* Maps a script's "<CODE> text" error to a wcs code. */
static int script_error_rc(const char *msg)
{
    if (strncmp(msg, "EARG ", 5) == 0)
        return -EINVAL;
    if (strncmp(msg, "ESTATE ", 7) == 0)
        return WCS_E_STATE;
    if (strncmp(msg, "EUNKNOWN ", 9) == 0)
        return WCS_E_UNKNOWN;
    if (strncmp(msg, "ECLAIM ", 7) == 0)
        return WCS_E_DUPLICATE;
    if (strncmp(msg, "NOPERM", 6) == 0)
        return WCS_E_DENIED;
    return WCS_E_PROTOCOL;
}

static bool parse_i64(const char *p, size_t n, int64_t *out)
{
    char b[24], *end;
    long long v;
    if (n == 0 || n >= sizeof(b))
        return false;
    memcpy(b, p, n);
    b[n] = '\0';
    errno = 0;
    v = strtoll(b, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static void on_script_array(struct store *s, struct cmd *c, const redisReply *r)
{
    struct store_result res = {.rc = WCS_E_PROTOCOL};
    const redisReply *tag = r->elements > 0 ? r->element[0] : NULL;
    struct store_short *shorts = NULL;
    const char **values = NULL;
    if (!tag || (tag->type != REDIS_REPLY_STRING && tag->type != REDIS_REPLY_STATUS)) {
        res.message = "script reply without a status";
    } else if (strcmp(tag->str, "ok") == 0) {
        res.rc = 0;
        if (r->elements > 1 && !(values = calloc(r->elements - 1, sizeof(*values))))
            res.rc = -ENOMEM;
        for (size_t i = 1; values && i < r->elements; i++) {
            if (r->element[i]->type != REDIS_REPLY_STRING) {
                res.rc = WCS_E_PROTOCOL;
                res.message = "script reply value is not a string";
                break;
            }
            values[i - 1] = r->element[i]->str;
        }
        if (res.rc == 0 && values) {
            res.n_values = r->elements - 1;
            res.values = values;
        }
    } else if (strcmp(tag->str, "dup") == 0 && r->elements == 1) {
        res.rc = 0;
        res.duplicate = true;
    } else if (strcmp(tag->str, "short") == 0 && (r->elements - 1) % 3 == 0 && r->elements > 1) {
        size_t n = (r->elements - 1) / 3;
        shorts = calloc(n, sizeof(*shorts));
        res.rc = shorts ? WCS_E_STATE : -ENOMEM;
        for (size_t i = 0; shorts && i < n; i++) {
            const redisReply *k = r->element[1 + 3 * i], *q = r->element[2 + 3 * i],
                             *a = r->element[3 + 3 * i];
            if (k->type != REDIS_REPLY_STRING || q->type != REDIS_REPLY_STRING ||
                a->type != REDIS_REPLY_STRING ||
                store_key_parse_quant(k->str, k->len, &shorts[i].quant) != 0 ||
                !parse_i64(q->str, q->len, &shorts[i].requested) ||
                !parse_i64(a->str, a->len, &shorts[i].available)) {
                res.rc = WCS_E_PROTOCOL;
                res.message = "malformed shortage list";
                break;
            }
        }
        if (res.rc == WCS_E_STATE) {
            res.n_short = n;
            res.shorts = shorts;
            res.message = "insufficient stock";
        }
    } else {
        res.message = "unexpected script status";
    }
    finish_cmd(s, c, &res);
    free(shorts);
    free(values);
}

/* ---- connection ---- */

static void report(struct store *s, bool up, int rc, const char *text)
{
    if (s->reported && s->reported_up == up && (up || s->reported_rc == rc))
        return;
    s->reported = true;
    s->reported_up = up;
    s->reported_rc = rc;
    if (s->on_state)
        s->on_state(s->state_arg, up, rc, text);
}

static void set_down_reason(struct store *s, int rc, const char *text)
{
    if (s->down_rc != 0)
        return; /* keep the first cause of this connection's end */
    s->down_rc = rc;
    snprintf(s->down_text, sizeof(s->down_text), "%s", text ? text : wcs_strerror(rc));
}

/* Ends the connection: outstanding commands get fail_rc (writes are kept for a resend).
 * Inside a hiredis callback the free happens when the callback returns. */
static void drop(struct store *s, int rc, const char *text)
{
    set_down_reason(s, rc, text);
    if (s->fail_rc == 0)
        s->fail_rc = rc;
    s->state = ST_DOWN;
    if (s->ac)
        redisAsyncFree(s->ac);
}

static uint64_t next_rand(struct store *s)
{
    /* splitmix64: a small, seedable generator for the backoff jitter. */
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void connect_start(struct store *s);

static void on_reconnect_timer(struct loop *l, uint64_t id, void *arg)
{
    struct store *s = arg;
    (void)l;
    (void)id;
    s->reconnect_armed = false;
    s->in_cb++;
    connect_start(s);
    s->in_cb--;
}

static void schedule_reconnect(struct store *s)
{
    uint64_t delay = s->backoff_min_us;
    if (s->reconnect_armed || s->closing)
        return;
    for (unsigned i = 0; i < s->attempt && delay < s->backoff_max_us; i++)
        delay *= 2;
    if (delay > s->backoff_max_us)
        delay = s->backoff_max_us;
    /* Jitter: 50..100 % of the step, so several wcs processes do not reconnect in lockstep. */
    delay = delay / 2 + next_rand(s) % (delay / 2 + 1);
    s->attempt++;
    if (loop_add_timer(s->loop, delay, on_reconnect_timer, s, &s->reconnect_id) == 0)
        s->reconnect_armed = true;
}

static void on_timeout_timer(struct loop *l, uint64_t id, void *arg);

/* The command timeout is a network deadline, so it is real time: on a loop whose clock runs
 * faster than real time (wcs run --clock-speed) it spans that many more loop microseconds. */
static uint64_t timeout_loop_us(const struct store *s)
{
    return (uint64_t)((double)s->timeout_us * loop_speed(s->loop));
}

static void arm_timeout(struct store *s)
{
    uint64_t now, deadline;
    if (s->timer_armed || !s->inflight.head)
        return;
    now = loop_now_us(s->loop);
    deadline = s->inflight.head->sent_us + timeout_loop_us(s);
    if (loop_add_timer(s->loop, deadline > now ? deadline - now : 0, on_timeout_timer, s,
                       &s->timer_id) == 0)
        s->timer_armed = true;
}

static void on_timeout_timer(struct loop *l, uint64_t id, void *arg)
{
    struct store *s = arg;
    (void)id;
    s->timer_armed = false;
    if (!s->inflight.head || !s->ac)
        return;
    if (loop_now_us(l) < s->inflight.head->sent_us + timeout_loop_us(s)) {
        arm_timeout(s); /* the late one was answered; watch the new oldest */
        return;
    }
    s->st.timeouts++;
    s->in_cb++;
    drop(s, -ETIMEDOUT, "no reply within the command timeout");
    s->in_cb--;
}

static int send_cmd(struct store *s, struct cmd *c);

static void become_ready(struct store *s)
{
    struct cmd *c;
    s->state = ST_READY;
    s->was_ready = true;
    s->attempt = 0;
    s->st.connects++;
    report(s, true, 0, "ready");
    /* Writes held while down go first, in the order they were made. */
    while (s->state == ST_READY && (c = list_pop(&s->queue)) != NULL) {
        s->st.replayed++;
        if (send_cmd(s, c) != 0) {
            list_push(&s->retry, c);
            break;
        }
    }
}

static void on_handshake_reply(struct store *s, struct cmd *c, const redisReply *r)
{
    char text[DETAIL_MAX];
    if (s->state != ST_CONNECTING) {
        cmd_free(c);
        return;
    }
    if (c->kind == K_AUTH) {
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(text, sizeof(text), "AUTH refused: %s", r->str);
            cmd_free(c);
            drop(s, WCS_E_DENIED, text);
            return;
        }
    } else {
        const struct store_script *sc = &store_scripts[c->script];
        if (r->type != REDIS_REPLY_STRING || strcmp(r->str, sc->sha1) != 0) {
            snprintf(text, sizeof(text), "SCRIPT LOAD %s answered %.100s, expected %s", sc->name,
                     r->str ? r->str : "(no string)", sc->sha1);
            cmd_free(c);
            drop(s,
                 r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0 ? WCS_E_DENIED
                                                                                   : WCS_E_PROTOCOL,
                 text);
            return;
        }
        if (--s->loads_pending == 0) {
            cmd_free(c);
            become_ready(s);
            return;
        }
    }
    cmd_free(c);
}

/* Flattens a reply depth first into items (see hook.h), depth the arrays around r. Returns the
 * count, or -1 when cap is too small or text cannot hold the integers' digits. */
static long flatten(const redisReply *r, unsigned depth, struct store_item *items, size_t cap,
                    size_t *n, char *text, size_t text_cap, size_t *text_used)
{
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++)
            if (flatten(r->element[i], depth + 1, items, cap, n, text, text_cap, text_used) < 0)
                return -1;
        return (long)*n;
    }
    if (*n >= cap)
        return -1;
    if (r->type == REDIS_REPLY_NIL) {
        items[(*n)++] = (struct store_item){NULL, 0, true, depth};
    } else if (r->type == REDIS_REPLY_INTEGER) {
        int k = snprintf(text + *text_used, text_cap - *text_used, "%lld", r->integer);
        if (k < 0 || (size_t)k >= text_cap - *text_used)
            return -1;
        items[(*n)++] = (struct store_item){text + *text_used, (size_t)k, false, depth};
        *text_used += (size_t)k + 1;
    } else {
        items[(*n)++] = (struct store_item){r->str, r->len, false, depth};
    }
    return (long)*n;
}

static size_t count_leaves(const redisReply *r)
{
    size_t n = 0;
    if (r->type != REDIS_REPLY_ARRAY)
        return 1;
    for (size_t i = 0; i < r->elements; i++)
        n += count_leaves(r->element[i]);
    return n;
}

static void on_raw_reply(struct store *s, struct cmd *c, const redisReply *r)
{
    size_t cap = count_leaves(r), n = 0, used = 0, text_cap = 24 * cap + 1;
    struct store_item *items = calloc(cap ? cap : 1, sizeof(*items));
    char *text = malloc(text_cap);
    (void)s;
    if (r->type == REDIS_REPLY_ERROR) {
        if (c->raw_cb)
            c->raw_cb(c->arg, script_error_rc(r->str), r->str, NULL, 0);
    } else if (!items || !text || flatten(r, 0, items, cap, &n, text, text_cap, &used) < 0) {
        if (c->raw_cb)
            c->raw_cb(c->arg, -ENOMEM, NULL, NULL, 0);
    } else if (c->raw_cb) {
        c->raw_cb(c->arg, 0, NULL, items, n);
    }
    free(items);
    free(text);
    cmd_free(c);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct cmd *c = privdata;
    struct store *s = c->s;
    redisReply *r = reply;
    struct store_result res = {0};
    (void)ac;

    assert(s->inflight.head == c);
    list_pop(&s->inflight);
    if (r)
        hist_add(&s->rtt, clock_real_mono_us() - c->sent_real_us);
    if (!r) {
        /* The connection is going away (error, timeout or close). */
        s->state = ST_DOWN;
        if (c->kind == K_AUTH || c->kind == K_LOAD)
            cmd_free(c);
        else if (c->write && !s->closing)
            list_push(&s->retry, c);
        else
            fail_cmd(s, c, s->fail_rc ? s->fail_rc : WCS_E_LINK);
        return;
    }
    s->st.replies++;
    switch (c->kind) {
    case K_AUTH:
    case K_LOAD:
        on_handshake_reply(s, c, r);
        return;
    case K_SCRIPT:
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 && !c->eval) {
            /* The server lost its script cache (restart, SCRIPT FLUSH, another node). */
            s->st.noscript_fallbacks++;
            c->eval = true;
            if (send_cmd(s, c) != 0)
                fail_cmd(s, c, WCS_E_LINK);
            return;
        }
        if (r->type == REDIS_REPLY_ARRAY) {
            on_script_array(s, c, r);
            return;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            res.rc = script_error_rc(r->str);
            res.message = r->str;
        } else {
            res.rc = WCS_E_PROTOCOL;
            res.message = "unexpected reply type";
        }
        break;
    case K_CLAIM:
        if (r->type == REDIS_REPLY_NIL) {
            res.rc = 0;
        } else if (r->type == REDIS_REPLY_STRING) {
            res.rc = WCS_E_DUPLICATE;
            res.value = r->str;
        } else {
            res.rc = r->type == REDIS_REPLY_ERROR ? script_error_rc(r->str) : WCS_E_PROTOCOL;
            res.message = r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type";
        }
        break;
    case K_RAW:
        on_raw_reply(s, c, r);
        return;
    case K_SET:
        if (r->type == REDIS_REPLY_STATUS) {
            res.rc = 0;
        } else {
            res.rc = r->type == REDIS_REPLY_ERROR ? script_error_rc(r->str) : WCS_E_PROTOCOL;
            res.message = r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply type";
        }
        break;
    }
    finish_cmd(s, c, &res);
}

static int send_cmd(struct store *s, struct cmd *c)
{
    for (int i = 0; i < c->argc; i++)
        c->ptr[i] = c->buf + c->off[i];
    if (c->eval) {
        const struct store_script *sc = &store_scripts[c->script];
        c->ptr[0] = "EVAL";
        c->len[0] = 4;
        c->ptr[1] = sc->body;
        c->len[1] = sc->len;
    }
    if (!s->ac || redisAsyncCommandArgv(s->ac, on_reply, c, c->argc, c->ptr, c->len) != REDIS_OK)
        return WCS_E_LINK;
    c->sent_us = loop_now_us(s->loop);
    c->sent_real_us = clock_real_mono_us();
    list_push(&s->inflight, c);
    if (s->inflight.n > s->st.in_flight_max)
        s->st.in_flight_max = s->inflight.n;
    s->st.commands++;
    arm_timeout(s);
    return 0;
}

/* ---- hiredis event hooks on base/loop ---- */

static void on_fd(struct loop *l, int fd, unsigned events, void *arg)
{
    struct store *s = arg;
    uint64_t gen = s->conn_gen;
    (void)l;
    (void)fd;
    if (!s->ac)
        return;
    s->in_cb++;
    if (events & LOOP_READ)
        redisAsyncHandleRead(s->ac);
    if (s->ac && s->conn_gen == gen && (events & LOOP_WRITE))
        redisAsyncHandleWrite(s->ac);
    if (s->ac && s->conn_gen == gen && (events & LOOP_ERROR) &&
        !(events & (LOOP_READ | LOOP_WRITE)))
        redisAsyncHandleRead(s->ac); /* reports the socket error */
    s->in_cb--;
}

static void ev_update(struct store *s)
{
    unsigned want = (s->ev_read ? LOOP_READ : 0u) | (s->ev_write ? LOOP_WRITE : 0u);
    if (!s->fd_registered) {
        if (loop_add_fd(s->loop, s->fd, want, on_fd, s) == 0) {
            s->fd_registered = true;
            s->fd_events = want;
        }
    } else if (want != s->fd_events && loop_mod_fd(s->loop, s->fd, want) == 0) {
        s->fd_events = want;
    }
}

static void ev_add_read(void *p)
{
    struct store *s = p;
    s->ev_read = true;
    ev_update(s);
}

static void ev_del_read(void *p)
{
    struct store *s = p;
    s->ev_read = false;
    ev_update(s);
}

static void ev_add_write(void *p)
{
    struct store *s = p;
    s->ev_write = true;
    ev_update(s);
}

static void ev_del_write(void *p)
{
    struct store *s = p;
    s->ev_write = false;
    ev_update(s);
}

/* Called by hiredis as the context is freed, after every outstanding callback ran: the single
 * place where a connection's end is handled, whatever caused it. */
static void ev_cleanup(void *p)
{
    struct store *s = p;
    redisAsyncContext *ac = s->ac;
    if (s->fd_registered)
        loop_del_fd(s->loop, s->fd);
    s->fd_registered = false;
    s->ev_read = s->ev_write = false;
    s->fd = -1;
    s->ac = NULL;
    s->conn_gen++;
    if (s->timer_armed)
        loop_cancel_timer(s->loop, s->timer_id);
    s->timer_armed = false;
    if (ac && ac->err)
        set_down_reason(s, ac->err == REDIS_ERR_EOF ? -ECONNRESET : -EIO, ac->errstr);
    set_down_reason(s, WCS_E_LINK, "connection closed");
    if (!s->was_ready)
        s->st.connect_failures++;
    s->was_ready = false;
    s->state = ST_DOWN;
    /* Writes that were outstanding are older than anything held meanwhile: they go first. */
    list_prepend(&s->queue, &s->retry);
    if (s->closing)
        return;
    report(s, false, s->down_rc, s->down_text);
    schedule_reconnect(s);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct store *s = ac->data;
    if (status != REDIS_OK)
        set_down_reason(s, strstr(ac->errstr, "refused") ? -ECONNREFUSED : -EIO, ac->errstr);
}

/* Reads the password file: returns 0 or a negative errno. */
static int read_password(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0)
        return -errno;
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    if ((size_t)n == cap - 1)
        return -EFBIG;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return n > 0 ? 0 : -ENODATA;
}

static void connect_start(struct store *s)
{
    char pw[512], text[DETAIL_MAX];
    redisAsyncContext *ac;
    struct cmd *c;
    int rc;
    size_t n = script_count();

    if (s->ac || s->closing)
        return;
    s->down_rc = 0;
    s->down_text[0] = '\0';
    s->fail_rc = 0;
    rc = read_password(s->password_file, pw, sizeof(pw));
    if (rc != 0) {
        snprintf(text, sizeof(text), "cannot read password file %s: %s", s->password_file,
                 strerror(-rc));
        goto fail;
    }
    ac = redisAsyncConnect(s->host, s->port);
    if (!ac) {
        rc = -ENOMEM;
        snprintf(text, sizeof(text), "out of memory");
        goto fail_pw;
    }
    if (ac->err) {
        rc = strstr(ac->errstr, "refused") ? -ECONNREFUSED : -EIO;
        snprintf(text, sizeof(text), "%s", ac->errstr);
        redisAsyncFree(ac);
        goto fail_pw;
    }
    ac->data = s;
    ac->ev.data = s;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    s->ac = ac;
    s->fd = ac->c.fd;
    s->state = ST_CONNECTING;
    s->loads_pending = n;

    /* AUTH and every SCRIPT LOAD go out together as soon as the socket connects; the command
     * timeout bounds the whole handshake. */
    c = cmd_new(s, K_AUTH, 3);
    if (!c || arg_s(c, "AUTH") || arg_s(c, s->user) || arg_s(c, pw))
        goto fail_cmd;
    c->secret = true;
    if (send_cmd(s, c) != 0)
        goto fail_cmd;
    for (size_t i = 0; i < n; i++) {
        c = cmd_new(s, K_LOAD, 3);
        if (!c || arg_s(c, "SCRIPT") || arg_s(c, "LOAD") ||
            arg_n(c, store_scripts[i].body, store_scripts[i].len))
            goto fail_cmd;
        c->script = (int)i;
        if (send_cmd(s, c) != 0)
            goto fail_cmd;
    }
    explicit_bzero(pw, sizeof(pw));
    return;

fail_cmd:
    explicit_bzero(pw, sizeof(pw));
    cmd_free(c);
    drop(s, -ENOMEM, "cannot queue the handshake");
    return;
fail_pw:
    explicit_bzero(pw, sizeof(pw));
fail:
    s->st.connect_failures++;
    s->state = ST_DOWN;
    report(s, false, rc, text);
    schedule_reconnect(s);
}

/* ---- open / close ---- */

static char *dup_or(const char *v, const char *dflt)
{
    return strdup(v ? v : dflt);
}

int store_open(struct store **out, struct loop *loop, const struct store_opts *o)
{
    struct store *s;
    char inst[STORE_ID_MAX];
    if (!out || !loop || !o || store_id_check(o->site) != 0 || !o->password_file)
        return -EINVAL;
    if (o->instance && (store_id_check(o->instance) != 0 || strlen(o->instance) > 40))
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    snprintf(inst, sizeof(inst), "p%ld-%" PRId64, (long)getpid(), clock_wall_ms(loop_clock(loop)));
    s->loop = loop;
    s->host = dup_or(o->host, "127.0.0.1");
    s->user = dup_or(o->user, "wcs");
    s->password_file = strdup(o->password_file);
    s->site = strdup(o->site);
    s->instance = dup_or(o->instance, inst);
    if (!s->host || !s->user || !s->password_file || !s->site || !s->instance) {
        store_close(s);
        return -ENOMEM;
    }
    s->port = o->port ? o->port : 6379;
    s->timeout_us = (uint64_t)(o->command_timeout_ms ? o->command_timeout_ms : 1000) * 1000u;
    s->backoff_min_us = (uint64_t)(o->backoff_min_ms ? o->backoff_min_ms : 100) * 1000u;
    s->backoff_max_us = (uint64_t)(o->backoff_max_ms ? o->backoff_max_ms : 5000) * 1000u;
    if (s->backoff_max_us < s->backoff_min_us)
        s->backoff_max_us = s->backoff_min_us;
    s->rng = o->jitter_seed;
    s->queue_cap = o->queue_cap ? o->queue_cap : 1024;
    snprintf(s->maxlen_s, sizeof(s->maxlen_s), "%u",
             o->journal_maxlen ? o->journal_maxlen : 100000u);
    snprintf(s->ttl_s, sizeof(s->ttl_s), "%u", o->op_ttl_s ? o->op_ttl_s : 86400u);
    s->on_state = o->on_state;
    s->state_arg = o->state_arg;
    s->fd = -1;
    s->state = ST_DOWN;
    /* hiredis writes with write(2): a peer that closed must not kill the daemon with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    /* Connect from the loop, so the first state report never runs inside store_open. */
    if (loop_add_timer(loop, 0, on_reconnect_timer, s, &s->reconnect_id) == 0)
        s->reconnect_armed = true;
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    struct cmd *c;
    if (!s)
        return;
    assert(s->in_cb == 0 && "store_close inside a store callback");
    s->closing = true;
    if (s->reconnect_armed)
        loop_cancel_timer(s->loop, s->reconnect_id);
    if (s->timer_armed)
        loop_cancel_timer(s->loop, s->timer_id);
    s->reconnect_armed = s->timer_armed = false;
    s->fail_rc = -ECANCELED;
    if (s->ac)
        redisAsyncFree(s->ac); /* runs the outstanding callbacks, then ev_cleanup */
    list_prepend(&s->queue, &s->retry);
    while ((c = list_pop(&s->queue)) != NULL)
        fail_cmd(s, c, -ECANCELED);
    free(s->host);
    free(s->user);
    free(s->password_file);
    free(s->site);
    free(s->instance);
    free(s);
}

bool store_is_ready(const struct store *s)
{
    return s->state == ST_READY;
}

const char *store_site(const struct store *s)
{
    return s->site;
}

const struct hist *store_rtt(const struct store *s)
{
    return &s->rtt;
}

void store_get_stats(const struct store *s, struct store_stats *out)
{
    *out = s->st;
    out->queue_len = s->queue.n + s->retry.n;
    out->in_flight = s->inflight.n;
}

/* ---- operations ---- */

/* Sends, holds or refuses a built command (see the calling convention in store.h). */
static int submit(struct store *s, struct cmd *c, store_cb cb, void *arg)
{
    c->cb = cb;
    c->arg = arg;
    if (s->state == ST_READY && s->ac && s->queue.n == 0 && send_cmd(s, c) == 0)
        return 0;
    if (!c->write) {
        s->st.refused_link++;
        cmd_free(c);
        return WCS_E_LINK;
    }
    if (s->queue.n + s->retry.n >= s->queue_cap) {
        s->st.overflow++;
        cmd_free(c);
        return WCS_E_FULL;
    }
    list_push(&s->queue, c);
    s->st.queued++;
    return 0;
}

static int check_ctx(const struct store_ctx *ctx)
{
    if (!ctx || !ctx->actor || !ctx->actor[0] || strlen(ctx->actor) > 128)
        return -EINVAL;
    if (ctx->cause && strlen(ctx->cause) > 256)
        return -EINVAL;
    if (ctx->op_id && store_id_check(ctx->op_id) != 0)
        return -EINVAL;
    if (ctx->claim &&
        (store_id_check(ctx->claim->user) != 0 || store_id_check(ctx->claim->request_id) != 0 ||
         !store_claim_token_ok(ctx->claim->token)))
        return -EINVAL;
    return 0;
}

static bool line_ok(const struct store_line *l)
{
    return l && store_id_check(l->sku) == 0 && store_path_check(l->loc) == 0 &&
           store_lot_check(l->lot ? l->lot : "") == 0;
}

/* Starts "EVALSHA sha numkeys journal op kpi" for a script with n_extra more keys and room for
 * n_args own arguments. */
static int script_begin(struct store *s, const struct store_ctx *ctx, const char *name, int n_extra,
                        int n_args, bool write, struct cmd **out)
{
    int idx = script_index(name), rc;
    struct cmd *c;
    assert(idx >= 0);
    rc = check_ctx(ctx);
    if (rc)
        return rc;
    c = cmd_new(s, K_SCRIPT, 3 + 3 + n_extra + 6 + n_args + (ctx->claim ? 2 : 0));
    if (!c)
        return -ENOMEM;
    c->script = idx;
    c->n_keys = 3 + n_extra;
    c->claim = ctx->claim;
    c->write = write;
    if (ctx->op_id)
        snprintf(c->op_id, sizeof(c->op_id), "%s", ctx->op_id);
    else
        snprintf(c->op_id, sizeof(c->op_id), "%s-%" PRIu64, s->instance, ++s->next_op);
    rc = arg_s(c, "EVALSHA");
    rc = rc ? rc : arg_s(c, store_scripts[idx].sha1);
    rc = rc ? rc : arg_i64(c, 3 + n_extra);
    rc = rc ? rc : arg_key(c, "journal", NULL);
    rc = rc ? rc : arg_key(c, "op", c->op_id);
    rc = rc ? rc : arg_key(c, "kpi", NULL);
    if (rc) {
        cmd_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Appends the common arguments (after all keys). */
static int script_common_args(struct store *s, struct cmd *c, const struct store_ctx *ctx)
{
    int64_t ts = ctx->ts_ms ? ctx->ts_ms : clock_wall_ms(loop_clock(s->loop));
    int rc = arg_s(c, ctx->actor);
    rc = rc ? rc : arg_s(c, ctx->cause ? ctx->cause : "");
    rc = rc ? rc : arg_s(c, c->op_id);
    rc = rc ? rc : arg_i64(c, ts);
    rc = rc ? rc : arg_s(c, s->maxlen_s);
    rc = rc ? rc : arg_s(c, s->ttl_s);
    return rc;
}

static int request_key(struct cmd *c, const char *user, const char *request_id);

/* A guarded script (store_claim): the request key goes after the script's keys and the token
 * after all arguments, where the prelude takes them off (wcs/store/lua/prelude.lua). */
static int add_guard(struct cmd *c)
{
    char nk[16];
    int at = 3 + c->n_keys, rc;
    size_t off, len;
    if (c->argc < at + 6)
        return -EINVAL;
    rc = request_key(c, c->claim->user, c->claim->request_id);
    if (rc)
        return rc;
    /* Move the key just added (the last argument) to its place after the keys. */
    off = c->off[c->argc - 1];
    len = c->len[c->argc - 1];
    memmove(c->off + at + 1, c->off + at, (size_t)(c->argc - 1 - at) * sizeof(*c->off));
    memmove(c->len + at + 1, c->len + at, (size_t)(c->argc - 1 - at) * sizeof(*c->len));
    c->off[at] = off;
    c->len[at] = len;
    c->n_keys++;
    snprintf(nk, sizeof(nk), "%d", c->n_keys);
    rc = arg_s(c, nk);
    if (rc)
        return rc;
    /* The new count replaces EVALSHA's numkeys (argument 2). */
    c->argc--;
    c->off[2] = c->off[c->argc];
    c->len[2] = c->len[c->argc];
    return arg_s(c, c->claim->token);
}

static int finish_build(struct store *s, struct cmd *c, int rc, store_cb cb, void *arg)
{
    if (rc == 0 && c->kind == K_SCRIPT && c->claim) {
        rc = add_guard(c);
        c->claim = NULL;
    }
    if (rc) {
        cmd_free(c);
        return rc == WCS_E_EXHAUSTED ? -EINVAL : rc;
    }
    return submit(s, c, cb, arg);
}

/* Appends wcs:{site}:<kind>:<id>:<suffix>. */
static int arg_key_sub(struct cmd *c, const char *kind, const char *id, const char *suffix)
{
    char k[STORE_KEY_MAX];
    int n;
    if (store_id_check(id) != 0)
        return -EINVAL;
    n = snprintf(k, sizeof(k), "wcs:{%s}:%s:%s:%s", c->s->site, kind, id, suffix);
    if (n < 0 || (size_t)n >= sizeof(k))
        return -EINVAL;
    return arg_n(c, k, (size_t)n);
}

static int reserve_like(struct store *s, const char *script, bool write, bool allow_zero,
                        const struct store_ctx *ctx, const char *order_id,
                        const struct store_line *lines, size_t n, store_cb cb, void *arg)
{
    struct cmd *c;
    int rc;
    if (!s || store_id_check(order_id) != 0 || !lines || n == 0 || n > STORE_LINES_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!line_ok(&lines[i]) || lines[i].qty < 0 || (lines[i].qty == 0 && !allow_zero))
            return -EINVAL;
    rc = script_begin(s, ctx, script, 1 + (int)n, 1 + (int)n, write, &c);
    if (rc)
        return rc;
    rc = arg_key_sub(c, "order", order_id, "resv");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = arg_quant(c, &lines[i]);
    rc = rc ? rc : script_common_args(s, c, ctx);
    rc = rc ? rc : arg_s(c, order_id);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = arg_i64(c, lines[i].qty);
    return finish_build(s, c, rc, cb, arg);
}

int store_reserve_commit(struct store *s, const struct store_ctx *ctx, const char *order_id,
                         const struct store_line *lines, size_t n, store_cb cb, void *arg)
{
    return reserve_like(s, "reserve_commit", false, false, ctx, order_id, lines, n, cb, arg);
}

int store_unreserve(struct store *s, const struct store_ctx *ctx, const char *order_id,
                    const struct store_line *lines, size_t n, store_cb cb, void *arg)
{
    return reserve_like(s, "unreserve", true, true, ctx, order_id, lines, n, cb, arg);
}

static int arg_loc_index(struct cmd *c, const char *loc)
{
    char k[STORE_KEY_MAX];
    int n;
    if (store_path_check(loc) != 0)
        return -EINVAL;
    n = snprintf(k, sizeof(k), "wcs:{%s}:loc:%s:quants", c->s->site, loc);
    if (n < 0 || (size_t)n >= sizeof(k))
        return -EINVAL;
    return arg_n(c, k, (size_t)n);
}

int store_pick_confirm(struct store *s, const struct store_ctx *ctx, const char *order_id,
                       const struct store_line *line, const char *tote_id, store_cb cb, void *arg)
{
    struct cmd *c;
    char field[2 * STORE_ID_MAX + 2];
    int rc;
    if (!s || store_id_check(order_id) != 0 || store_id_check(tote_id) != 0 || !line_ok(line) ||
        line->qty <= 0)
        return -EINVAL;
    rc = script_begin(s, ctx, "pick_confirm", 4, 4, true, &c);
    if (rc)
        return rc;
    snprintf(field, sizeof(field), "%s:%s", line->sku, line->lot ? line->lot : "");
    rc = arg_key_sub(c, "order", order_id, "resv");
    rc = rc ? rc : arg_quant(c, line);
    rc = rc ? rc : arg_key_sub(c, "tote", tote_id, "contents");
    rc = rc ? rc : arg_key(c, "tote", tote_id);
    rc = rc ? rc : script_common_args(s, c, ctx);
    rc = rc ? rc : arg_s(c, order_id);
    rc = rc ? rc : arg_i64(c, line->qty);
    rc = rc ? rc : arg_s(c, tote_id);
    rc = rc ? rc : arg_s(c, field);
    return finish_build(s, c, rc, cb, arg);
}

int store_receive(struct store *s, const struct store_ctx *ctx, const char *receipt_id,
                  const struct store_line *line, store_cb cb, void *arg)
{
    struct cmd *c;
    int rc;
    if (!s || store_id_check(receipt_id) != 0 || !line_ok(line) || line->qty <= 0)
        return -EINVAL;
    rc = script_begin(s, ctx, "receive", 4, 5, true, &c);
    if (rc)
        return rc;
    rc = arg_quant(c, line);
    rc = rc ? rc : arg_loc_index(c, line->loc);
    rc = rc ? rc : arg_key_sub(c, "sku", line->sku, "quants");
    rc = rc ? rc : arg_key(c, "receipt", receipt_id);
    rc = rc ? rc : script_common_args(s, c, ctx);
    rc = rc ? rc : arg_s(c, receipt_id);
    rc = rc ? rc : arg_i64(c, line->qty);
    rc = rc ? rc : arg_s(c, line->sku);
    rc = rc ? rc : arg_s(c, line->loc);
    rc = rc ? rc : arg_s(c, line->lot ? line->lot : "");
    return finish_build(s, c, rc, cb, arg);
}

int store_move(struct store *s, const struct store_ctx *ctx, const struct store_line *line,
               const char *to_loc, store_cb cb, void *arg)
{
    struct store_line to;
    struct cmd *c;
    int rc;
    if (!s || !line_ok(line) || line->qty <= 0 || store_path_check(to_loc) != 0)
        return -EINVAL;
    to = *line;
    to.loc = to_loc;
    rc = script_begin(s, ctx, "move", 4, 4, true, &c);
    if (rc)
        return rc;
    rc = arg_quant(c, line);
    rc = rc ? rc : arg_quant(c, &to);
    rc = rc ? rc : arg_loc_index(c, to_loc);
    rc = rc ? rc : arg_key_sub(c, "sku", line->sku, "quants");
    rc = rc ? rc : script_common_args(s, c, ctx);
    rc = rc ? rc : arg_i64(c, line->qty);
    rc = rc ? rc : arg_s(c, line->sku);
    rc = rc ? rc : arg_s(c, to_loc);
    rc = rc ? rc : arg_s(c, line->lot ? line->lot : "");
    return finish_build(s, c, rc, cb, arg);
}

int store_adjust(struct store *s, const struct store_ctx *ctx, const struct store_line *line,
                 const char *reason, store_cb cb, void *arg)
{
    return store_adjust_valued(s, ctx, line, reason, -1, cb, arg);
}

int store_adjust_valued(struct store *s, const struct store_ctx *ctx, const struct store_line *line,
                        const char *reason, int64_t value_cents, store_cb cb, void *arg)
{
    struct cmd *c;
    int rc;
    if (!s || !line_ok(line) || line->qty == 0 || !reason || !reason[0] || strlen(reason) > 256 ||
        value_cents < -1)
        return -EINVAL;
    rc = script_begin(s, ctx, "adjust", 3, value_cents >= 0 ? 6 : 5, true, &c);
    if (rc)
        return rc;
    rc = arg_quant(c, line);
    rc = rc ? rc : arg_loc_index(c, line->loc);
    rc = rc ? rc : arg_key_sub(c, "sku", line->sku, "quants");
    rc = rc ? rc : script_common_args(s, c, ctx);
    rc = rc ? rc : arg_i64(c, line->qty);
    rc = rc ? rc : arg_s(c, reason);
    rc = rc ? rc : arg_s(c, line->sku);
    rc = rc ? rc : arg_s(c, line->loc);
    rc = rc ? rc : arg_s(c, line->lot ? line->lot : "");
    if (value_cents >= 0)
        rc = rc ? rc : arg_i64(c, value_cents);
    return finish_build(s, c, rc, cb, arg);
}

int store_ship(struct store *s, const struct store_ctx *ctx, const char *shipment_id,
               const char *tote_id, const char *order_id, const char *carrier, store_cb cb,
               void *arg)
{
    struct cmd *c;
    int rc;
    if (!s || store_id_check(shipment_id) != 0 || store_id_check(tote_id) != 0 ||
        store_id_check(order_id) != 0 || store_id_check(carrier) != 0)
        return -EINVAL;
    rc = script_begin(s, ctx, "ship", 3, 4, true, &c);
    if (rc)
        return rc;
    rc = arg_key_sub(c, "tote", tote_id, "contents");
    rc = rc ? rc : arg_key(c, "tote", tote_id);
    rc = rc ? rc : arg_key(c, "shipment", shipment_id);
    rc = rc ? rc : script_common_args(s, c, ctx);
    rc = rc ? rc : arg_s(c, shipment_id);
    rc = rc ? rc : arg_s(c, tote_id);
    rc = rc ? rc : arg_s(c, order_id);
    rc = rc ? rc : arg_s(c, carrier);
    return finish_build(s, c, rc, cb, arg);
}

/* wcs:{site}:req:<user>:<request_id> into k (STORE_KEY_MAX): its length, or -EINVAL. */
static int request_key_text(const struct store *s, const char *user, const char *request_id,
                            char *k)
{
    int n;
    if (store_id_check(user) != 0 || store_id_check(request_id) != 0)
        return -EINVAL;
    n = snprintf(k, STORE_KEY_MAX, "wcs:{%s}:req:%s:%s", s->site, user, request_id);
    return n < 0 || n >= STORE_KEY_MAX ? -EINVAL : n;
}

static int request_key(struct cmd *c, const char *user, const char *request_id)
{
    char k[STORE_KEY_MAX];
    int n = request_key_text(c->s, user, request_id, k);
    return n < 0 ? n : arg_n(c, k, (size_t)n);
}

bool store_claim_token_ok(const char *token)
{
    size_t n;
    if (!token || token[0] != '~')
        return false;
    n = strlen(token + 1);
    return n >= 1 && n <= 47 &&
           strspn(token + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789._-") == n;
}

int store_request_claim(struct store *s, const char *user, const char *request_id,
                        const char *token, uint32_t ttl_s, store_cb cb, void *arg)
{
    struct cmd *c;
    int rc;
    if (!s || ttl_s == 0 || store_id_check(user) != 0 || store_id_check(request_id) != 0 ||
        !store_claim_token_ok(token))
        return -EINVAL;
    c = cmd_new(s, K_CLAIM, 7);
    if (!c)
        return -ENOMEM;
    /* SET NX GET (Redis >= 7.0): claims and, when already claimed, returns the stored reply
     * in the same round trip. The token means "claimed, no reply yet". */
    rc = arg_s(c, "SET");
    rc = rc ? rc : request_key(c, user, request_id);
    rc = rc ? rc : arg_s(c, token);
    rc = rc ? rc : arg_s(c, "NX");
    rc = rc ? rc : arg_s(c, "GET");
    rc = rc ? rc : arg_s(c, "EX");
    rc = rc ? rc : arg_i64(c, ttl_s);
    return finish_build(s, c, rc, cb, arg);
}

int store_request_settle(struct store *s, const struct store_ctx *ctx, const char *reply,
                         uint32_t ttl_s, store_cb cb, void *arg)
{
    char key[STORE_KEY_MAX], ttl[16];
    const char *keys[1] = {key}, *args[2] = {reply, ttl};
    if (!s || !ctx || !ctx->claim || !reply || reply[0] != '{' || ttl_s == 0 ||
        request_key_text(s, ctx->claim->user, ctx->claim->request_id, key) < 0)
        return -EINVAL;
    snprintf(ttl, sizeof(ttl), "%" PRIu32, ttl_s);
    return store_script_run(s, ctx, "request_settle", true, keys, 1, args, 2, cb, arg);
}

int store_request_reply(struct store *s, const char *user, const char *request_id,
                        const char *reply, uint32_t ttl_s, store_cb cb, void *arg)
{
    struct cmd *c;
    int rc;
    if (!s || ttl_s == 0 || !reply || store_id_check(user) != 0 || store_id_check(request_id) != 0)
        return -EINVAL;
    c = cmd_new(s, K_SET, 5);
    if (!c)
        return -ENOMEM;
    c->write = true;
    rc = arg_s(c, "SET");
    rc = rc ? rc : request_key(c, user, request_id);
    rc = rc ? rc : arg_s(c, reply);
    rc = rc ? rc : arg_s(c, "EX");
    rc = rc ? rc : arg_i64(c, ttl_s);
    return finish_build(s, c, rc, cb, arg);
}

/* ---- hooks for the store's feature files (hook.h) ---- */

int store_script_run(struct store *s, const struct store_ctx *ctx, const char *name, bool write,
                     const char *const *keys, size_t n_keys, const char *const *args, size_t n_args,
                     store_cb cb, void *arg)
{
    struct cmd *c;
    int rc;
    if (!s || !name || script_index(name) < 0 || n_keys > 1024 || n_args > 2048)
        return -EINVAL;
    rc = script_begin(s, ctx, name, (int)n_keys, (int)n_args, write, &c);
    if (rc)
        return rc;
    for (size_t i = 0; rc == 0 && i < n_keys; i++)
        rc = keys[i] ? arg_s(c, keys[i]) : -EINVAL;
    rc = rc ? rc : script_common_args(s, c, ctx);
    for (size_t i = 0; rc == 0 && i < n_args; i++)
        rc = args[i] ? arg_s(c, args[i]) : -EINVAL;
    return finish_build(s, c, rc, cb, arg);
}

int store_raw(struct store *s, bool write, size_t argc, const char *const *argv, store_raw_cb cb,
              void *arg)
{
    struct cmd *c;
    int rc = 0;
    if (!s || !argv || argc == 0 || argc > 4096)
        return -EINVAL;
    c = cmd_new(s, K_RAW, (int)argc);
    if (!c)
        return -ENOMEM;
    c->write = write;
    for (size_t i = 0; rc == 0 && i < argc; i++)
        rc = argv[i] ? arg_s(c, argv[i]) : -EINVAL;
    if (rc) {
        cmd_free(c);
        return rc == WCS_E_EXHAUSTED ? -EINVAL : rc;
    }
    c->raw_cb = cb;
    return submit(s, c, NULL, arg);
}

struct hash_read {
    store_cb cb;
    void *arg;
    size_t n;
};

static void on_hash_read(void *arg, int rc, const char *msg, const struct store_item *items,
                         size_t n)
{
    struct hash_read *h = arg;
    const char *values[STORE_HASH_READ_MAX];
    struct store_result res = {.rc = rc, .message = msg};
    if (rc == 0 && n != h->n) {
        res.rc = WCS_E_PROTOCOL;
        res.message = "HMGET answered another number of values";
    }
    for (size_t i = 0; res.rc == 0 && i < n; i++)
        values[i] = items[i].nil ? "" : items[i].str;
    if (res.rc == 0) {
        res.n_values = n;
        res.values = values;
    }
    h->cb(h->arg, &res);
    free(h);
}

int store_hash_read(struct store *s, const char *key, const char *const *fields, size_t n,
                    store_cb cb, void *arg)
{
    const char *argv[2 + STORE_HASH_READ_MAX] = {"HMGET", key};
    struct hash_read *h;
    int rc;
    if (!s || !key || !fields || !cb || n < 1 || n > STORE_HASH_READ_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        argv[2 + i] = fields[i];
    h = malloc(sizeof(*h));
    if (!h)
        return -ENOMEM;
    *h = (struct hash_read){cb, arg, n};
    rc = store_raw(s, false, 2 + n, argv, on_hash_read, h);
    if (rc)
        free(h);
    return rc;
}
