/* The subcommands of the wcs binary. Each takes the arguments after its name (argv[0] is the
 * subcommand name) and returns the process exit code. */
#ifndef WCS_CMDS_H
#define WCS_CMDS_H

struct wcs_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* The table, terminated by an entry with name == NULL (main.c). To add a subcommand, write
 * cmd_<name>.c, declare its entry point below and list it in the table. */
extern const struct wcs_cmd wcs_cmds[];

int cmd_barcode(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_label(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_acl(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_audit(int argc, char **argv);

#endif
