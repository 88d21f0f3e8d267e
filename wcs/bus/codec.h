/* The bus's pure codec (private to wcs_bus, and its tests and fuzz target): command topics and
 * envelopes in, stamped JSON payloads out. No I/O, no clock; allocations are returned to the
 * caller. Unit-tested in tests/bus/test_bus_codec.c and fuzzed by tests/bus/fuzz_bus_cmd.c. */
#ifndef WCS_BUS_CODEC_H
#define WCS_BUS_CODEC_H

#include "bus/bus.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A topic level name: 1..63 characters of [A-Za-z0-9_.-]. Returns true when s[0..len) is one. */
bool bus_name_ok(const char *s, size_t len);
/* A request_id: 1..64 characters of [A-Za-z0-9._:-]. */
bool bus_request_id_ok(const char *s, size_t len);

/* Parses topic[0..len) as wcs/v1/<site>/cmd/<user>/<command> for `site`.
 * Returns 0 with user and command filled; WCS_E_UNKNOWN when it is not a command topic of this
 * site; WCS_E_SYNTAX with user filled and command "" when only the command level is invalid
 * (the sender can still be answered); -EINVAL when the user level is invalid (user ""). err gets
 * one line in every failure case. */
int bus_cmd_topic_parse(const char *topic, size_t len, const char *site, char user[BUS_NAME_MAX],
                        char command[BUS_NAME_MAX], char *err, size_t err_len);

/* Parses a command envelope payload[0..len): a JSON object (duplicate keys refused) with a valid
 * string "request_id". Returns 0 with *body (caller json_decref's) and request_id filled;
 * WCS_E_RANGE when len > max_bytes (nothing parsed); WCS_E_SYNTAX for bad JSON, a non-object or
 * a bad request_id. On failure *body is untouched and err holds the precise reason; request_id
 * is "" unless only the rest of the envelope was at fault. */
int bus_envelope_parse(const void *payload, size_t len, size_t max_bytes, json_t **body,
                       char request_id[BUS_REQUEST_ID_MAX + 1], char *err, size_t err_len);

/* True when a MQTT 5 response topic rt[0..len) may be answered on: it lies under
 * wcs/v1/<site>/reply/<user>/ and holds no wildcard or NUL. Anything else could let a user
 * make wcs publish on topics only wcs may write. */
bool bus_response_topic_ok(const char *rt, size_t len, const char *site, const char *user);

/* Serialises body (an object, or NULL for {}) with "ts" and "seq" set (replacing any given).
 * Returns a malloc'd NUL-terminated compact JSON text (caller frees) and its length in *len, or
 * NULL when body is not an object or memory ran out. */
char *bus_payload_dump(const json_t *body, int64_t ts_ms, uint64_t seq, size_t *len);

/* Serialises a reply: {"ok":..,"request_id":..,"command":..,...fields|"error":..,"ts","seq"};
 * a NULL request_id or command is written as null (a command that could not be read).
 * Returns a malloc'd text and *len, or NULL (fields not an object, a reserved key in fields, or
 * out of memory). */
char *bus_reply_dump(bool ok, const char *request_id, const char *command, const json_t *fields,
                     const char *error, int64_t ts_ms, uint64_t seq, size_t *len);

#endif
