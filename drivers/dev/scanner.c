/* Barcode scanner device class: the pure line splitter and classifier of the line model, and
 * the two models behind one const ops table each: "line" over a TCP/serial link and "hidpos"
 * over a USB HID device with the hidpos reassembler (drivers/codec/hidpos.h). */
#include "drivers/scanner.h"

#include "base/err.h"
#include "drivers/codec/aim.h"
#include "drivers/codec/hidpos.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- pure part ---- */

void scan_line_init(struct scan_line_framer *f, size_t max_len)
{
    memset(f, 0, sizeof(*f));
    f->max_len = max_len == 0 || max_len > SCAN_DATA_MAX ? SCAN_DATA_MAX : max_len;
}

int scan_line_feed(struct scan_line_framer *f, const uint8_t *data, size_t len, size_t *consumed,
                   size_t *line_len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (c == '\r' || c == '\n') {
            bool had = f->len > 0 && !f->overflow;
            size_t n = f->len;
            if (f->overflow)
                f->overlong++;
            f->overflow = false;
            f->len = 0;
            if (had) {
                f->buf[n] = '\0';
                *line_len = n;
                *consumed = i + 1;
                return 1;
            }
            continue;
        }
        if (f->overflow)
            continue;
        if (f->len == f->max_len) {
            f->overflow = true;
            f->len = 0;
            continue;
        }
        f->buf[f->len++] = (char)c;
    }
    *consumed = len;
    return 0;
}

static bool token_is(const char *data, size_t len, const char *tok)
{
    size_t n = strlen(tok);
    return n > 0 && n == len && memcmp(data, tok, n) == 0;
}

int scan_line_classify(const char *line, size_t len, const char *no_read, const char *multi_read,
                       struct scan_read *out)
{
    struct aim_id id;
    const char *d;
    size_t n;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != 0x1d) || c == 0x7f)
            return WCS_E_SYNTAX;
    }
    (void)aim_parse(line, len, &id);
    d = line + id.data_offset;
    n = len - id.data_offset;
    memset(out, 0, sizeof(*out));
    memcpy(out->aim, id.text, sizeof(out->aim));
    out->data = d;
    out->len = n;
    /* Readers send the no-read text with or without the AIM prefix depending on firmware. */
    if ((no_read && (token_is(line, len, no_read) || token_is(d, n, no_read))) || len == 0)
        out->result = SCAN_NOREAD;
    else if (multi_read && (token_is(line, len, multi_read) || token_is(d, n, multi_read)))
        out->result = SCAN_MULTI;
    else
        out->result = SCAN_GOOD;
    return 0;
}

/* ---- device ---- */

struct scanner {
    const struct scan_ops *ops;
    struct loop *loop;
    struct scan_cfg cfg;
    struct scan_cbs cbs;
    void *arg;
    enum link_state state;
    struct scan_stats st;
    struct link *link;
    struct usb_hid *hid;
    struct scan_line_framer fr;
    struct hidpos_scan_asm *as;
    struct hidpos_scan *scan;
};

struct scan_ops {
    const char *model;
    int (*open)(struct scanner *s, struct usb_host *usb);
    void (*close)(struct scanner *s);
};

static void deliver(struct scanner *s, const struct scan_read *r)
{
    switch (r->result) {
    case SCAN_GOOD:
        s->st.reads++;
        break;
    case SCAN_NOREAD:
        s->st.noreads++;
        break;
    case SCAN_MULTI:
        s->st.multireads++;
        break;
    }
    if (s->cbs.on_read)
        s->cbs.on_read(s, r, s->arg);
}

static void set_state(struct scanner *s, enum link_state st, int rc)
{
    s->state = st;
    if (s->cbs.on_state)
        s->cbs.on_state(s, st, rc, s->arg);
}

static void line_data(struct link *k, const uint8_t *data, size_t len, void *arg)
{
    struct scanner *s = arg;

    while (len > 0) {
        size_t used = 0, n = 0;
        int got = scan_line_feed(&s->fr, data, len, &used, &n);
        data += used;
        len -= used;
        s->st.overlong = s->fr.overlong;
        if (got == 1) {
            struct scan_read r;
            if (scan_line_classify(s->fr.buf, n, s->cfg.no_read, s->cfg.multi_read, &r) < 0) {
                s->st.bad++;
                continue;
            }
            deliver(s, &r);
        }
    }
}

static void line_state(struct link *k, enum link_state st, int rc, void *arg)
{
    struct scanner *s = arg;

    if (st == LINK_UP)
        scan_line_init(&s->fr, s->cfg.max_len); /* a partial line from before is garbage */
    set_state(s, st, rc);
}

static int line_open(struct scanner *s, struct usb_host *usb)
{
    static const struct link_cbs cbs = {line_data, line_state};

    scan_line_init(&s->fr, s->cfg.max_len);
    return link_open(&s->link, s->loop, &s->cfg.addr, NULL, &cbs, s);
}

static void line_close(struct scanner *s)
{
    link_close(s->link);
}

static void hid_report(struct usb_hid *d, const uint8_t *rep, size_t len, void *arg)
{
    struct scanner *s = arg;
    int rc = hidpos_scan_asm_feed(s->as, rep, len, s->scan);

    if (rc == 1) {
        struct scan_read r = {.result = SCAN_GOOD};
        memcpy(r.aim, s->scan->aim, sizeof(r.aim));
        r.data = (const char *)s->scan->data;
        r.len = s->scan->len;
        if (r.len == 0)
            r.result = SCAN_NOREAD;
        deliver(s, &r);
    } else if (rc == WCS_E_FULL) {
        s->st.overlong++;
    } else if (rc < 0) {
        s->st.bad++;
    }
}

static void hid_state(struct usb_hid *d, enum link_state st, int rc, void *arg)
{
    struct scanner *s = arg;

    if (st != LINK_UP)
        hidpos_scan_asm_init(s->as, s->cfg.max_len);
    set_state(s, st, rc);
}

static int hid_open(struct scanner *s, struct usb_host *usb)
{
    static const struct usb_hid_cbs cbs = {hid_report, hid_state};

    if (!usb)
        return WCS_E_CONFIG;
    s->as = malloc(sizeof(*s->as));
    s->scan = malloc(sizeof(*s->scan));
    if (!s->as || !s->scan)
        return -ENOMEM;
    hidpos_scan_asm_init(s->as, s->cfg.max_len);
    return usb_hid_open(&s->hid, usb, &s->cfg.usb, NULL, &cbs, s);
}

static void hid_close(struct scanner *s)
{
    usb_hid_close(s->hid);
}

static const struct scan_ops line_ops = {"line", line_open, line_close};
static const struct scan_ops hid_ops = {"hidpos", hid_open, hid_close};

int scan_open(struct scanner **out, struct loop *loop, struct usb_host *usb,
              const struct scan_cfg *cfg, const struct scan_cbs *cbs, void *arg)
{
    struct scanner *s;
    int rc;

    if (cfg->model != SCAN_LINE && cfg->model != SCAN_HIDPOS)
        return WCS_E_CONFIG;
    if (cfg->no_read[0] && strcmp(cfg->no_read, cfg->multi_read) == 0)
        return WCS_E_CONFIG;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ops = cfg->model == SCAN_LINE ? &line_ops : &hid_ops;
    s->loop = loop;
    s->cfg = *cfg;
    if (s->cfg.max_len == 0 || s->cfg.max_len > SCAN_DATA_MAX)
        s->cfg.max_len = SCAN_DATA_MAX;
    s->cfg.no_read[SCAN_TOKEN_MAX] = s->cfg.multi_read[SCAN_TOKEN_MAX] = '\0';
    if (cbs)
        s->cbs = *cbs;
    s->arg = arg;
    s->state = LINK_DOWN;
    rc = s->ops->open(s, usb);
    if (rc < 0) {
        free(s->as);
        free(s->scan);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void scan_close(struct scanner *s)
{
    if (!s)
        return;
    s->ops->close(s);
    free(s->as);
    free(s->scan);
    free(s);
}

enum link_state scan_get_state(const struct scanner *s)
{
    return s->state;
}

void scan_get_stats(const struct scanner *s, struct scan_stats *out)
{
    *out = s->st;
}
