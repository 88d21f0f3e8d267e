/* The site configuration: cfg_load() reads a site YAML (with its includes, product files and
 * secret files) into the validated structs below, or collects every error as a line
 * "file:line:col: path.to.field: message". The schema is documented in docs/config.md.
 * Only config/ parses YAML; callers see plain C structs. */
#ifndef CONFIG_CONFIG_H
#define CONFIG_CONFIG_H

#include "config/parse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where an item was defined: the file as given (or as resolved from an include) and a 1-based
 * line and column. */
struct cfg_origin {
    const char *file;
    uint32_t line, col;
};

enum cfg_loc_type {
    CFG_LOC_VIEW,
    CFG_LOC_INTERNAL,
    CFG_LOC_INPUT,
    CFG_LOC_QUALITY,
    CFG_LOC_OUTPUT,
    CFG_LOC_PACKING,
    CFG_LOC_TRANSIT,
    CFG_LOC_CUSTOMER,
    CFG_LOC_SUPPLIER,
    CFG_LOC_LOSS,
    CFG_LOC_SCRAP,
    CFG_LOC_TYPE_COUNT
};

struct cfg_location {
    const char *path;       /* "WH1/Stock/A/01/02"; the first segment is the warehouse code */
    uint32_t warehouse;     /* index into cfg_site.warehouses */
    int32_t parent;         /* index into cfg_site.locations, -1 for a warehouse root */
    enum cfg_loc_type type; /* implied parents are CFG_LOC_VIEW */
    bool implied;           /* created because a declared path needed it as a parent */
    bool has_pick_seq, pick_face;
    uint32_t pick_seq;
    const char *zone;  /* NULL when not given */
    const char *aisle; /* `aisle:` or the path segment `aisle_from:` names; NULL when neither */
    bool has_cap_units, has_cap_weight, has_cap_volume; /* a given capacity is >= 1 */
    uint32_t cap_units;
    uint32_t cap_weight_g;
    uint64_t cap_volume_cm3;
    struct cfg_origin origin;
};

struct cfg_warehouse {
    const char *code, *name;
    uint8_t receipt_steps, delivery_steps; /* 1..3 */
    uint32_t root;                         /* index of the location whose path is the code */
    uint32_t n_declared;                   /* locations declared (after range expansion) */
    struct cfg_origin origin;
};

enum cfg_tracking { CFG_TRACK_NONE, CFG_TRACK_LOT, CFG_TRACK_SERIAL };
enum cfg_abc { CFG_ABC_NONE, CFG_ABC_A, CFG_ABC_B, CFG_ABC_C };
enum cfg_removal { CFG_REMOVAL_FIFO, CFG_REMOVAL_LIFO, CFG_REMOVAL_FEFO, CFG_REMOVAL_CLOSEST };

struct cfg_product {
    const char *sku, *name;
    const char **gtins; /* as written; n_gtins entries */
    uint32_t n_gtins;
    const char *unit;    /* "Units", "kg", ... */
    uint32_t weight_g;   /* 0 when not given */
    uint32_t dims_mm[3]; /* l, w, h; 0 when not given */
    enum cfg_tracking tracking;
    bool expiry, quality_control;
    uint32_t expiry_margin_days;
    int32_t category; /* index into cfg_site.categories, -1 when none */
    enum cfg_abc abc;
    const char *package_type; /* NULL when none */
    struct cfg_origin origin;
};

struct cfg_category {
    const char *name;
    enum cfg_removal removal;
    struct cfg_origin origin;
};

/* A putaway rule matches at most one of product, category, package_type (none: any product). */
struct cfg_putaway_rule {
    int32_t product, category; /* indices, -1 when not used */
    const char *package_type;  /* NULL when not used */
    uint32_t location;         /* subtree root, index into cfg_site.locations */
    uint32_t priority;         /* lower runs first */
    struct cfg_origin origin;
};

struct cfg_replenishment {
    uint32_t location, product, source; /* pick face, product, source subtree */
    uint32_t min, max, multiple;        /* units; min <= max, multiple > 0 */
    struct cfg_origin origin;
};

/* A purchase (reorder) rule: when a product's free stock falls below min, buy up to max in
 * multiples from `supplier`; the goods arrive lead_days later. It names one product, or one
 * category (then it covers the category's products that have no rule of their own). At most
 * one rule per product and one per category. */
#define CFG_PURCHASE_QTY_MAX  1073741824u /* 2^30 units, the planner's quantity limit */
#define CFG_PURCHASE_LEAD_MAX 3650u
struct cfg_purchase_rule {
    int32_t product, category;   /* indices; exactly one is >= 0, the other -1 */
    uint32_t min, max, multiple; /* units; min <= max, 1 <= max, 1 <= multiple, all <= 2^30 */
    uint32_t lead_days;          /* 0..3650 */
    const char *supplier;        /* free text, as written */
    struct cfg_origin origin;
};

struct cfg_carrier {
    const char *code, *name;
    uint16_t *cutoffs_min; /* minutes since local midnight, ascending as written */
    uint32_t n_cutoffs;
    int32_t lane; /* index into cfg_site.lanes, -1 when none */
    struct cfg_origin origin;
};

struct cfg_waves {
    struct cfg_carrier *carriers;
    uint32_t n_carriers;
    uint32_t pick_pack_ship_min;      /* minutes a wave needs from release to the carrier cutoff */
    uint32_t max_lines, max_units;    /* reserved lines and units per wave; 0 = no limit */
    uint32_t orders_per_pack_station; /* orders per wave = this x pack stations; 0 = no limit */
    bool split_by_zone, split_by_cutoff; /* a wave holds one zone / one cutoff only */
    bool auto_release; /* the daemon plans and releases each carrier's wave before its cutoffs */
    uint32_t cart_totes, cart_weight_g, cart_volume_cm3; /* 0 = no limit */
    const char **priorities;                             /* order priority names, highest first */
    uint32_t n_priorities;
};

enum cfg_dev_kind { CFG_DEV_PLC, CFG_DEV_SCANNER, CFG_DEV_SCALE, CFG_DEV_PRINTER };
enum cfg_dev_model {
    CFG_MODEL_MODBUS_TCP,
    CFG_MODEL_MODBUS_RTU,
    CFG_MODEL_OSIP,
    CFG_MODEL_LINE,
    CFG_MODEL_HIDPOS,
    CFG_MODEL_MT_SICS,
    CFG_MODEL_NCI,
    CFG_MODEL_ZPL,
};
enum cfg_terminator { CFG_TERM_CR, CFG_TERM_LF, CFG_TERM_CRLF };

struct cfg_device {
    const char *id;
    enum cfg_dev_kind kind;
    enum cfg_dev_model model;
    const char *uri_text;
    struct cfg_uri uri;
    /* plc */
    uint8_t unit_id;      /* 1..247 */
    uint8_t address_base; /* 0: addresses are PDU addresses; 1: manual numbering, minus 1 */
    uint32_t poll_ms, heartbeat_ms, timeout_ms;
    /* scanner */
    const char *no_read, *multi_read; /* multi_read NULL when the scanner has none */
    enum cfg_terminator terminator;
    /* printer */
    uint32_t dpi;
    struct cfg_origin origin;
};

/* The PLC handshake register fields (DESIGN.md §4.5, docs/config.md). The first
 * CFG_REG_READ_COUNT are read from the PLC, the rest written. */
enum cfg_reg {
    CFG_REG_PLC_HEARTBEAT,
    CFG_REG_PLC_STATUS,
    CFG_REG_SCAN_SEQ,
    CFG_REG_READ_RESULT,
    CFG_REG_TRACK_ID, /* two registers, high word first */
    CFG_REG_CONFIRM_SEQ,
    CFG_REG_CONFIRM_RESULT,
    CFG_REG_CONFIRM_LANE,
    CFG_REG_BARCODE, /* barcode_regs registers */
    CFG_REG_WCS_HEARTBEAT,
    CFG_REG_RESP_SEQ,
    CFG_REG_DEST_LANE,
    CFG_REG_CMD_FLAGS,
    CFG_REG_CONFIRM_ACK_SEQ,
    CFG_REG_COUNT
};
#define CFG_REG_READ_COUNT   (CFG_REG_BARCODE + 1)
#define CFG_MODBUS_READ_MAX  125 /* registers per read request */
#define CFG_MODBUS_WRITE_MAX 123 /* registers per write-multiple request */
#define CFG_BARCODE_REGS_DEF 20
#define CFG_BARCODE_REGS_MAX 50 /* 100 characters: the plcblock codec's limit (docs/plc.md) */

/* Name of a register field as written in config ("scan_seq"). */
const char *cfg_reg_name(enum cfg_reg r);
/* Default offset of a field from its block base (read_base or write_base). */
uint16_t cfg_reg_default_offset(enum cfg_reg r);
/* Number of registers a field occupies (track_id 2, barcode barcode_regs, others 1). */
uint16_t cfg_reg_width(enum cfg_reg r, uint16_t barcode_regs);

struct cfg_scan_point {
    const char *id;
    uint32_t plc;    /* index into cfg_site.devices (a plc) */
    int32_t scanner; /* device index, -1 when the PLC reads the barcode itself */
    uint16_t barcode_regs;
    uint16_t reg[CFG_REG_COUNT];       /* PDU addresses (0-based, address_base already applied) */
    uint16_t read_start, read_count;   /* the read block, PDU address and size */
    uint16_t write_start, write_count; /* the write block */
    int32_t reject_lane, recirc_lane;  /* lane indices, -1 when none */
    uint32_t max_recirc;
    uint32_t decision_budget_ms;
    uint32_t *lanes; /* lane indices */
    uint32_t n_lanes;
    struct cfg_origin origin;
};

enum cfg_dest { CFG_DEST_STATION, CFG_DEST_CARRIER, CFG_DEST_QA, CFG_DEST_REJECT, CFG_DEST_RECIRC };

struct cfg_lane {
    const char *id;
    uint16_t number; /* value written to dest_lane, 1..65535 */
    enum cfg_dest dest;
    int32_t dest_index; /* station or carrier index for those kinds, else -1 */
    uint32_t capacity;  /* totes; 0 = not limited */
    bool enabled;
    struct cfg_origin origin;
};

enum cfg_station_kind { CFG_STATION_PACK, CFG_STATION_RECEIVE, CFG_STATION_RETURN };

struct cfg_station {
    const char *id;
    enum cfg_station_kind kind;
    int32_t location; /* index into cfg_site.locations, -1 when none */
    int32_t scanner, scale, printer, fallback_printer; /* device indices, -1 when none */
    double weight_tolerance_pct;
    uint32_t packaging_g; /* the carton's own weight, added to the expected weight; default 0 */
    struct cfg_origin origin;
};

/* A postal address as printed on a shipping label (every field 1..64 characters; country an
 * ISO 3166-1 alpha-2 code). */
struct cfg_address {
    const char *name, *street, *city, *postcode, *country;
};

/* Shipping labels (docs/config.md `labels:`): required when the site has a pack station. */
struct cfg_labels {
    bool present;
    const char *company_prefix; /* GS1 company prefix, 7..10 digits */
    uint8_t extension_digit;    /* 0..9, the SSCC's first digit */
    const char *sscc_template;  /* resolved path of a ZPL {{field}} template; NULL: built-in */
    struct cfg_address ship_from;
    struct cfg_origin origin;
};

struct cfg_role {
    const char *name;
    const char **commands; /* "order.upsert", "order.*" or "*" */
    uint32_t n_commands;
    bool approve;
    /* MQTT topic filters under wcs/v1/<site>/ the role's users may subscribe to ("evt/#",
     * "state/+/lane", "kpi", "#"); `wcs acl` writes them into the broker's ACL. */
    const char **read;
    uint32_t n_read;
    struct cfg_origin origin;
};

struct cfg_user {
    const char *name;
    uint32_t *roles; /* indices into cfg_site.roles */
    uint32_t n_roles;
    struct cfg_origin origin;
};

struct cfg_redis {
    const char *host;
    uint16_t port;
    const char *user;          /* NULL: default user */
    const char *password_file; /* resolved path, NULL: no password */
    uint32_t db, timeout_ms, journal_maxlen;
};

struct cfg_mqtt {
    const char *uri; /* tcp://host:port, ssl://host:port, ws://..., wss://... */
    const char *client_id;
    const char *user;
    const char *password_file;
    uint32_t keepalive_s;
    uint8_t qos;
};

/* Cycle counting by ABC class (docs/config.md, "counting"): a location is due when its
 * highest-class product was counted longer ago than that class's period (no class: c_days). */
struct cfg_counting {
    bool enabled;                    /* the section is present: the daemon's scheduler runs */
    uint32_t a_days, b_days, c_days; /* 1..3650; defaults 30, 90, 180 */
    uint32_t daily_max; /* scheduled count tasks per (UTC) day, 1..100000; default 50 */
};

struct cfg_gtin_entry; /* private: see cfg_find_product_gtin */

struct cfg_site {
    const char *id, *name, *timezone;
    struct cfg_warehouse *warehouses;
    uint32_t n_warehouses;
    struct cfg_location *locations; /* declared and implied, parents before children */
    uint32_t n_locations;
    struct cfg_product *products;
    uint32_t n_products;
    struct cfg_category *categories;
    uint32_t n_categories;
    struct cfg_putaway_rule *putaway_rules;
    uint32_t n_putaway_rules;
    struct cfg_replenishment *replenishment;
    uint32_t n_replenishment;
    struct cfg_purchase_rule *purchase_rules;
    uint32_t n_purchase_rules;
    struct cfg_waves waves;
    struct cfg_device *devices;
    uint32_t n_devices;
    struct cfg_scan_point *scan_points;
    uint32_t n_scan_points;
    struct cfg_lane *lanes;
    uint32_t n_lanes;
    struct cfg_station *stations;
    uint32_t n_stations;
    struct cfg_role *roles;
    uint32_t n_roles;
    struct cfg_user *users;
    uint32_t n_users;
    uint32_t adjust_qty_threshold;         /* 0: every adjustment needs approval */
    uint64_t adjust_value_threshold_cents; /* 0: no value threshold */
    uint32_t receiving_over_tolerance_pct; /* receiving.over_tolerance_pct: 0..100, default 0 */
    struct cfg_counting counting;
    struct cfg_redis redis;
    struct cfg_mqtt mqtt;
    struct cfg_labels labels;
    struct cfg_files *files_; /* private: the strings and arrays above */
    /* private: the product indexes of cfg_find_product / cfg_find_product_gtin (cfg_load builds
     * them; NULL on a site assembled by hand, which is searched linearly) */
    uint32_t *sku_index_;
    struct cfg_gtin_entry *gtin_index_;
    uint32_t n_gtin_index_;
};

/* Collected error lines. Fill with cfg_load(); each line is "file:line:col: path: message". */
struct cfg_errors {
    char **lines;
    size_t count, cap;
    size_t dropped; /* lines beyond CFG_ERRORS_MAX that were not kept */
};
#define CFG_ERRORS_MAX 500

void cfg_errors_init(struct cfg_errors *e);
/* Frees the lines; e may be reused after cfg_errors_init(). NULL-safe. */
void cfg_errors_fini(struct cfg_errors *e);

/* Loads and validates the site config at path (YAML; include:, products_file: and
 * password_file: paths are relative to the file naming them). Returns 0 with *out set (free it
 * with cfg_free), WCS_E_CONFIG when the config is invalid (every problem found is appended to
 * errs; *out untouched), or a negative errno when memory runs out. Blocks on file reads only. */
int cfg_load(struct cfg_site **out, const char *path, struct cfg_errors *errs);

/* As cfg_load, from a YAML text in memory. name is used in error lines. include:,
 * products_file: and password_file: are errors here (there is no directory to resolve them). */
int cfg_load_mem(struct cfg_site **out, const char *name, const char *text, size_t len,
                 struct cfg_errors *errs);

/* Frees a site from cfg_load. NULL-safe. */
void cfg_free(struct cfg_site *site);

/* Names of enum values as written in config. */
const char *cfg_loc_type_name(enum cfg_loc_type t);
const char *cfg_dev_kind_name(enum cfg_dev_kind k);
const char *cfg_dev_model_name(enum cfg_dev_model m);
const char *cfg_station_kind_name(enum cfg_station_kind k);
const char *cfg_dest_name(enum cfg_dest d);

/* Index of the location with this exact path, or -1. A linear search, for tools and tests. */
int32_t cfg_find_location(const struct cfg_site *site, const char *path);
/* Index of the device with this id, or -1. A linear search. */
int32_t cfg_find_device(const struct cfg_site *site, const char *id);
/* Index of the product with this SKU, or -1 (a binary search on a loaded site). */
int32_t cfg_find_product(const struct cfg_site *site, const char *sku);
/* Index of the product with this GTIN, given as 14 digits (shorter GTINs zero-padded), or -1;
 * with a GTIN given to two products, the first. A binary search on a loaded site. */
int32_t cfg_find_product_gtin(const struct cfg_site *site, const char *gtin14);
/* (Re)builds the product indexes of site: cfg_load does; so must code that changes products
 * after loading. Returns 0 or -ENOMEM (the old indexes stay). */
int cfg_index_products(struct cfg_site *site);
/* Frees the indexes (cfg_free does). */
void cfg_index_free(struct cfg_site *site);

#endif
