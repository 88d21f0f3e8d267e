/* AIM symbology identifier codec (ISO/IEC 15424): splits "]Cm" off scan data and names it.
 * The GS1 carriers are those whose modifier says "FNC1 in first position" (GS1 General
 * Specifications, symbology identifiers table); ]E0/]E4 carry a bare GTIN-13/GTIN-8. */
#include "drivers/codec/aim.h"

#include <assert.h>
#include <string.h>

struct code_name {
    char code;
    const char *name;
};

/* Code characters of ISO/IEC 15424 that readers actually send. */
static const struct code_name codes[] = {
    {'A', "Code 39"},
    {'B', "Telepen"},
    {'C', "Code 128"},
    {'D', "Code One"},
    {'E', "EAN/UPC"},
    {'F', "Codabar"},
    {'G', "Code 93"},
    {'H', "Code 11"},
    {'I', "Interleaved 2 of 5"},
    {'J', "DotCode"},
    {'K', "Code 16K"},
    {'L', "PDF417"},
    {'M', "MSI"},
    {'N', "Anker"},
    {'O', "Codablock"},
    {'P', "Plessey"},
    {'Q', "QR Code"},
    {'R', "Straight 2 of 5 (2-bar start/stop)"},
    {'S', "Straight 2 of 5 (3-bar start/stop)"},
    {'T', "Code 49"},
    {'U', "MaxiCode"},
    {'X', "other symbology"},
    {'Z', "non-barcode data"},
    {'c', "Channel Code"},
    {'d', "Data Matrix"},
    {'e', "GS1 DataBar"},
    {'g', "Grid Matrix"},
    {'h', "Han Xin"},
    {'z', "Aztec"},
};

struct special {
    char code, modifier;
    enum aim_content content;
    const char *name;
};

/* Identifiers whose modifier changes the meaning of the data. */
static const struct special specials[] = {
    {'C', '1', AIM_CONTENT_GS1, "GS1-128"},
    {'e', '0', AIM_CONTENT_GS1, "GS1 DataBar"},
    {'d', '2', AIM_CONTENT_GS1, "GS1 DataMatrix"},
    {'Q', '3', AIM_CONTENT_GS1, "GS1 QR Code"},
    {'J', '1', AIM_CONTENT_GS1, "GS1 DotCode"},
    {'E', '0', AIM_CONTENT_GTIN, "EAN-13/UPC-A"},
    {'E', '4', AIM_CONTENT_GTIN, "EAN-8"},
    {'E', '1', AIM_CONTENT_PLAIN, "EAN/UPC 2-digit add-on"},
    {'E', '2', AIM_CONTENT_PLAIN, "EAN/UPC 5-digit add-on"},
    {'E', '3', AIM_CONTENT_PLAIN, "EAN/UPC with add-on"},
};

static bool is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_modifier(char c)
{
    return is_letter(c) || (c >= '0' && c <= '9');
}

const char *aim_symbology_name(char code)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].code == code)
            return codes[i].name;
    return "unknown";
}

int aim_parse(const char *data, size_t len, struct aim_id *out)
{
    assert(out);
    assert(data || len == 0);
    memset(out, 0, sizeof(*out));
    out->symbology = "none";
    if (len < 3 || data[0] != ']' || !is_letter(data[1]) || !is_modifier(data[2]))
        return 0;
    out->present = true;
    out->code = data[1];
    out->modifier = data[2];
    memcpy(out->text, data, 3);
    out->text[3] = '\0';
    out->data_offset = 3;
    out->symbology = aim_symbology_name(out->code);
    out->content = AIM_CONTENT_PLAIN;
    for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
        if (specials[i].code == out->code && specials[i].modifier == out->modifier) {
            out->content = specials[i].content;
            out->symbology = specials[i].name;
            break;
        }
    }
    return 0;
}
