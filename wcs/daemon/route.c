/* Pure sortation decision: tote id from a label and the lane choice (route.h). */
#include "daemon/route.h"

#include "base/err.h"
#include "drivers/codec/gs1.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

int route_tote_id(const char *data, size_t len, char *id, size_t cap)
{
    struct gs1_element el[8];
    struct aim_id aim;
    bool is_gs1 = false;
    size_t n = 0;

    if (!data || len == 0 || !id || cap == 0)
        return WCS_E_SYNTAX;
    if (gs1_parse_scan(data, len, &aim, &is_gs1, el, 8, &n, NULL) != 0)
        return WCS_E_SYNTAX;
    if (is_gs1) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(el[i].ai, "00") != 0)
                continue;
            if (el[i].value_len + 1 > cap)
                return WCS_E_EXHAUSTED;
            memcpy(id, el[i].value, el[i].value_len + 1);
            return 0;
        }
        return WCS_E_SYNTAX;
    }
    data += aim.data_offset;
    len -= aim.data_offset;
    if (len == 0 || len >= STORE_ID_MAX)
        return WCS_E_SYNTAX;
    if (len + 1 > cap)
        return WCS_E_EXHAUSTED;
    memcpy(id, data, len);
    id[len] = '\0';
    if (memchr(data, '\0', len) || store_id_check(id) != 0) {
        id[0] = '\0';
        return WCS_E_SYNTAX;
    }
    return 0;
}

static const char *const reason_names[ROUTE_REASON_COUNT] = {
    [ROUTE_OK] = "ok",
    [ROUTE_NOREAD] = "no_read",
    [ROUTE_MULTIREAD] = "multi_read",
    [ROUTE_MALFORMED] = "malformed",
    [ROUTE_UNKNOWN_TOTE] = "unknown_tote",
    [ROUTE_UNKNOWN_ORDER] = "unknown_order",
    [ROUTE_CANCELLED] = "order_cancelled",
    [ROUTE_SHIPPED] = "order_shipped",
    [ROUTE_NO_DEST] = "no_destination",
    [ROUTE_NOT_HERE] = "not_here",
    [ROUTE_LANE_FULL] = "lane_full",
    [ROUTE_LANE_DISABLED] = "lane_disabled",
    [ROUTE_RECIRC_EXHAUSTED] = "recirc_exhausted",
    [ROUTE_REJECT_ASKED] = "reject_asked",
};

const char *route_reason_name(enum route_reason r)
{
    return (unsigned)r < ROUTE_REASON_COUNT ? reason_names[r] : "?";
}

const char *route_action_name(enum route_action a)
{
    switch (a) {
    case ROUTE_DIVERT:
        return "divert";
    case ROUTE_RECIRC:
        return "recirculate";
    case ROUTE_REJECT:
        return "reject";
    }
    return "?";
}

static void reject(const struct route_ctx *c, enum route_reason why, struct route_out *out)
{
    out->action = ROUTE_REJECT;
    out->reason = why;
    out->lane = c->sp->reject_lane;
    out->dest_lane = c->sp->reject_lane >= 0 ? c->site->lanes[c->sp->reject_lane].number : 0;
    out->cmd_flags = PLC_CMD_REJECT;
}

/* Recirculates while the tote has passes left and the point has a loop; rejects otherwise. */
static void recirc_or_reject(const struct route_ctx *c, const struct route_in *in,
                             enum route_reason why, struct route_out *out)
{
    uint32_t done = in->tote ? in->tote->recirc : 0;
    if (c->sp->recirc_lane < 0) {
        reject(c, why, out);
        return;
    }
    if (done >= c->sp->max_recirc) {
        reject(c, ROUTE_RECIRC_EXHAUSTED, out);
        return;
    }
    out->action = ROUTE_RECIRC;
    out->reason = why;
    out->lane = c->sp->recirc_lane;
    out->dest_lane = c->site->lanes[c->sp->recirc_lane].number;
    out->cmd_flags = PLC_CMD_RECIRCULATE;
}

static bool lane_matches(const struct cfg_site *site, const struct cfg_lane *l, enum cfg_dest kind,
                         const char *id)
{
    if (l->dest != kind)
        return false;
    if (kind == CFG_DEST_STATION) {
        if (l->dest_index < 0 || (uint32_t)l->dest_index >= site->n_stations)
            return false;
        return !id || !id[0] || strcmp(site->stations[l->dest_index].id, id) == 0;
    }
    if (kind == CFG_DEST_CARRIER) {
        if (l->dest_index < 0 || (uint32_t)l->dest_index >= site->waves.n_carriers)
            return false;
        return id && strcmp(site->waves.carriers[l->dest_index].code, id) == 0;
    }
    return true;
}

/* The destination lane for (kind, id): first one of this scan point (preferring an enabled,
 * not full one), else -2 when such a lane exists elsewhere on the site, else -1. */
static int32_t find_lane(const struct route_ctx *c, enum cfg_dest kind, const char *id)
{
    int32_t first = -1;
    for (uint32_t i = 0; i < c->sp->n_lanes; i++) {
        uint32_t li = c->sp->lanes[i];
        if (!lane_matches(c->site, &c->site->lanes[li], kind, id))
            continue;
        if (c->lane_enabled[li] && !c->lane_full[li])
            return (int32_t)li;
        if (first < 0)
            first = (int32_t)li;
    }
    if (first >= 0)
        return first;
    for (uint32_t li = 0; li < c->site->n_lanes; li++)
        if (lane_matches(c->site, &c->site->lanes[li], kind, id))
            return -2;
    return -1;
}

void route_decide(const struct route_ctx *c, const struct route_in *in, struct route_out *out)
{
    const struct wcsd_tote *t = in->tote;
    const struct wcsd_order *o = in->order;
    enum cfg_dest kind = CFG_DEST_REJECT;
    const char *dest_id = NULL;
    int32_t lane;

    memset(out, 0, sizeof(*out));
    out->wanted_lane = -1;
    if (in->read_result == PLC_READ_NOREAD || in->read_result == PLC_READ_NONE) {
        reject(c, ROUTE_NOREAD, out);
        return;
    }
    if (in->read_result == PLC_READ_MULTI) {
        reject(c, ROUTE_MULTIREAD, out);
        return;
    }
    if (in->id_rc != 0) {
        reject(c, ROUTE_MALFORMED, out);
        return;
    }
    if (!t) {
        reject(c, ROUTE_UNKNOWN_TOTE, out);
        return;
    }
    switch (t->dest) {
    case WCSD_DEST_STATION:
        kind = CFG_DEST_STATION;
        dest_id = t->dest_id;
        break;
    case WCSD_DEST_CARRIER:
        kind = CFG_DEST_CARRIER;
        dest_id = t->dest_id;
        break;
    case WCSD_DEST_QA:
        kind = CFG_DEST_QA;
        break;
    case WCSD_DEST_REJECT:
        reject(c, ROUTE_REJECT_ASKED, out);
        return;
    case WCSD_DEST_AUTO:
        if (!t->order[0] || !o) {
            reject(c, ROUTE_UNKNOWN_ORDER, out);
            return;
        }
        if (o->state == WCSD_ORDER_CANCELLED) {
            reject(c, ROUTE_CANCELLED, out);
            return;
        }
        if (o->state == WCSD_ORDER_SHIPPED) {
            reject(c, ROUTE_SHIPPED, out);
            return;
        }
        if (o->state == WCSD_ORDER_PACKED) {
            kind = CFG_DEST_CARRIER;
            dest_id = o->carrier;
            if (!dest_id[0]) {
                reject(c, ROUTE_NO_DEST, out);
                return;
            }
        } else {
            kind = CFG_DEST_STATION;
            dest_id = o->pack_station; /* "" : any pack station lane */
        }
        break;
    }
    lane = find_lane(c, kind, dest_id);
    if (lane == -1) {
        reject(c, ROUTE_NO_DEST, out);
        return;
    }
    if (lane == -2) {
        recirc_or_reject(c, in, ROUTE_NOT_HERE, out);
        return;
    }
    out->wanted_lane = lane;
    if (!c->lane_enabled[lane]) {
        recirc_or_reject(c, in, ROUTE_LANE_DISABLED, out);
        return;
    }
    if (c->lane_full[lane]) {
        recirc_or_reject(c, in, ROUTE_LANE_FULL, out);
        return;
    }
    out->action = ROUTE_DIVERT;
    out->reason = ROUTE_OK;
    out->lane = lane;
    out->dest_lane = c->site->lanes[lane].number;
    out->cmd_flags = 0;
}

/* ---- decision table classes ---- */

static int put_text(char *buf, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > cap)
        return WCS_E_EXHAUSTED;
    memcpy(buf, a, la);
    memcpy(buf + la, b, lb + 1);
    return 0;
}

int route_tote_class(const struct wcsd_tote *t, char *buf, size_t cap)
{
    switch (t->dest) {
    case WCSD_DEST_STATION:
        return put_text(buf, cap, "station:", t->dest_id);
    case WCSD_DEST_CARRIER:
        return put_text(buf, cap, "carrier:", t->dest_id);
    case WCSD_DEST_QA:
        return put_text(buf, cap, "qa", "");
    case WCSD_DEST_REJECT:
        return put_text(buf, cap, "reject", "");
    case WCSD_DEST_AUTO:
        break;
    }
    if (!t->order[0])
        return put_text(buf, cap, "x:unknown_order", "");
    return route_order_key(t->order, buf, cap);
}

int route_order_key(const char *order_id, char *buf, size_t cap)
{
    return put_text(buf, cap, "o:", order_id);
}

int route_order_class(const struct wcsd_order *o, char *buf, size_t cap)
{
    switch (o->state) {
    case WCSD_ORDER_CANCELLED:
        return put_text(buf, cap, "x:cancelled", "");
    case WCSD_ORDER_SHIPPED:
        return put_text(buf, cap, "x:shipped", "");
    case WCSD_ORDER_PACKED:
        if (!o->carrier[0])
            return put_text(buf, cap, "x:no_dest", "");
        return put_text(buf, cap, "carrier:", o->carrier);
    default:
        return put_text(buf, cap, "station:", o->pack_station);
    }
}

bool route_class_rule(const struct route_ctx *c, const char *cls, struct route_out *out)
{
    struct wcsd_tote t = {.dest = WCSD_DEST_AUTO, .order = "o"};
    struct wcsd_order o = {.id = "o", .state = WCSD_ORDER_PICKING};
    struct route_in in = {.read_result = PLC_READ_GOOD, .id_rc = 0, .tote = &t, .order = &o};

    memset(out, 0, sizeof(*out));
    out->lane = -1;
    out->wanted_lane = -1;
    if (strncmp(cls, "station:", 8) == 0 && strlen(cls + 8) < sizeof(o.pack_station)) {
        /* As an order's: "station:" is any pack station lane. */
        snprintf(o.pack_station, sizeof(o.pack_station), "%s", cls + 8);
    } else if (strncmp(cls, "carrier:", 8) == 0 && cls[8] && strlen(cls + 8) < sizeof(t.dest_id)) {
        t.dest = WCSD_DEST_CARRIER;
        snprintf(t.dest_id, sizeof(t.dest_id), "%s", cls + 8);
    } else if (strcmp(cls, "qa") == 0) {
        t.dest = WCSD_DEST_QA;
    } else if (strcmp(cls, "reject") == 0) {
        t.dest = WCSD_DEST_REJECT;
    } else if (strcmp(cls, "x:cancelled") == 0) {
        o.state = WCSD_ORDER_CANCELLED;
    } else if (strcmp(cls, "x:shipped") == 0) {
        o.state = WCSD_ORDER_SHIPPED;
    } else if (strcmp(cls, "x:no_dest") == 0) {
        o.state = WCSD_ORDER_PACKED;
    } else if (strcmp(cls, "x:unknown_order") == 0) {
        t.order[0] = '\0';
        in.order = NULL;
    } else {
        return false;
    }
    route_decide(c, &in, out);
    if (out->action == ROUTE_DIVERT)
        return out->reason == ROUTE_OK;
    if (out->action != ROUTE_REJECT)
        return false;
    switch (out->reason) {
    case ROUTE_REJECT_ASKED:
    case ROUTE_CANCELLED:
    case ROUTE_SHIPPED:
    case ROUTE_NO_DEST:
    case ROUTE_UNKNOWN_ORDER:
        return true;
    default:
        return false; /* e.g. the recirculation limit: it depends on the tote's count */
    }
}

