/* Fuzz target of the validators of count.submit and transfer.create/ship/receive
 * (wcs/command/validate.c): the first byte picks the command, the rest is parsed as its JSON
 * body and validated against a small embedded site with two warehouses; an accepted body's
 * canonical lines must parse back as JSON. Nothing may crash, leak or read out of bounds. */
#include "command/command.h"
#include "validate.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static const char SITE[] =
    "site: {id: f2, name: F, timezone: UTC}\n"
    "warehouses:\n"
    "  - {code: WH1, name: M, receipt_steps: 1, delivery_steps: 1, locations: [\n"
    "      {path: WH1/Stock, type: view}, {path: \"WH1/Stock/A/{1..2}\", type: internal},\n"
    "      {path: WH1/Transit, type: transit}]}\n"
    "  - {code: WH2, name: N, receipt_steps: 1, delivery_steps: 1, locations: [\n"
    "      {path: WH2/Dock, type: input}]}\n"
    "products: [{sku: P1, name: a, abc: A}, {sku: L1, name: b, tracking: lot}]\n"
    "roles: [{name: s, commands: [\"*\"], approve: true}, {name: c, commands: [count.submit]}]\n"
    "users: [{name: u1, roles: [s]}, {name: u2, roles: [c]}]\n"
    "counting: {daily_max: 5}\n";

static const char *const commands[] = {"count.submit", "transfer.create", "transfer.ship",
                                       "transfer.receive"};

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
    cmd = commands[data[0] % 4];
    body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (cmd_validate(cmd, body, site, &a, err, sizeof(err)) == 0) {
        if (a.lines_json) {
            json_t *l = json_loads(a.lines_json, 0, NULL);
            if (!json_is_array(l))
                abort();
            json_decref(l);
        }
        cmd_authorize(site, "u2", cmd, cmd_need_of(cmd, &a), err, sizeof(err));
        cmd_args_fini(&a);
    }
    json_decref(body);
    return 0;
}
