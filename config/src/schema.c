/* The one place the site schema lives: libcyaml schema tables over the raw structs of
 * internal.h. schema_load() lets libcyaml fill the structs; check_tree() walks the libyaml node
 * tree against the same tables first, with exact positions and strict scalars, because
 * libcyaml's own errors have no reliable position and its integers are lax (strtoull base 0).
 * This is the only file that includes cyaml.h. */
#include "internal.h"

#include "base/err.h"

#include <assert.h>
#include <cyaml/cyaml.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define OPT   CYAML_FLAG_OPTIONAL
#define PTR   CYAML_FLAG_POINTER
#define STR   CYAML_UNLIMITED
#define SEQ_N CYAML_UNLIMITED

const char *const loc_type_names[CFG_LOC_TYPE_COUNT] = {
    "view",    "internal", "input",    "quality", "output", "packing",
    "transit", "customer", "supplier", "loss",    "scrap",
};

static const cyaml_strval_t loc_types[] = {
    {"view", CFG_LOC_VIEW},       {"internal", CFG_LOC_INTERNAL}, {"input", CFG_LOC_INPUT},
    {"quality", CFG_LOC_QUALITY}, {"output", CFG_LOC_OUTPUT},     {"packing", CFG_LOC_PACKING},
    {"transit", CFG_LOC_TRANSIT}, {"customer", CFG_LOC_CUSTOMER}, {"supplier", CFG_LOC_SUPPLIER},
    {"loss", CFG_LOC_LOSS},       {"scrap", CFG_LOC_SCRAP},
};
static const cyaml_strval_t trackings[] = {
    {"none", CFG_TRACK_NONE}, {"lot", CFG_TRACK_LOT}, {"serial", CFG_TRACK_SERIAL}};
static const cyaml_strval_t abcs[] = {{"A", CFG_ABC_A}, {"B", CFG_ABC_B}, {"C", CFG_ABC_C}};
static const cyaml_strval_t removals[] = {{"fifo", CFG_REMOVAL_FIFO},
                                          {"lifo", CFG_REMOVAL_LIFO},
                                          {"fefo", CFG_REMOVAL_FEFO},
                                          {"closest", CFG_REMOVAL_CLOSEST}};
static const cyaml_strval_t dev_kinds[] = {{"plc", CFG_DEV_PLC},
                                           {"scanner", CFG_DEV_SCANNER},
                                           {"scale", CFG_DEV_SCALE},
                                           {"printer", CFG_DEV_PRINTER}};
static const cyaml_strval_t terminators[] = {
    {"cr", CFG_TERM_CR}, {"lf", CFG_TERM_LF}, {"crlf", CFG_TERM_CRLF}};
static const cyaml_strval_t station_kinds[] = {
    {"pack", CFG_STATION_PACK}, {"receive", CFG_STATION_RECEIVE}, {"return", CFG_STATION_RETURN}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const cyaml_schema_value_t string_entry = {CYAML_VALUE_STRING(PTR, char, 0, STR)};

static const cyaml_schema_field_t site_fields[] = {
    CYAML_FIELD_STRING_PTR("id", PTR, struct raw_site, id, 1, STR),
    CYAML_FIELD_STRING_PTR("name", PTR, struct raw_site, name, 1, STR),
    CYAML_FIELD_STRING_PTR("timezone", PTR, struct raw_site, timezone, 1, STR), CYAML_FIELD_END};

static const cyaml_schema_field_t capacity_fields[] = {
    CYAML_FIELD_UINT_PTR("units", OPT, struct raw_capacity, units),
    CYAML_FIELD_UINT_PTR("weight_g", OPT, struct raw_capacity, weight_g),
    CYAML_FIELD_UINT_PTR("volume_cm3", OPT, struct raw_capacity, volume_cm3), CYAML_FIELD_END};

static const cyaml_schema_field_t location_fields[] = {
    CYAML_FIELD_STRING_PTR("path", PTR, struct raw_location, path, 1, STR),
    CYAML_FIELD_ENUM("type", 0, struct raw_location, type, loc_types, COUNT(loc_types)),
    CYAML_FIELD_UINT_PTR("pick_seq", OPT, struct raw_location, pick_seq),
    CYAML_FIELD_UINT_PTR("pick_seq_start", OPT, struct raw_location, pick_seq_start),
    CYAML_FIELD_STRING_PTR("zone", PTR | OPT, struct raw_location, zone, 1, STR),
    CYAML_FIELD_STRING_PTR("aisle", PTR | OPT, struct raw_location, aisle, 1, STR),
    CYAML_FIELD_UINT_PTR("aisle_from", OPT, struct raw_location, aisle_from),
    CYAML_FIELD_BOOL_PTR("pick_face", OPT, struct raw_location, pick_face),
    CYAML_FIELD_MAPPING_PTR("capacity", OPT, struct raw_location, capacity, capacity_fields),
    CYAML_FIELD_END};
static const cyaml_schema_value_t location_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_location, location_fields)};

static const cyaml_schema_field_t warehouse_fields[] = {
    CYAML_FIELD_STRING_PTR("code", PTR, struct raw_warehouse, code, 1, STR),
    CYAML_FIELD_STRING_PTR("name", PTR, struct raw_warehouse, name, 1, STR),
    CYAML_FIELD_UINT_PTR("receipt_steps", OPT, struct raw_warehouse, receipt_steps),
    CYAML_FIELD_UINT_PTR("delivery_steps", OPT, struct raw_warehouse, delivery_steps),
    CYAML_FIELD_SEQUENCE("locations", PTR | OPT, struct raw_warehouse, locations, &location_entry,
                         0, SEQ_N),
    CYAML_FIELD_END};
static const cyaml_schema_value_t warehouse_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_warehouse, warehouse_fields)};

static const cyaml_schema_field_t dims_fields[] = {
    CYAML_FIELD_UINT("l", 0, struct raw_dims, l), CYAML_FIELD_UINT("w", 0, struct raw_dims, w),
    CYAML_FIELD_UINT("h", 0, struct raw_dims, h), CYAML_FIELD_END};

static const cyaml_schema_field_t product_fields[] = {
    CYAML_FIELD_STRING_PTR("sku", PTR, struct raw_product, sku, 1, STR),
    CYAML_FIELD_STRING_PTR("name", PTR, struct raw_product, name, 1, STR),
    CYAML_FIELD_SEQUENCE("gtins", PTR | OPT, struct raw_product, gtins, &string_entry, 0, 16),
    CYAML_FIELD_STRING_PTR("unit", PTR | OPT, struct raw_product, unit, 1, STR),
    CYAML_FIELD_UINT_PTR("weight_g", OPT, struct raw_product, weight_g),
    CYAML_FIELD_MAPPING_PTR("dims_mm", OPT, struct raw_product, dims_mm, dims_fields),
    CYAML_FIELD_ENUM_PTR("tracking", OPT, struct raw_product, tracking, trackings,
                         COUNT(trackings)),
    CYAML_FIELD_BOOL_PTR("expiry", OPT, struct raw_product, expiry),
    CYAML_FIELD_UINT_PTR("expiry_margin_days", OPT, struct raw_product, expiry_margin_days),
    CYAML_FIELD_STRING_PTR("category", PTR | OPT, struct raw_product, category, 1, STR),
    CYAML_FIELD_ENUM_PTR("abc", OPT, struct raw_product, abc, abcs, COUNT(abcs)),
    CYAML_FIELD_BOOL_PTR("quality_control", OPT, struct raw_product, quality_control),
    CYAML_FIELD_STRING_PTR("package_type", PTR | OPT, struct raw_product, package_type, 1, STR),
    CYAML_FIELD_END};
static const cyaml_schema_value_t product_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_product, product_fields)};

static const cyaml_schema_field_t category_fields[] = {
    CYAML_FIELD_STRING_PTR("name", PTR, struct raw_category, name, 1, STR),
    CYAML_FIELD_ENUM("removal", 0, struct raw_category, removal, removals, COUNT(removals)),
    CYAML_FIELD_END};
static const cyaml_schema_value_t category_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_category, category_fields)};

static const cyaml_schema_field_t putaway_fields[] = {
    CYAML_FIELD_STRING_PTR("product", PTR | OPT, struct raw_putaway, product, 1, STR),
    CYAML_FIELD_STRING_PTR("category", PTR | OPT, struct raw_putaway, category, 1, STR),
    CYAML_FIELD_STRING_PTR("package_type", PTR | OPT, struct raw_putaway, package_type, 1, STR),
    CYAML_FIELD_STRING_PTR("location", PTR, struct raw_putaway, location, 1, STR),
    CYAML_FIELD_UINT("priority", 0, struct raw_putaway, priority),
    CYAML_FIELD_END};
static const cyaml_schema_value_t putaway_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_putaway, putaway_fields)};

static const cyaml_schema_field_t repl_fields[] = {
    CYAML_FIELD_STRING_PTR("location", PTR, struct raw_replenishment, location, 1, STR),
    CYAML_FIELD_STRING_PTR("product", PTR, struct raw_replenishment, product, 1, STR),
    CYAML_FIELD_UINT("min", 0, struct raw_replenishment, min),
    CYAML_FIELD_UINT("max", 0, struct raw_replenishment, max),
    CYAML_FIELD_UINT("multiple", 0, struct raw_replenishment, multiple),
    CYAML_FIELD_STRING_PTR("source", PTR, struct raw_replenishment, source, 1, STR),
    CYAML_FIELD_END};
static const cyaml_schema_value_t repl_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_replenishment, repl_fields)};

static const cyaml_schema_field_t purchase_fields[] = {
    CYAML_FIELD_STRING_PTR("product", PTR | OPT, struct raw_purchase, product, 1, STR),
    CYAML_FIELD_STRING_PTR("category", PTR | OPT, struct raw_purchase, category, 1, STR),
    CYAML_FIELD_UINT("min", 0, struct raw_purchase, min),
    CYAML_FIELD_UINT("max", 0, struct raw_purchase, max),
    CYAML_FIELD_UINT("multiple", 0, struct raw_purchase, multiple),
    CYAML_FIELD_UINT("lead_days", 0, struct raw_purchase, lead_days),
    CYAML_FIELD_STRING_PTR("supplier", PTR, struct raw_purchase, supplier, 1, 200),
    CYAML_FIELD_END};
static const cyaml_schema_value_t purchase_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_purchase, purchase_fields)};

static const cyaml_schema_field_t carrier_fields[] = {
    CYAML_FIELD_STRING_PTR("code", PTR, struct raw_carrier, code, 1, STR),
    CYAML_FIELD_STRING_PTR("name", PTR, struct raw_carrier, name, 1, STR),
    CYAML_FIELD_SEQUENCE("cutoffs", PTR, struct raw_carrier, cutoffs, &string_entry, 1, 48),
    CYAML_FIELD_STRING_PTR("lane", PTR | OPT, struct raw_carrier, lane, 1, STR), CYAML_FIELD_END};
static const cyaml_schema_value_t carrier_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_carrier, carrier_fields)};

static const cyaml_schema_field_t cart_fields[] = {
    CYAML_FIELD_UINT_PTR("totes", OPT, struct raw_cart, totes),
    CYAML_FIELD_UINT_PTR("weight_g", OPT, struct raw_cart, weight_g),
    CYAML_FIELD_UINT_PTR("volume_cm3", OPT, struct raw_cart, volume_cm3), CYAML_FIELD_END};

static const cyaml_schema_field_t waves_fields[] = {
    CYAML_FIELD_SEQUENCE("carriers", PTR | OPT, struct raw_waves, carriers, &carrier_entry, 0,
                         SEQ_N),
    CYAML_FIELD_UINT_PTR("pick_pack_ship_min", OPT, struct raw_waves, pick_pack_ship_min),
    CYAML_FIELD_UINT_PTR("max_lines", OPT, struct raw_waves, max_lines),
    CYAML_FIELD_UINT_PTR("max_units", OPT, struct raw_waves, max_units),
    CYAML_FIELD_UINT_PTR("orders_per_pack_station", OPT, struct raw_waves, orders_per_pack_station),
    CYAML_FIELD_BOOL_PTR("split_by_zone", OPT, struct raw_waves, split_by_zone),
    CYAML_FIELD_BOOL_PTR("split_by_cutoff", OPT, struct raw_waves, split_by_cutoff),
    CYAML_FIELD_BOOL_PTR("auto_release", OPT, struct raw_waves, auto_release),
    CYAML_FIELD_MAPPING_PTR("cart", OPT, struct raw_waves, cart, cart_fields),
    CYAML_FIELD_SEQUENCE("priorities", PTR | OPT, struct raw_waves, priorities, &string_entry, 0,
                         16),
    CYAML_FIELD_END};

static const cyaml_schema_field_t device_fields[] = {
    CYAML_FIELD_STRING_PTR("id", PTR, struct raw_device, id, 1, STR),
    CYAML_FIELD_ENUM("kind", 0, struct raw_device, kind, dev_kinds, COUNT(dev_kinds)),
    CYAML_FIELD_STRING_PTR("model", PTR, struct raw_device, model, 1, STR),
    CYAML_FIELD_STRING_PTR("uri", PTR, struct raw_device, uri, 1, STR),
    CYAML_FIELD_UINT_PTR("unit_id", OPT, struct raw_device, unit_id),
    CYAML_FIELD_UINT_PTR("address_base", OPT, struct raw_device, address_base),
    CYAML_FIELD_UINT_PTR("poll_ms", OPT, struct raw_device, poll_ms),
    CYAML_FIELD_UINT_PTR("heartbeat_ms", OPT, struct raw_device, heartbeat_ms),
    CYAML_FIELD_UINT_PTR("timeout_ms", OPT, struct raw_device, timeout_ms),
    CYAML_FIELD_STRING_PTR("no_read", PTR | OPT, struct raw_device, no_read, 1, 64),
    CYAML_FIELD_STRING_PTR("multi_read", PTR | OPT, struct raw_device, multi_read, 1, 64),
    CYAML_FIELD_ENUM_PTR("terminator", OPT, struct raw_device, terminator, terminators,
                         COUNT(terminators)),
    CYAML_FIELD_UINT_PTR("dpi", OPT, struct raw_device, dpi),
    CYAML_FIELD_END};
static const cyaml_schema_value_t device_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_device, device_fields)};

#define REG(name, r) CYAML_FIELD_UINT_PTR(name, OPT, struct raw_registers, addr[r])
static const cyaml_schema_field_t register_fields[] = {
    REG("plc_heartbeat", CFG_REG_PLC_HEARTBEAT),
    REG("plc_status", CFG_REG_PLC_STATUS),
    REG("scan_seq", CFG_REG_SCAN_SEQ),
    REG("read_result", CFG_REG_READ_RESULT),
    REG("track_id", CFG_REG_TRACK_ID),
    REG("confirm_seq", CFG_REG_CONFIRM_SEQ),
    REG("confirm_result", CFG_REG_CONFIRM_RESULT),
    REG("confirm_lane", CFG_REG_CONFIRM_LANE),
    REG("barcode", CFG_REG_BARCODE),
    REG("wcs_heartbeat", CFG_REG_WCS_HEARTBEAT),
    REG("resp_seq", CFG_REG_RESP_SEQ),
    REG("dest_lane", CFG_REG_DEST_LANE),
    REG("cmd_flags", CFG_REG_CMD_FLAGS),
    REG("confirm_ack_seq", CFG_REG_CONFIRM_ACK_SEQ),
    CYAML_FIELD_END};

static const cyaml_schema_field_t scan_point_fields[] = {
    CYAML_FIELD_STRING_PTR("id", PTR, struct raw_scan_point, id, 1, STR),
    CYAML_FIELD_STRING_PTR("plc", PTR, struct raw_scan_point, plc, 1, STR),
    CYAML_FIELD_STRING_PTR("scanner", PTR | OPT, struct raw_scan_point, scanner, 1, STR),
    CYAML_FIELD_UINT("read_base", 0, struct raw_scan_point, read_base),
    CYAML_FIELD_UINT("write_base", 0, struct raw_scan_point, write_base),
    CYAML_FIELD_UINT_PTR("barcode_regs", OPT, struct raw_scan_point, barcode_regs),
    CYAML_FIELD_MAPPING_PTR("registers", OPT, struct raw_scan_point, registers, register_fields),
    CYAML_FIELD_STRING_PTR("reject_lane", PTR | OPT, struct raw_scan_point, reject_lane, 1, STR),
    CYAML_FIELD_STRING_PTR("recirc_lane", PTR | OPT, struct raw_scan_point, recirc_lane, 1, STR),
    CYAML_FIELD_UINT_PTR("max_recirc", OPT, struct raw_scan_point, max_recirc),
    CYAML_FIELD_UINT_PTR("decision_budget_ms", OPT, struct raw_scan_point, decision_budget_ms),
    CYAML_FIELD_SEQUENCE("lanes", PTR, struct raw_scan_point, lanes, &string_entry, 1, 1024),
    CYAML_FIELD_END};
static const cyaml_schema_value_t scan_point_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_scan_point, scan_point_fields)};

static const cyaml_schema_field_t lane_fields[] = {
    CYAML_FIELD_STRING_PTR("id", PTR, struct raw_lane, id, 1, STR),
    CYAML_FIELD_UINT("number", 0, struct raw_lane, number),
    CYAML_FIELD_STRING_PTR("destination", PTR, struct raw_lane, destination, 1, STR),
    CYAML_FIELD_UINT_PTR("capacity", OPT, struct raw_lane, capacity),
    CYAML_FIELD_BOOL_PTR("enabled", OPT, struct raw_lane, enabled),
    CYAML_FIELD_END};
static const cyaml_schema_value_t lane_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_lane, lane_fields)};

static const cyaml_schema_field_t conveyor_fields[] = {
    CYAML_FIELD_SEQUENCE("scan_points", PTR | OPT, struct raw_conveyor, scan_points,
                         &scan_point_entry, 0, SEQ_N),
    CYAML_FIELD_SEQUENCE("lanes", PTR | OPT, struct raw_conveyor, lanes, &lane_entry, 0, SEQ_N),
    CYAML_FIELD_END};

static const cyaml_schema_field_t station_fields[] = {
    CYAML_FIELD_STRING_PTR("id", PTR, struct raw_station, id, 1, STR),
    CYAML_FIELD_ENUM("kind", 0, struct raw_station, kind, station_kinds, COUNT(station_kinds)),
    CYAML_FIELD_STRING_PTR("location", PTR | OPT, struct raw_station, location, 1, STR),
    CYAML_FIELD_STRING_PTR("scanner", PTR | OPT, struct raw_station, scanner, 1, STR),
    CYAML_FIELD_STRING_PTR("scale", PTR | OPT, struct raw_station, scale, 1, STR),
    CYAML_FIELD_STRING_PTR("printer", PTR | OPT, struct raw_station, printer, 1, STR),
    CYAML_FIELD_STRING_PTR("fallback_printer", PTR | OPT, struct raw_station, fallback_printer, 1,
                           STR),
    CYAML_FIELD_FLOAT_PTR("weight_tolerance_pct", OPT, struct raw_station, weight_tolerance_pct),
    CYAML_FIELD_UINT_PTR("packaging_g", OPT, struct raw_station, packaging_g),
    CYAML_FIELD_END};
static const cyaml_schema_value_t station_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_station, station_fields)};

static const cyaml_schema_field_t user_fields[] = {
    CYAML_FIELD_STRING_PTR("name", PTR, struct raw_user, name, 1, STR),
    CYAML_FIELD_SEQUENCE("roles", PTR, struct raw_user, roles, &string_entry, 1, 64),
    CYAML_FIELD_END};
static const cyaml_schema_value_t user_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_user, user_fields)};

static const cyaml_schema_field_t role_fields[] = {
    CYAML_FIELD_STRING_PTR("name", PTR, struct raw_role, name, 1, STR),
    CYAML_FIELD_SEQUENCE("commands", PTR, struct raw_role, commands, &string_entry, 1, 256),
    CYAML_FIELD_BOOL_PTR("approve", OPT, struct raw_role, approve),
    CYAML_FIELD_SEQUENCE("read", PTR | OPT, struct raw_role, read, &string_entry, 0, 64),
    CYAML_FIELD_END};
static const cyaml_schema_value_t role_entry = {
    CYAML_VALUE_MAPPING(0, struct raw_role, role_fields)};

static const cyaml_schema_field_t adjust_fields[] = {
    CYAML_FIELD_UINT_PTR("qty_threshold", OPT, struct raw_adjust, qty_threshold),
    CYAML_FIELD_UINT_PTR("value_threshold_cents", OPT, struct raw_adjust, value_threshold_cents),
    CYAML_FIELD_END};

static const cyaml_schema_field_t receiving_fields[] = {
    CYAML_FIELD_UINT_PTR("over_tolerance_pct", OPT, struct raw_receiving, over_tolerance_pct),
    CYAML_FIELD_END};
static const cyaml_schema_field_t counting_fields[] = {
    CYAML_FIELD_UINT_PTR("a_days", OPT, struct raw_counting, a_days),
    CYAML_FIELD_UINT_PTR("b_days", OPT, struct raw_counting, b_days),
    CYAML_FIELD_UINT_PTR("c_days", OPT, struct raw_counting, c_days),
    CYAML_FIELD_UINT_PTR("daily_max", OPT, struct raw_counting, daily_max), CYAML_FIELD_END};

static const cyaml_schema_field_t redis_fields[] = {
    CYAML_FIELD_STRING_PTR("host", PTR | OPT, struct raw_redis, host, 1, 253),
    CYAML_FIELD_UINT_PTR("port", OPT, struct raw_redis, port),
    CYAML_FIELD_STRING_PTR("user", PTR | OPT, struct raw_redis, user, 1, 128),
    CYAML_FIELD_STRING_PTR("password_file", PTR | OPT, struct raw_redis, password_file, 1, 4095),
    CYAML_FIELD_STRING_PTR("password", PTR | OPT, struct raw_redis, password, 0, STR),
    CYAML_FIELD_UINT_PTR("db", OPT, struct raw_redis, db),
    CYAML_FIELD_UINT_PTR("timeout_ms", OPT, struct raw_redis, timeout_ms),
    CYAML_FIELD_UINT_PTR("journal_maxlen", OPT, struct raw_redis, journal_maxlen),
    CYAML_FIELD_END};

static const cyaml_schema_field_t mqtt_fields[] = {
    CYAML_FIELD_STRING_PTR("uri", PTR | OPT, struct raw_mqtt, uri, 1, 512),
    CYAML_FIELD_STRING_PTR("client_id", PTR | OPT, struct raw_mqtt, client_id, 1, 128),
    CYAML_FIELD_STRING_PTR("user", PTR | OPT, struct raw_mqtt, user, 1, 128),
    CYAML_FIELD_STRING_PTR("password_file", PTR | OPT, struct raw_mqtt, password_file, 1, 4095),
    CYAML_FIELD_STRING_PTR("password", PTR | OPT, struct raw_mqtt, password, 0, STR),
    CYAML_FIELD_UINT_PTR("keepalive_s", OPT, struct raw_mqtt, keepalive_s),
    CYAML_FIELD_UINT_PTR("qos", OPT, struct raw_mqtt, qos),
    CYAML_FIELD_END};

static const cyaml_schema_field_t address_fields[] = {
    CYAML_FIELD_STRING_PTR("name", PTR, struct raw_address, name, 1, 64),
    CYAML_FIELD_STRING_PTR("street", PTR, struct raw_address, street, 1, 64),
    CYAML_FIELD_STRING_PTR("city", PTR, struct raw_address, city, 1, 64),
    CYAML_FIELD_STRING_PTR("postcode", PTR, struct raw_address, postcode, 1, 16),
    CYAML_FIELD_STRING_PTR("country", PTR, struct raw_address, country, 2, 2),
    CYAML_FIELD_END};

static const cyaml_schema_field_t labels_fields[] = {
    CYAML_FIELD_STRING_PTR("company_prefix", PTR, struct raw_labels, company_prefix, 7, 10),
    CYAML_FIELD_UINT_PTR("extension_digit", OPT, struct raw_labels, extension_digit),
    CYAML_FIELD_STRING_PTR("sscc_template", PTR | OPT, struct raw_labels, sscc_template, 1, 4095),
    CYAML_FIELD_MAPPING_PTR("ship_from", 0, struct raw_labels, ship_from, address_fields),
    CYAML_FIELD_END};

static const cyaml_schema_field_t file_fields[] = {
    CYAML_FIELD_SEQUENCE("include", PTR | OPT, struct raw_file, include, &string_entry, 0, 64),
    CYAML_FIELD_MAPPING_PTR("site", OPT, struct raw_file, site, site_fields),
    CYAML_FIELD_SEQUENCE("warehouses", PTR | OPT, struct raw_file, warehouses, &warehouse_entry, 0,
                         SEQ_N),
    CYAML_FIELD_SEQUENCE("products", PTR | OPT, struct raw_file, products, &product_entry, 0,
                         SEQ_N),
    CYAML_FIELD_STRING_PTR("products_file", PTR | OPT, struct raw_file, products_file, 1, 4095),
    CYAML_FIELD_SEQUENCE("categories", PTR | OPT, struct raw_file, categories, &category_entry, 0,
                         SEQ_N),
    CYAML_FIELD_SEQUENCE("putaway_rules", PTR | OPT, struct raw_file, putaway_rules, &putaway_entry,
                         0, SEQ_N),
    CYAML_FIELD_SEQUENCE("replenishment", PTR | OPT, struct raw_file, replenishment, &repl_entry, 0,
                         SEQ_N),
    CYAML_FIELD_SEQUENCE("purchase_rules", PTR | OPT, struct raw_file, purchase_rules,
                         &purchase_entry, 0, SEQ_N),
    CYAML_FIELD_MAPPING_PTR("waves", OPT, struct raw_file, waves, waves_fields),
    CYAML_FIELD_SEQUENCE("devices", PTR | OPT, struct raw_file, devices, &device_entry, 0, SEQ_N),
    CYAML_FIELD_MAPPING_PTR("conveyor", OPT, struct raw_file, conveyor, conveyor_fields),
    CYAML_FIELD_SEQUENCE("stations", PTR | OPT, struct raw_file, stations, &station_entry, 0,
                         SEQ_N),
    CYAML_FIELD_SEQUENCE("users", PTR | OPT, struct raw_file, users, &user_entry, 0, SEQ_N),
    CYAML_FIELD_SEQUENCE("roles", PTR | OPT, struct raw_file, roles, &role_entry, 0, SEQ_N),
    CYAML_FIELD_MAPPING_PTR("adjust_approval", OPT, struct raw_file, adjust_approval,
                            adjust_fields),
    CYAML_FIELD_MAPPING_PTR("receiving", OPT, struct raw_file, receiving, receiving_fields),
    CYAML_FIELD_MAPPING_PTR("counting", OPT, struct raw_file, counting, counting_fields),
    CYAML_FIELD_MAPPING_PTR("redis", OPT, struct raw_file, redis, redis_fields),
    CYAML_FIELD_MAPPING_PTR("mqtt", OPT, struct raw_file, mqtt, mqtt_fields),
    CYAML_FIELD_MAPPING_PTR("labels", OPT, struct raw_file, labels, labels_fields),
    CYAML_FIELD_END};

static const cyaml_schema_value_t file_schema = {
    CYAML_VALUE_MAPPING(PTR, struct raw_file, file_fields)};

struct schema_value {
    cyaml_schema_value_t v;
};

const struct schema_value *schema_root(void)
{
    return (const struct schema_value *)&file_schema;
}

static const cyaml_config_t cyaml_cfg = {
    .log_fn = NULL,
    .mem_fn = cyaml_mem,
    .log_level = CYAML_LOG_ERROR,
    .flags = CYAML_CFG_NO_ALIAS,
};

int schema_load(struct raw_file **out, const char *file, const char *text, size_t len,
                struct cfg_errors *errs)
{
    struct raw_file *raw = NULL;
    cyaml_err_t err = cyaml_load_data((const uint8_t *)text, len, &cyaml_cfg, &file_schema,
                                      (cyaml_data_t **)&raw, NULL);
    if (err != CYAML_OK) {
        if (err == CYAML_ERR_OOM)
            return -ENOMEM;
        /* check_tree accepted this file, so this is a gap between the two walks. */
        errs_add(errs, file, 1, 1, "yaml", "libcyaml rejected the file: %s", cyaml_strerror(err));
        return WCS_E_CONFIG;
    }
    *out = raw;
    return 0;
}

void schema_free(struct raw_file *raw)
{
    if (raw)
        cyaml_free(&cyaml_cfg, &file_schema, raw, 0);
}

/* ---- the strict walk ---- */

struct walk {
    const char *file;
    struct cfg_errors *errs;
    char path[512];
    size_t n_errs;
};

#define WERR(w, node, ...)                                                                         \
    do {                                                                                           \
        errs_add((w)->errs, (w)->file, (node)->line, (node)->col, (w)->path, __VA_ARGS__);         \
        (w)->n_errs++;                                                                             \
    } while (0)

static bool is_null(const struct ynode *n)
{
    return n->kind == Y_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0);
}

/* What n is, for "expected X, found Y" (buf holds a JSON value's text). */
static const char *found(const struct ynode *n, char *buf, size_t len)
{
    switch (n->json) {
    case YJ_NONE:
        return is_null(n) ? "nothing" : ykind_name(n->kind);
    case YJ_OBJECT:
        return "an object";
    case YJ_ARRAY:
        return "an array";
    case YJ_STRING:
        snprintf(buf, len, "the string \"%.40s%s\"", n->str, n->len > 40 ? "..." : "");
        return buf;
    case YJ_INTEGER:
        snprintf(buf, len, "the integer %s", n->str);
        return buf;
    case YJ_REAL:
        snprintf(buf, len, "the number %s", n->str);
        return buf;
    case YJ_BOOL:
    case YJ_NULL:
    default:
        return n->str;
    }
}

/* JSON values carry their type: a scalar must have the one the schema asks for (YAML scalars
 * are all text and are judged by walk_scalar alone). Returns what was expected, or NULL. */
static const char *json_mismatch(const struct ynode *n, const cyaml_schema_value_t *s)
{
    switch (s->type) {
    case CYAML_UINT:
    case CYAML_INT:
        return n->json == YJ_INTEGER ? NULL : "an integer";
    case CYAML_FLOAT:
        return n->json == YJ_INTEGER || n->json == YJ_REAL ? NULL : "a number";
    case CYAML_BOOL:
        return n->json == YJ_BOOL ? NULL : "a boolean (true or false)";
    case CYAML_ENUM:
    case CYAML_STRING:
        return n->json == YJ_STRING ? NULL : "a string";
    default:
        return NULL;
    }
}

static void walk_value(struct walk *w, const struct ynode *n, const cyaml_schema_value_t *s);

static void walk_mapping(struct walk *w, const struct ynode *n, const cyaml_schema_field_t *f)
{
    size_t base = strlen(w->path);
    for (size_t i = 0; i < n->n; i++) {
        const struct ynode *k = n->pairs[i].key;
        const cyaml_schema_field_t *fi;
        for (fi = f; fi->key; fi++)
            if (strcmp(fi->key, k->str) == 0)
                break;
        snprintf(w->path + base, sizeof(w->path) - base, "%s%s", base ? "." : "", k->str);
        if (!fi->key) {
            char allowed[400];
            size_t o = 0;
            allowed[0] = '\0';
            for (const cyaml_schema_field_t *a = f; a->key && o < sizeof(allowed); a++)
                o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s", a == f ? "" : ", ",
                                      a->key);
            WERR(w, k, "unknown key '%s'; allowed keys: %s", k->str, allowed);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(n->pairs[j].key->str, k->str) == 0) {
                WERR(w, k, "duplicate key '%s' (first at line %u:%u)", k->str,
                     n->pairs[j].key->line, n->pairs[j].key->col);
                goto next;
            }
        walk_value(w, n->pairs[i].val, &fi->value);
    next:;
    }
    w->path[base] = '\0';
    for (const cyaml_schema_field_t *fi = f; fi->key; fi++)
        if (!(fi->value.flags & CYAML_FLAG_OPTIONAL) && !ymap_get(n, fi->key)) {
            snprintf(w->path + base, sizeof(w->path) - base, "%s%s", base ? "." : "", fi->key);
            WERR(w, n, "missing required key '%s'", fi->key);
            w->path[base] = '\0';
        }
}

static void walk_scalar(struct walk *w, const struct ynode *n, const cyaml_schema_value_t *s)
{
    const char *why = NULL;
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    switch (s->type) {
    case CYAML_UINT: {
        uint64_t max = s->data_size >= 8 ? UINT64_MAX : (1ull << (8 * s->data_size)) - 1;
        int rc = cfg_parse_uint(n->str, max, &u, &why);
        if (rc == WCS_E_RANGE && strcmp(why, "out of range") == 0)
            WERR(w, n, "'%s' is out of range; expected an integer 0..%" PRIu64, n->str, max);
        else if (rc < 0)
            WERR(w, n, "invalid integer '%s': %s; expected an integer 0..%" PRIu64, n->str, why,
                 max);
        break;
    }
    case CYAML_INT: {
        int64_t max =
            s->data_size >= 8 ? INT64_MAX : (int64_t)((1ull << (8 * s->data_size - 1)) - 1);
        int rc = cfg_parse_int(n->str, -max - 1, max, &i, &why);
        if (rc < 0)
            WERR(w, n, "invalid integer '%s': %s; expected %" PRId64 "..%" PRId64, n->str, why,
                 -max - 1, max);
        break;
    }
    case CYAML_FLOAT:
        if (cfg_parse_number(n->str, &d, &why) < 0)
            WERR(w, n, "invalid number '%s': %s", n->str, why);
        break;
    case CYAML_BOOL:
        if (cfg_parse_bool(n->str, &b, &why) < 0)
            WERR(w, n, "invalid boolean '%s': expected true or false", n->str);
        break;
    case CYAML_ENUM: {
        char allowed[300];
        size_t o = 0;
        for (uint32_t k = 0; k < s->enumeration.count; k++)
            if (strcmp(s->enumeration.strings[k].str, n->str) == 0)
                return;
        allowed[0] = '\0';
        for (uint32_t k = 0; k < s->enumeration.count && o < sizeof(allowed); k++)
            o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s", k ? ", " : "",
                                  s->enumeration.strings[k].str);
        WERR(w, n, "invalid value '%s'; allowed: %s", n->str, allowed);
        break;
    }
    case CYAML_STRING:
        if (n->len == 0 && s->string.min > 0)
            WERR(w, n, "empty string");
        else if (n->len < s->string.min)
            WERR(w, n, "string shorter than %u bytes", s->string.min);
        else if (n->len > s->string.max)
            WERR(w, n, "string longer than %u bytes", s->string.max);
        break;
    default:
        break;
    }
}

static void walk_value(struct walk *w, const struct ynode *n, const cyaml_schema_value_t *s)
{
    size_t base = strlen(w->path);
    char buf[80];
    switch (s->type) {
    case CYAML_MAPPING:
        if (n->kind != Y_MAP) {
            WERR(w, n, "expected %s, found %s", n->json ? "an object" : "a mapping",
                 found(n, buf, sizeof(buf)));
            return;
        }
        walk_mapping(w, n, s->mapping.fields);
        return;
    case CYAML_SEQUENCE:
    case CYAML_SEQUENCE_FIXED:
        if (n->kind != Y_SEQ) {
            WERR(w, n, "expected %s, found %s", n->json ? "an array" : "a sequence",
                 found(n, buf, sizeof(buf)));
            return;
        }
        if (n->n < s->sequence.min)
            WERR(w, n, "needs at least %u entr%s", s->sequence.min,
                 s->sequence.min == 1 ? "y" : "ies");
        else if (n->n > s->sequence.max)
            WERR(w, n, "has %zu entries; at most %u are allowed", n->n, s->sequence.max);
        for (size_t i = 0; i < n->n; i++) {
            snprintf(w->path + base, sizeof(w->path) - base, "[%zu]", i);
            walk_value(w, n->items[i], s->sequence.entry);
        }
        w->path[base] = '\0';
        return;
    case CYAML_IGNORE:
        return;
    default:
        if (n->json != YJ_NONE && json_mismatch(n, s)) {
            WERR(w, n, "expected %s, found %s", json_mismatch(n, s), found(n, buf, sizeof(buf)));
            return;
        }
        if (n->kind != Y_SCALAR) {
            WERR(w, n, "expected a scalar, found %s", ykind_name(n->kind));
            return;
        }
        if (is_null(n)) {
            WERR(w, n, "missing value");
            return;
        }
        walk_scalar(w, n, s);
        return;
    }
}

size_t check_tree(const struct ynode *root, const char *file, struct cfg_errors *errs)
{
    struct walk w = {.file = file, .errs = errs};
    walk_value(&w, root, &file_schema);
    return w.n_errs;
}

size_t schema_check_product(const struct ynode *item, const char *file, const char *path,
                            struct cfg_errors *errs)
{
    struct walk w = {.file = file, .errs = errs};
    snprintf(w.path, sizeof(w.path), "%s", path);
    walk_value(&w, item, &product_entry);
    return w.n_errs;
}

/* ---- filling raw structs from a checked node tree (JSONL products) ---- */

static int fill_mapping(struct arena *mem, const cyaml_schema_field_t *f, const struct ynode *n,
                        void *base);

static void store_uint(void *dst, size_t size, uint64_t v)
{
    switch (size) {
    case 1:
        *(uint8_t *)dst = (uint8_t)v;
        break;
    case 2:
        *(uint16_t *)dst = (uint16_t)v;
        break;
    case 4:
        *(uint32_t *)dst = (uint32_t)v;
        break;
    default:
        assert(size == 8);
        *(uint64_t *)dst = v;
        break;
    }
}

/* Stores node n into dst (the member itself) as schema value s describes it, the way libcyaml
 * would. Only the value kinds the product schema uses are needed; the walk already accepted n,
 * so the scalars parse. */
static int fill_value(struct arena *mem, const cyaml_schema_value_t *s, const struct ynode *n,
                      void *dst)
{
    const char *why;
    uint64_t u = 0;
    if ((s->flags & CYAML_FLAG_POINTER) && s->type != CYAML_STRING && s->type != CYAML_SEQUENCE) {
        void *p = arena_alloc(mem, s->data_size);
        if (!p)
            return -ENOMEM;
        *(void **)dst = p;
        dst = p;
    }
    switch (s->type) {
    case CYAML_STRING:
        assert(s->flags & CYAML_FLAG_POINTER);
        if (!(*(char **)dst = arena_strndup(mem, n->str, n->len)))
            return -ENOMEM;
        return 0;
    case CYAML_UINT:
        if (cfg_parse_uint(n->str, UINT64_MAX, &u, &why) < 0)
            assert(!"the walk accepted a bad integer");
        store_uint(dst, s->data_size, u);
        return 0;
    case CYAML_BOOL:
        assert(s->data_size == sizeof(bool));
        *(bool *)dst = strcmp(n->str, "true") == 0;
        return 0;
    case CYAML_ENUM:
        assert(s->data_size == sizeof(int));
        for (uint32_t k = 0; k < s->enumeration.count; k++)
            if (strcmp(s->enumeration.strings[k].str, n->str) == 0)
                *(int *)dst = (int)s->enumeration.strings[k].val;
        return 0;
    case CYAML_MAPPING:
        return fill_mapping(mem, s->mapping.fields, n, dst);
    case CYAML_SEQUENCE: {
        char *items = arena_alloc(mem, (n->n ? n->n : 1) * s->data_size);
        if (!items)
            return -ENOMEM;
        *(void **)dst = items;
        for (size_t i = 0; i < n->n; i++) {
            int rc = fill_value(mem, s->sequence.entry, n->items[i], items + i * s->data_size);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    default:
        assert(!"schema value kind not used by products");
        return WCS_E_STATE;
    }
}

static int fill_mapping(struct arena *mem, const cyaml_schema_field_t *f, const struct ynode *n,
                        void *base)
{
    for (; f->key; f++) {
        const struct ynode *v = ymap_get(n, f->key);
        int rc;
        if (!v)
            continue;
        rc = fill_value(mem, &f->value, v, (char *)base + f->data_offset);
        if (rc < 0)
            return rc;
        if (f->value.type == CYAML_SEQUENCE)
            store_uint((char *)base + f->count_offset, f->count_size, v->n);
    }
    return 0;
}

int schema_fill_product(struct raw_product *out, const struct ynode *item, struct arena *mem)
{
    memset(out, 0, sizeof(*out));
    return fill_mapping(mem, product_fields, item, out);
}
