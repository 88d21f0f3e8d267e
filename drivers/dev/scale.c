/* Scale device class: one const ops table per model (MT-SICS and NCI over a link, HID POS over
 * USB) behind scale_request / scale_zero, with one pending request at a time guarded by a loop
 * timer. The codecs (mtsics.h, nci.h, hidpos.h) do all the parsing. */
#include "drivers/scale.h"

#include "base/err.h"
#include "base/loop.h"
#include "drivers/codec/hidpos.h"
#include "drivers/codec/mtsics.h"
#include "drivers/codec/nci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum pending { P_NONE, P_READ, P_ZERO };

struct scale_ops {
    const char *model;
    int (*open)(struct scale *s, struct usb_host *usb);
    void (*close)(struct scale *s);
    int (*request)(struct scale *s); /* sends what asks for a reading */
    int (*zero)(struct scale *s);    /* NULL: not supported */
};

struct scale {
    const struct scale_ops *ops;
    struct loop *loop;
    struct scale_cfg cfg;
    struct scale_cbs cbs;
    void *arg;
    enum link_state state;
    struct scale_stats st;
    enum pending pending;
    uint64_t timer, retry_timer;
    bool timer_armed, retry_armed;
    struct link *link;
    struct usb_hid *hid;
    bool discard_next; /* hidpos: the first report after open may be stale */
    struct mtsics_framer mf;
    struct nci_framer nf;
};

static void cancel(struct scale *s)
{
    if (s->timer_armed)
        (void)loop_cancel_timer(s->loop, s->timer);
    if (s->retry_armed)
        (void)loop_cancel_timer(s->loop, s->retry_timer);
    s->timer_armed = s->retry_armed = false;
}

/* Ends the pending request or zero with rc (and r for a reading). */
static void finish(struct scale *s, int rc, const struct scale_reading *r)
{
    enum pending p = s->pending;

    if (p == P_NONE)
        return;
    cancel(s);
    s->pending = P_NONE;
    if (rc < 0)
        s->st.errors++;
    if (p == P_READ) {
        if (rc == 0)
            s->st.readings++;
        if (s->cbs.on_reading)
            s->cbs.on_reading(s, rc, rc == 0 ? r : NULL, s->arg);
    } else if (s->cbs.on_zero) {
        s->cbs.on_zero(s, rc, s->arg);
    }
}

static void on_timeout(struct loop *l, uint64_t id, void *arg)
{
    struct scale *s = arg;

    s->timer_armed = false;
    s->st.timeouts++;
    finish(s, -ETIMEDOUT, NULL);
}

static int start(struct scale *s, enum pending p)
{
    int rc;

    if (s->pending != P_NONE)
        return WCS_E_STATE;
    if (s->state != LINK_UP)
        return WCS_E_LINK;
    rc = p == P_READ ? s->ops->request(s) : s->ops->zero(s);
    if (rc < 0)
        return rc;
    s->pending = p;
    if (loop_add_timer(s->loop, (uint64_t)s->cfg.reply_timeout_ms * 1000, on_timeout, s,
                       &s->timer) == 0)
        s->timer_armed = true;
    return 0;
}

static void set_state(struct scale *s, enum link_state st, int rc)
{
    s->state = st;
    if (st != LINK_UP)
        finish(s, WCS_E_LINK, NULL);
    if (s->cbs.on_state)
        s->cbs.on_state(s, st, rc, s->arg);
}

static void link_state_cb(struct link *k, enum link_state st, int rc, void *arg)
{
    struct scale *s = arg;

    if (st == LINK_UP) {
        mtsics_framer_init(&s->mf);
        nci_framer_init(&s->nf);
    }
    set_state(s, st, rc);
}

static int send_cmd(struct scale *s, const char *buf, int n)
{
    return n < 0 ? n : link_write(s->link, buf, (size_t)n);
}

/* ---- MT-SICS ---- */

static void mt_line(struct scale *s, const char *line, size_t len)
{
    struct mtsics_reply r;
    struct scale_reading rd;

    if (mtsics_parse(line, len, &r) < 0) {
        s->st.bad_replies++;
        finish(s, WCS_E_PROTOCOL, NULL);
        return;
    }
    if (s->pending == P_ZERO && r.cmd == MTSICS_CMD_Z) {
        finish(s, r.status == MTSICS_ST_DONE ? 0 : WCS_E_STATE, NULL);
        return;
    }
    if (s->pending != P_READ || (r.cmd != MTSICS_CMD_S && r.cmd != MTSICS_CMD_NONE))
        return; /* not an answer to what we asked */
    switch (r.status) {
    case MTSICS_ST_STABLE:
    case MTSICS_ST_DYNAMIC:
        rd.weight_mg = r.weight_mg;
        rd.stable = r.status == MTSICS_ST_STABLE;
        finish(s, 0, &rd);
        break;
    case MTSICS_ST_OVERLOAD:
    case MTSICS_ST_UNDERLOAD:
        finish(s, WCS_E_RANGE, NULL);
        break;
    case MTSICS_ST_BUSY:
    case MTSICS_ST_LOGICAL:
    case MTSICS_ST_ERR_LOGICAL:
        finish(s, WCS_E_STATE, NULL);
        break;
    default:
        s->st.bad_replies++;
        finish(s, WCS_E_PROTOCOL, NULL);
        break;
    }
}

static void mt_data(struct link *k, const uint8_t *data, size_t len, void *arg)
{
    struct scale *s = arg;
    char line[MTSICS_LINE_MAX];

    while (len > 0) {
        size_t used = 0, n = 0;
        int got = mtsics_framer_feed(&s->mf, data, len, &used, line, &n);
        data += used;
        len -= used;
        if (got == 1)
            mt_line(s, line, n);
    }
}

static int link_model_open(struct scale *s,
                           void (*on_data)(struct link *, const uint8_t *, size_t, void *))
{
    struct link_cbs cbs = {on_data, link_state_cb};

    mtsics_framer_init(&s->mf);
    nci_framer_init(&s->nf);
    return link_open(&s->link, s->loop, &s->cfg.addr, NULL, &cbs, s);
}

static int mt_open(struct scale *s, struct usb_host *usb)
{
    return link_model_open(s, mt_data);
}

static void link_model_close(struct scale *s)
{
    link_close(s->link);
}

static int mt_request(struct scale *s)
{
    char buf[16];
    /* S waits for a stable weight in the scale; SI answers at once (S S or S D). */
    return send_cmd(
        s, buf,
        mtsics_build(s->cfg.deliver_unstable ? MTSICS_CMD_SI : MTSICS_CMD_S, buf, sizeof(buf)));
}

static int mt_zero(struct scale *s)
{
    char buf[16];
    return send_cmd(s, buf, mtsics_build(MTSICS_CMD_Z, buf, sizeof(buf)));
}

/* ---- NCI ---- */

static int nci_request(struct scale *s)
{
    char buf[8];
    return send_cmd(s, buf, nci_build(NCI_CMD_WEIGHT, buf, sizeof(buf)));
}

static void nci_retry(struct loop *l, uint64_t id, void *arg)
{
    struct scale *s = arg;

    s->retry_armed = false;
    if (s->pending == P_READ && nci_request(s) < 0)
        finish(s, WCS_E_LINK, NULL);
}

static void nci_frame(struct scale *s, const uint8_t *frame, size_t len)
{
    struct nci_reply r;
    struct scale_reading rd;

    if (nci_parse(frame, len, &r) < 0 || r.kind == NCI_REPLY_UNRECOGNISED) {
        s->st.bad_replies++;
        finish(s, WCS_E_PROTOCOL, NULL);
        return;
    }
    if (s->pending == P_ZERO) {
        finish(s, 0, NULL);
        return;
    }
    if (s->pending != P_READ || r.kind != NCI_REPLY_WEIGHT)
        return;
    if (r.status & (NCI_ST_OVER_CAPACITY | NCI_ST_UNDER_CAPACITY)) {
        finish(s, WCS_E_RANGE, NULL);
        return;
    }
    if (!r.has_weight || (r.status & (NCI_ST_RAM_ERROR | NCI_ST_EEPROM_ERROR | NCI_ST_ROM_ERROR |
                                      NCI_ST_BAD_CALIBRATION))) {
        finish(s, WCS_E_STATE, NULL);
        return;
    }
    if ((r.status & NCI_ST_MOTION) && !s->cfg.deliver_unstable) {
        /* SCP-01 has no "wait for stable" command: ask again until the motion bit clears or
         * the request times out. */
        if (!s->retry_armed && loop_add_timer(s->loop, (uint64_t)s->cfg.retry_ms * 1000, nci_retry,
                                              s, &s->retry_timer) == 0)
            s->retry_armed = true;
        return;
    }
    rd.weight_mg = r.weight_mg;
    rd.stable = !(r.status & NCI_ST_MOTION);
    finish(s, 0, &rd);
}

static void nci_data(struct link *k, const uint8_t *data, size_t len, void *arg)
{
    struct scale *s = arg;
    uint8_t frame[NCI_FRAME_MAX];

    while (len > 0) {
        size_t used = 0, n = 0;
        int got = nci_framer_feed(&s->nf, data, len, &used, frame, &n);
        data += used;
        len -= used;
        if (got == 1)
            nci_frame(s, frame, n);
    }
}

static int nci_open(struct scale *s, struct usb_host *usb)
{
    return link_model_open(s, nci_data);
}

static int nci_zero(struct scale *s)
{
    char buf[8];
    return send_cmd(s, buf, nci_build(NCI_CMD_ZERO, buf, sizeof(buf)));
}

/* ---- HID POS ---- */

static void hid_report(struct usb_hid *d, const uint8_t *rep, size_t len, void *arg)
{
    struct scale *s = arg;
    struct hidpos_scale_reading r;
    struct scale_reading rd;

    if (s->discard_next) {
        s->discard_next = false;
        s->st.stale_discarded++;
        return;
    }
    if (hidpos_scale_decode(rep, len, &r) < 0) {
        s->st.bad_replies++;
        return; /* a stray report: the next one may be good */
    }
    if (s->pending != P_READ)
        return;
    if (!r.has_weight) {
        finish(s,
               r.status == HIDPOS_SCALE_UNDER_ZERO || r.status == HIDPOS_SCALE_OVERWEIGHT
                   ? WCS_E_RANGE
                   : WCS_E_STATE,
               NULL);
        return;
    }
    if (!r.stable && !s->cfg.deliver_unstable)
        return; /* the scale reports continuously: wait for a stable one */
    rd.weight_mg = r.weight_mg;
    rd.stable = r.stable;
    finish(s, 0, &rd);
}

static void hid_state(struct usb_hid *d, enum link_state st, int rc, void *arg)
{
    struct scale *s = arg;

    if (st == LINK_UP)
        s->discard_next = true;
    set_state(s, st, rc);
}

static int hid_open(struct scale *s, struct usb_host *usb)
{
    static const struct usb_hid_cbs cbs = {hid_report, hid_state};

    if (!usb)
        return WCS_E_CONFIG;
    return usb_hid_open(&s->hid, usb, &s->cfg.usb, NULL, &cbs, s);
}

static void hid_close(struct scale *s)
{
    usb_hid_close(s->hid);
}

static int hid_request(struct scale *s)
{
    return 0; /* the scale sends reports by itself */
}

static void hid_zero_done(struct loop *l, uint64_t id, void *arg)
{
    struct scale *s = arg;

    s->retry_armed = false;
    finish(s, 0, NULL);
}

static int hid_zero(struct scale *s)
{
    uint8_t rep[4];
    int n = hidpos_scale_zero_report(rep, sizeof(rep)), rc;

    rc = n < 0 ? n : usb_hid_write(s->hid, rep, (size_t)n);
    if (rc < 0)
        return rc;
    /* The report has no answer: the zero is done once sent (checked by the next reading). */
    if (loop_add_timer(s->loop, 0, hid_zero_done, s, &s->retry_timer) == 0)
        s->retry_armed = true;
    return 0;
}

static const struct scale_ops mt_ops = {"mt-sics", mt_open, link_model_close, mt_request, mt_zero};
static const struct scale_ops nci_ops = {"nci", nci_open, link_model_close, nci_request, nci_zero};
static const struct scale_ops hid_ops = {"hidpos", hid_open, hid_close, hid_request, hid_zero};

int scale_open(struct scale **out, struct loop *loop, struct usb_host *usb,
               const struct scale_cfg *cfg, const struct scale_cbs *cbs, void *arg)
{
    struct scale *s;
    int rc;

    if (cfg->model > SCALE_HIDPOS)
        return WCS_E_CONFIG;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->ops = cfg->model == SCALE_MT_SICS ? &mt_ops : cfg->model == SCALE_NCI ? &nci_ops : &hid_ops;
    s->loop = loop;
    s->cfg = *cfg;
    if (!s->cfg.reply_timeout_ms)
        s->cfg.reply_timeout_ms = 2000;
    if (!s->cfg.retry_ms)
        s->cfg.retry_ms = 100;
    if (cbs)
        s->cbs = *cbs;
    s->arg = arg;
    s->state = LINK_DOWN;
    rc = s->ops->open(s, usb);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void scale_close(struct scale *s)
{
    if (!s)
        return;
    cancel(s);
    s->ops->close(s);
    free(s);
}

int scale_request(struct scale *s)
{
    return start(s, P_READ);
}

int scale_zero(struct scale *s)
{
    if (!s->ops->zero)
        return -ENOTSUP;
    return start(s, P_ZERO);
}

enum link_state scale_get_state(const struct scale *s)
{
    return s->state;
}

void scale_get_stats(const struct scale *s, struct scale_stats *out)
{
    *out = s->st;
}

const char *scale_model_name(enum scale_model m)
{
    return m == SCALE_MT_SICS ? "mt-sics" : m == SCALE_NCI ? "nci" : "hidpos";
}
