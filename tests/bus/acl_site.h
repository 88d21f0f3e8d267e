/* The site config shared by the ACL tests: a service user, a picker (reads its station and
 * batch topics), a viewer (reads state and KPIs), an ERP user (reads shipments) and a
 * supervisor (reads everything). */
#ifndef TESTS_BUS_ACL_SITE_H
#define TESTS_BUS_ACL_SITE_H

#define ACL_SITE_YAML                                                                              \
    "site: {id: s1, name: Test, timezone: UTC}\n"                                                  \
    "roles:\n"                                                                                     \
    "  - {name: picker, commands: [pick.confirm], read: [state/batch/#, evt/task]}\n"              \
    "  - {name: viewer, commands: [report.read], read: [state/#, kpi, state/#]}\n"                 \
    "  - {name: erp, commands: [order.upsert], read: [evt/ship]}\n"                                \
    "  - {name: sup, commands: [\"*\"], approve: true, read: [\"#\"]}\n"                           \
    "users:\n"                                                                                     \
    "  - {name: pick1, roles: [picker]}\n"                                                         \
    "  - {name: pick2, roles: [picker, viewer]}\n"                                                 \
    "  - {name: erp, roles: [erp]}\n"                                                              \
    "  - {name: lead, roles: [sup]}\n"                                                             \
    "mqtt: {uri: \"tcp://127.0.0.1:1883\", user: wcs}\n"

#endif
