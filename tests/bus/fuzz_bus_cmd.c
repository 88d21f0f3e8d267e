/* Fuzz target for the bus's command codec: the input's first line is the topic, the rest the
 * payload. Runs the topic parser, the envelope parser, the response-topic guard and, for an
 * envelope that parses, the field helpers and the reply serialiser on it. */
#include "base/err.h"
#include "bus/codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char user[BUS_NAME_MAX], cmd[BUS_NAME_MAX], rid[BUS_REQUEST_ID_MAX + 1], err[BUS_ERR_MAX];
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    const uint8_t *payload = nl ? nl + 1 : data + size;
    size_t plen = size - tlen - (nl ? 1 : 0);
    json_t *body = NULL;

    int trc = bus_cmd_topic_parse((const char *)data, tlen, "s1", user, cmd, err, sizeof(err));
    if (trc == 0 || trc == WCS_E_SYNTAX)
        (void)bus_response_topic_ok((const char *)data, tlen, "s1", user[0] ? user : "u");
    if (bus_envelope_parse(payload, plen, 4096, &body, rid, err, sizeof(err)) == 0) {
        const char *s;
        int64_t v;
        int idx;
        bool b;
        static const char *const e[] = {"a", "b", NULL};
        size_t len;
        (void)bus_field_string(body, "sku", BUS_FIELD_OPTIONAL, 1, 32, &s, err, sizeof(err));
        (void)bus_field_int(body, "qty", 0, 1, INT64_MAX, &v, err, sizeof(err));
        (void)bus_field_enum(body, "mode", 0, e, &idx, err, sizeof(err));
        (void)bus_field_bool(body, "urgent", 0, &b, err, sizeof(err));
        free(bus_reply_dump(true, rid, trc == 0 ? cmd : NULL, NULL, NULL, 1, 2, &len));
        free(bus_payload_dump(body, 1, 2, &len));
        json_decref(body);
    }
    return 0;
}
