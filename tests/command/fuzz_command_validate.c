/* Fuzz target of the command validators (wcs/command/validate.c): the first byte picks a
 * command, the rest is parsed as its JSON body and validated against a small embedded site;
 * then the role check runs for every user. Nothing may crash, leak or read out of bounds. */
#include "command/command.h"
#include "validate.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static const char SITE[] =
    "site: {id: f1, name: F, timezone: UTC}\n"
    "warehouses:\n"
    "  - {code: WH1, name: M, receipt_steps: 1, delivery_steps: 1, locations: [\n"
    "      {path: WH1/Stock, type: view}, {path: \"WH1/Stock/A/{1..2}\", type: internal, zone: "
    "A}]}\n"
    "products: [{sku: P1, name: a}, {sku: L1, name: b, tracking: lot}]\n"
    "waves: {carriers: [{code: DHL, name: D, cutoffs: [\"16:00\"]}], pick_pack_ship_min: 1,\n"
    "        priorities: [urgent, normal]}\n"
    "devices: [{id: prn1, kind: printer, model: zpl, uri: \"tcp://127.0.0.1:9100\", dpi: 203}]\n"
    "roles: [{name: s, commands: [\"*\"], approve: true}, {name: o, commands: [order.*]}]\n"
    "users: [{name: u1, roles: [s]}, {name: u2, roles: [o]}]\n"
    "adjust_approval: {qty_threshold: 5, value_threshold_cents: 1000}\n";

static const char *const commands[] = {
    "order.upsert",  "order.cancel",     "order.hold",     "order.release",
    "wave.plan",     "wave.release",     "wave.cancel",    "label.reprint",
    "alarm.ack",     "inventory.adjust", "adjust.approve", "rma.authorize",
    "device.enable", "device.disable",   "count.request",  "no.such",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cfg_site *site;
    struct cmd_args a;
    char err[CMD_ERR_MAX];
    json_t *body;
    const char *cmd;
    if (!site) {
        struct cfg_errors e;
        cfg_errors_init(&e);
        if (cfg_load_mem(&site, "fuzz.yaml", SITE, sizeof(SITE) - 1, &e) != 0)
            abort();
        cfg_errors_fini(&e);
    }
    if (size < 1)
        return 0;
    cmd = commands[data[0] % (sizeof(commands) / sizeof(commands[0]))];
    body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (cmd_validate(cmd, body, site, &a, err, sizeof(err)) == 0) {
        cmd_authorize(site, "u1", cmd, cmd_need_of(cmd, &a), err, sizeof(err));
        cmd_authorize(site, "u2", cmd, cmd_need_of(cmd, &a), err, sizeof(err));
        cmd_args_fini(&a);
    }
    json_decref(body);
    return 0;
}
