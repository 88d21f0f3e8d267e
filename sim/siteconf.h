/* Private to the runner: the derived site config of a run. The scenario's site YAML (with its
 * includes inlined) is parsed with libyaml, rewritten and emitted: redis/mqtt point at the
 * harness (the site's mqtt qos kept), device URIs at their emulators, relative paths made
 * absolute. Never by text substitution. */
#ifndef SIM_SITECONF_H
#define SIM_SITECONF_H

#include <stddef.h>

struct siteconf_dev {
    const char *id;  /* device id */
    const char *uri; /* the new uri */
};

struct siteconf_opts {
    const char *redis_host, *redis_user, *redis_password_file;
    int redis_port;
    unsigned redis_timeout_ms; /* 0: 1000 */
    const char *mqtt_uri, *mqtt_user, *mqtt_password_file, *mqtt_client_id;
    const struct siteconf_dev *devs;
    size_t n_devs;
    unsigned plc_poll_ms; /* 0: as configured; else every emulated PLC's poll_ms */
    unsigned decision_budget_ms; /* 0: as configured; else every scan point's budget */
};

/* Reads site_path (and its include: files, depth first), writes the merged, rewritten config to
 * out_path. Returns 0, or a negative code with err naming the file and the problem. */
int siteconf_derive(const char *site_path, const char *out_path, const struct siteconf_opts *o,
                    char *err, size_t err_len);

#endif
