/* wcs: the one binary. Dispatches to a subcommand (DESIGN.md §4.1); each lives in cmd_<name>.c. */
#include "cmds.h"

#include <stdio.h>
#include <string.h>

const struct wcs_cmd wcs_cmds[] = {
    {"check", "validate a site config; print every error, or a summary", cmd_check},
    {"barcode", "decode scan data (AIM identifier, GS1 element string) as JSON", cmd_barcode},
    {"plan", "offline planning on JSON Lines files: reservations, waves, batches", cmd_plan},
    {"label", "render a ZPL label, or send it to a printer and wait for its confirmation",
     cmd_label},
    {"run", "run the control daemon in the foreground (systemd Type=notify)", cmd_run},
    {"audit", "check stock conservation (journal vs quants, per product and lot)", cmd_audit},
    {"import", "import stock and open orders (wcs plan JSON Lines) into Redis, idempotently",
     cmd_import},
    {"acl", "write the MQTT broker's ACL (or its user list) from the site's users and roles",
     cmd_acl},
    {"sim", "run a simulator scenario: emulated floor, wcs, agents, faults, checks, report", cmd_sim},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: wcs COMMAND [ARGS...]\n\ncommands:\n");
    for (const struct wcs_cmd *c = wcs_cmds; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\n'wcs COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("wcs %s\n", WCS_VERSION);
        return 0;
    }
    for (const struct wcs_cmd *c = wcs_cmds; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "wcs: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
