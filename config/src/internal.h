/* Private to config/: the YAML node tree with marks (ytree.c), the same tree made from a JSON
 * Lines products file (jsonl.c), the cyaml schema and the raw structs it fills (schema.c), the
 * strict schema walk (schema.c), the arena and string index used while building a site
 * (util.c). Nothing here is visible outside config/. */
#ifndef CONFIG_INTERNAL_H
#define CONFIG_INTERNAL_H

#include "config/config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- arena: every string and small array of a loaded site ---- */
struct arena_chunk;
struct arena {
    struct arena_chunk *head;
};
void *arena_alloc(struct arena *a, size_t n); /* zeroed; NULL when out of memory */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_free(struct arena *a);

/* ---- string -> index map (open addressing) ---- */
struct strmap {
    const char **keys;
    uint32_t *vals;
    size_t cap, n;
};
int strmap_put(struct strmap *m, const char *key, uint32_t val); /* key borrowed */
bool strmap_get(const struct strmap *m, const char *key, uint32_t *val);
void strmap_free(struct strmap *m);

/* ---- error sink ---- */
void errs_add(struct cfg_errors *e, const char *file, uint32_t line, uint32_t col, const char *path,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- YAML node tree (ytree.c) ---- */
enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode;
struct ypair {
    struct ynode *key, *val;
};
/* The JSON type of a node made by jsonl.c; YJ_NONE for a node from YAML. The schema walk uses
 * it to keep JSON strict: "5" is not an integer there, 1.5 is not one either, "true" is not a
 * boolean. */
enum yjson { YJ_NONE, YJ_OBJECT, YJ_ARRAY, YJ_STRING, YJ_INTEGER, YJ_REAL, YJ_BOOL, YJ_NULL };

struct ynode {
    enum ykind kind;
    enum yjson json;
    uint32_t line, col; /* 1-based */
    bool plain;         /* scalar written without quotes (JSON: any scalar but a string) */
    char *str;          /* scalar text, NUL-terminated */
    size_t len;
    size_t n;             /* pairs or items */
    struct ypair *pairs;  /* Y_MAP */
    struct ynode **items; /* Y_SEQ */
};

struct ytree {
    struct ynode *root; /* NULL for an empty document */
    struct arena mem;
};

/* Parses YAML text into *t. On a syntax error adds one error (libyaml's problem mark) to errs
 * and returns WCS_E_SYNTAX. Anchors/aliases, several documents and non-scalar keys are
 * rejected too. */
int ytree_parse(struct ytree *t, const char *file, const char *text, size_t len,
                struct cfg_errors *errs);
void ytree_fini(struct ytree *t);
/* Value of key in a mapping node, or NULL. */
const struct ynode *ymap_get(const struct ynode *map, const char *key);
const char *ykind_name(enum ykind k);

/* ---- JSON Lines (jsonl.c, the only file including jansson.h) ---- */
struct jsonl_error {
    uint32_t col; /* 1-based character column */
    char msg[240];
};

/* Parses one line of a JSON Lines file (len bytes without the '\n'; a trailing '\r' is
 * ignored) that must hold one JSON object, into a node tree allocated from mem: objects become
 * Y_MAP, arrays Y_SEQ, other values Y_SCALAR with their JSON type in ynode.json (integers in
 * decimal, reals as written, true/false/null as words). Marks: line is lineno; col is the
 * 1-based character (UTF-8 code point) column where the key or value starts in the line, or 1
 * if it cannot be found. Duplicate keys are refused. Returns 0 with *out set, WCS_E_SYNTAX with
 * *err filled (col: jansson's error column, at least 1; for a line that is not an object, the
 * column of its value), or -ENOMEM. Pure: no I/O; everything it returns lives in mem. */
int jsonl_parse_line(struct arena *mem, const char *line, size_t len, uint32_t lineno,
                     struct ynode **out, struct jsonl_error *err);

/* ---- raw structs filled by cyaml (schema.c) ---- */
struct raw_site {
    char *id, *name, *timezone;
};
struct raw_capacity {
    uint32_t *units, *weight_g;
    uint64_t *volume_cm3;
};
struct raw_location {
    char *path;
    int type;
    uint32_t *pick_seq, *pick_seq_start;
    char *zone, *aisle;
    uint32_t *aisle_from;
    bool *pick_face;
    struct raw_capacity *capacity;
};
struct raw_warehouse {
    char *code, *name;
    uint8_t *receipt_steps, *delivery_steps;
    struct raw_location *locations;
    uint32_t locations_count;
};
struct raw_dims {
    uint32_t l, w, h;
};
struct raw_product {
    char *sku, *name;
    char **gtins;
    uint32_t gtins_count;
    char *unit;
    uint32_t *weight_g;
    struct raw_dims *dims_mm;
    int *tracking;
    bool *expiry;
    uint32_t *expiry_margin_days;
    char *category;
    int *abc;
    bool *quality_control;
    char *package_type;
};
struct raw_category {
    char *name;
    int removal;
};
struct raw_putaway {
    char *product, *category, *package_type, *location;
    uint32_t priority;
};
struct raw_replenishment {
    char *location, *product, *source;
    uint32_t min, max, multiple;
};
struct raw_purchase {
    char *product, *category, *supplier;
    uint32_t min, max, multiple, lead_days;
};
struct raw_carrier {
    char *code, *name;
    char **cutoffs;
    uint32_t cutoffs_count;
    char *lane;
};
struct raw_cart {
    uint32_t *totes, *weight_g, *volume_cm3;
};
struct raw_waves {
    struct raw_carrier *carriers;
    uint32_t carriers_count;
    uint32_t *pick_pack_ship_min, *max_lines, *max_units, *orders_per_pack_station;
    bool *split_by_zone, *split_by_cutoff, *auto_release;
    struct raw_cart *cart;
    char **priorities;
    uint32_t priorities_count;
};
struct raw_device {
    char *id;
    int kind;
    char *model;
    char *uri;
    uint8_t *unit_id, *address_base;
    uint32_t *poll_ms, *heartbeat_ms, *timeout_ms;
    char *no_read, *multi_read;
    int *terminator;
    uint32_t *dpi;
};
struct raw_registers {
    uint32_t *addr[CFG_REG_COUNT];
};
struct raw_scan_point {
    char *id, *plc, *scanner;
    uint32_t read_base, write_base;
    uint16_t *barcode_regs;
    struct raw_registers *registers;
    char *reject_lane, *recirc_lane;
    uint32_t *max_recirc, *decision_budget_ms;
    char **lanes;
    uint32_t lanes_count;
};
struct raw_lane {
    char *id;
    uint16_t number;
    char *destination;
    uint32_t *capacity;
    bool *enabled;
};
struct raw_conveyor {
    struct raw_scan_point *scan_points;
    uint32_t scan_points_count;
    struct raw_lane *lanes;
    uint32_t lanes_count;
};
struct raw_station {
    char *id;
    int kind;
    char *location, *scanner, *scale, *printer, *fallback_printer;
    double *weight_tolerance_pct;
    uint32_t *packaging_g;
};
struct raw_address {
    char *name, *street, *city, *postcode, *country;
};
struct raw_labels {
    char *company_prefix;
    uint8_t *extension_digit;
    char *sscc_template;
    struct raw_address *ship_from;
};
struct raw_user {
    char *name;
    char **roles;
    uint32_t roles_count;
};
struct raw_role {
    char *name;
    char **commands;
    uint32_t commands_count;
    bool *approve;
    char **read;
    uint32_t read_count;
};
struct raw_adjust {
    uint32_t *qty_threshold;
    uint64_t *value_threshold_cents;
};
struct raw_receiving {
    uint32_t *over_tolerance_pct;
};
struct raw_counting {
    uint32_t *a_days, *b_days, *c_days, *daily_max;
};
struct raw_redis {
    char *host;
    uint16_t *port;
    char *user, *password_file, *password;
    uint32_t *db, *timeout_ms, *journal_maxlen;
};
struct raw_mqtt {
    char *uri, *client_id, *user, *password_file, *password;
    uint32_t *keepalive_s;
    uint8_t *qos;
};
struct raw_file {
    char **include;
    uint32_t include_count;
    struct raw_site *site;
    struct raw_warehouse *warehouses;
    uint32_t warehouses_count;
    struct raw_product *products;
    uint32_t products_count;
    char *products_file;
    struct raw_category *categories;
    uint32_t categories_count;
    struct raw_putaway *putaway_rules;
    uint32_t putaway_rules_count;
    struct raw_replenishment *replenishment;
    uint32_t replenishment_count;
    struct raw_purchase *purchase_rules;
    uint32_t purchase_rules_count;
    struct raw_waves *waves;
    struct raw_device *devices;
    uint32_t devices_count;
    struct raw_conveyor *conveyor;
    struct raw_station *stations;
    uint32_t stations_count;
    struct raw_user *users;
    uint32_t users_count;
    struct raw_role *roles;
    uint32_t roles_count;
    struct raw_adjust *adjust_approval;
    struct raw_receiving *receiving;
    struct raw_counting *counting;
    struct raw_redis *redis;
    struct raw_mqtt *mqtt;
    struct raw_labels *labels;
};

/* The top-level schema value (a mapping of struct raw_file). Opaque here so that only
 * schema.c includes cyaml.h. */
struct schema_value;
const struct schema_value *schema_root(void);

/* Fills *out from YAML text with libcyaml. Returns 0 or WCS_E_CONFIG (with one error line:
 * it should not happen once check_tree passed). */
int schema_load(struct raw_file **out, const char *file, const char *text, size_t len,
                struct cfg_errors *errs);
void schema_free(struct raw_file *raw);

/* Walks tree against the schema: unknown, missing and duplicate keys, node kinds, strict
 * integers, numbers, booleans, enums, string and sequence lengths. Adds one error per problem.
 * Returns the number of errors added. */
size_t check_tree(const struct ynode *root, const char *file, struct cfg_errors *errs);

/* As check_tree, for one product item (an element of products[]) named path in errors. */
size_t schema_check_product(const struct ynode *item, const char *file, const char *path,
                            struct cfg_errors *errs);

/* Fills *out from a product item that schema_check_product accepted, with the same tables
 * libcyaml uses; every pointer in *out points into mem. Returns 0 or -ENOMEM. */
int schema_fill_product(struct raw_product *out, const struct ynode *item, struct arena *mem);

/* Strings of the schema enums, shared with the builder for names. */
extern const char *const loc_type_names[CFG_LOC_TYPE_COUNT];

#endif
