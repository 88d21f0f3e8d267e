/* The broker's access control for a site, derived from its config (docs/mqtt.md, "Topic and
 * ACL"): every configured user may publish only under its own cmd/<user>/ and read its own
 * replies, the status topic and the topic filters its roles list under `read`; the wcs service
 * user (mqtt.user) reads and writes the site's whole tree. Pure: no I/O. */
#ifndef WCS_BUS_ACL_H
#define WCS_BUS_ACL_H

#include "config/config.h"

#include <stddef.h>

/* Renders the mosquitto acl_file text for site into a new NUL-terminated buffer (*out, freed by
 * the caller; *len its length without the NUL). source (may be NULL) is named in the header
 * comment. Users and topics come out in config order, each filter once per user. Returns 0,
 * -EINVAL when a configured user is also the service user (why says so), or -ENOMEM; *out is
 * untouched on failure. */
int acl_render(const struct cfg_site *site, const char *source, char **out, size_t *len,
               const char **why);

#endif
