/* GS1 element string codec: the AI table (formats from the GS1 General Specifications and the
 * GS1 Barcode Syntax Dictionary), the element-string and bracketed parsers, the builders, and
 * decoders for dates, decimals, weights, GTINs and SSCCs. See gs1.h for the contracts and
 * docs/barcode.md for what is checked and what is not. */
#include "drivers/codec/gs1.h"

#include "base/err.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Character sets of a component. */
enum cset {
    CS_N,  /* digits */
    CS_82, /* GS1 AI encodable character set 82 */
    CS_39, /* GS1 AI encodable character set 39 */
};

/* Content rules ("linters" in the GS1 Barcode Syntax Dictionary) applied to one component.
 * Rules not listed here (ISO 3166/4217 code lists, IBAN, alphanumeric check characters) are not
 * checked: such values are validated for length and character set only. */
enum lint {
    L_NONE,
    L_CSUM,         /* last digit is the GS1 mod-10 check digit */
    L_YYMMD0,       /* date, DD = 00 allowed */
    L_YYMMDD,       /* date */
    L_YYMMDDHH,     /* date and hour */
    L_HHMM,         /* time of day */
    L_MMOPTSS,      /* minutes, optionally seconds: MM or MMSS */
    L_HYPHEN,       /* exactly "-" */
    L_YESNO,        /* "0" or "1" */
    L_NONZERO,      /* not all zeros */
    L_ZERO,         /* "0" */
    L_WINDING,      /* "0", "1" or "9" */
    L_PIECEOFTOTAL, /* PPTT: 1 <= piece <= total */
    L_NOZEROPREFIX, /* no leading zero unless the value is "0" */
    L_N3LIST,       /* a list of 3-digit country codes: length a multiple of 3 */
    L_PCENC,        /* '%' only as a percent-escape with two hex digits */
    L_LATITUDE,     /* 0..1800000000 */
    L_LONGITUDE,    /* 0..3600000000 */
};

struct comp {
    unsigned char cs;  /* enum cset */
    unsigned char min; /* length bounds; min == max is a fixed length */
    unsigned char max;
    unsigned char lint; /* enum lint */
    bool opt;           /* optional last component */
};

#define COMP_MAX 5

/* One AI or a range of AIs that share a format: lo..hi compare as strings of equal length. */
struct ai_def {
    const char *lo;
    const char *hi;
    const char *title;
    const char *unit;
    unsigned char kind; /* enum gs1_kind */
    bool predefined;    /* in the predefined-length table: no FNC1 after it */
    unsigned char ncomp;
    struct comp comp[COMP_MAX];
};

#define N(n)                                                                                       \
    {                                                                                              \
        CS_N, n, n, L_NONE, false                                                                  \
    }
#define NL(n, l)                                                                                   \
    {                                                                                              \
        CS_N, n, n, l, false                                                                       \
    }
#define NV(n)                                                                                      \
    {                                                                                              \
        CS_N, 1, n, L_NONE, false                                                                  \
    }
#define NVL(n, l)                                                                                  \
    {                                                                                              \
        CS_N, 1, n, l, false                                                                       \
    }
#define X(n)                                                                                       \
    {                                                                                              \
        CS_82, n, n, L_NONE, false                                                                 \
    }
#define XL(n, l)                                                                                   \
    {                                                                                              \
        CS_82, n, n, l, false                                                                      \
    }
#define XV(n)                                                                                      \
    {                                                                                              \
        CS_82, 1, n, L_NONE, false                                                                 \
    }
#define XVL(n, l)                                                                                  \
    {                                                                                              \
        CS_82, 1, n, l, false                                                                      \
    }
#define YV(n)                                                                                      \
    {                                                                                              \
        CS_39, 1, n, L_NONE, false                                                                 \
    }
#define OPT_N(n, l)                                                                                \
    {                                                                                              \
        CS_N, n, n, l, true                                                                        \
    }
#define OPT_NV(n, l)                                                                               \
    {                                                                                              \
        CS_N, 1, n, l, true                                                                        \
    }
#define OPT_XV(n)                                                                                  \
    {                                                                                              \
        CS_82, 1, n, L_NONE, true                                                                  \
    }
#define OPT_XL(n, l)                                                                               \
    {                                                                                              \
        CS_82, n, n, l, true                                                                       \
    }

/* Single AI, variable or fixed, FNC1 required after it. */
#define AI(ai, title, ...)                                                                         \
    {                                                                                              \
        ai, ai, title, NULL, GS1_KIND_PLAIN, false,                                                \
            sizeof((struct comp[]){__VA_ARGS__}) / sizeof(struct comp),                            \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
/* Predefined-length AI (no FNC1 after it). */
#define AIP(ai, title, ...)                                                                        \
    {                                                                                              \
        ai, ai, title, NULL, GS1_KIND_PLAIN, true,                                                 \
            sizeof((struct comp[]){__VA_ARGS__}) / sizeof(struct comp),                            \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define AIK(ai, title, kind, ...)                                                                  \
    {                                                                                              \
        ai, ai, title, NULL, kind, false,                                                          \
            sizeof((struct comp[]){__VA_ARGS__}) / sizeof(struct comp),                            \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define DATEP(ai, title)                                                                           \
    {                                                                                              \
        ai, ai, title, NULL, GS1_KIND_DATE, true, 1,                                               \
        {                                                                                          \
            NL(6, L_YYMMD0)                                                                        \
        }                                                                                          \
    }
/* Measures 31nn-36nn: N6, predefined length, last digit = decimals 0-5. */
#define MEAS(lo, hi, title, unit)                                                                  \
    {                                                                                              \
        lo, hi, title, unit, GS1_KIND_DECIMAL, true, 1,                                            \
        {                                                                                          \
            N(6)                                                                                   \
        }                                                                                          \
    }
#define RANGE(lo, hi, title, kind, ...)                                                            \
    {                                                                                              \
        lo, hi, title, NULL, kind, false,                                                          \
            sizeof((struct comp[]){__VA_ARGS__}) / sizeof(struct comp),                            \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }

/* Sorted by AI; no AI is a prefix of another (GS1 allocates them that way). */
static const struct ai_def ais[] = {
    AIP("00", "SSCC", NL(18, L_CSUM)),
    AIP("01", "GTIN", NL(14, L_CSUM)),
    AIP("02", "CONTENT", NL(14, L_CSUM)),
    AI("10", "BATCH/LOT", XV(20)),
    DATEP("11", "PROD DATE"),
    DATEP("12", "DUE DATE"),
    DATEP("13", "PACK DATE"),
    DATEP("15", "BEST BEFORE or BEST BY"),
    DATEP("16", "SELL BY"),
    DATEP("17", "USE BY or EXPIRY"),
    AIP("20", "VARIANT", N(2)),
    AI("21", "SERIAL", XV(20)),
    AI("22", "CPV", XV(20)),
    AI("235", "TPX", XV(28)),
    AI("240", "ADDITIONAL ID", XV(30)),
    AI("241", "CUST. PART No.", XV(30)),
    AI("242", "MTO VARIANT", NV(6)),
    AI("243", "PCN", XV(20)),
    AI("250", "SECONDARY SERIAL", XV(30)),
    AI("251", "REF. TO SOURCE", XV(30)),
    AI("253", "GDTI", NL(13, L_CSUM), OPT_XV(17)),
    AI("254", "GLN EXTENSION COMPONENT", XV(20)),
    AI("255", "GCN", NL(13, L_CSUM), OPT_NV(12, L_NONE)),
    AI("30", "VAR. COUNT", NV(8)),
    MEAS("3100", "3105", "NET WEIGHT (kg)", "kg"),
    MEAS("3110", "3115", "LENGTH (m)", "m"),
    MEAS("3120", "3125", "WIDTH (m)", "m"),
    MEAS("3130", "3135", "HEIGHT (m)", "m"),
    MEAS("3140", "3145", "AREA (m2)", "m2"),
    MEAS("3150", "3155", "NET VOLUME (l)", "l"),
    MEAS("3160", "3165", "NET VOLUME (m3)", "m3"),
    MEAS("3200", "3205", "NET WEIGHT (lb)", "lb"),
    MEAS("3210", "3215", "LENGTH (in)", "in"),
    MEAS("3220", "3225", "LENGTH (ft)", "ft"),
    MEAS("3230", "3235", "LENGTH (yd)", "yd"),
    MEAS("3240", "3245", "WIDTH (in)", "in"),
    MEAS("3250", "3255", "WIDTH (ft)", "ft"),
    MEAS("3260", "3265", "WIDTH (yd)", "yd"),
    MEAS("3270", "3275", "HEIGHT (in)", "in"),
    MEAS("3280", "3285", "HEIGHT (ft)", "ft"),
    MEAS("3290", "3295", "HEIGHT (yd)", "yd"),
    MEAS("3300", "3305", "GROSS WEIGHT (kg)", "kg"),
    MEAS("3310", "3315", "LENGTH (m), log", "m"),
    MEAS("3320", "3325", "WIDTH (m), log", "m"),
    MEAS("3330", "3335", "HEIGHT (m), log", "m"),
    MEAS("3340", "3345", "AREA (m2), log", "m2"),
    MEAS("3350", "3355", "VOLUME (l), log", "l"),
    MEAS("3360", "3365", "VOLUME (m3), log", "m3"),
    MEAS("3370", "3375", "KG PER m2", "kg/m2"),
    MEAS("3400", "3405", "GROSS WEIGHT (lb)", "lb"),
    MEAS("3410", "3415", "LENGTH (in), log", "in"),
    MEAS("3420", "3425", "LENGTH (ft), log", "ft"),
    MEAS("3430", "3435", "LENGTH (yd), log", "yd"),
    MEAS("3440", "3445", "WIDTH (in), log", "in"),
    MEAS("3450", "3455", "WIDTH (ft), log", "ft"),
    MEAS("3460", "3465", "WIDTH (yd), log", "yd"),
    MEAS("3470", "3475", "HEIGHT (in), log", "in"),
    MEAS("3480", "3485", "HEIGHT (ft), log", "ft"),
    MEAS("3490", "3495", "HEIGHT (yd), log", "yd"),
    MEAS("3500", "3505", "AREA (in2)", "in2"),
    MEAS("3510", "3515", "AREA (ft2)", "ft2"),
    MEAS("3520", "3525", "AREA (yd2)", "yd2"),
    MEAS("3530", "3535", "AREA (in2), log", "in2"),
    MEAS("3540", "3545", "AREA (ft2), log", "ft2"),
    MEAS("3550", "3555", "AREA (yd2), log", "yd2"),
    MEAS("3560", "3565", "NET WEIGHT (t oz)", "ozt"),
    MEAS("3570", "3575", "NET VOLUME (oz)", "oz"),
    MEAS("3600", "3605", "NET VOLUME (qt)", "qt"),
    MEAS("3610", "3615", "NET VOLUME (gal.)", "gal"),
    MEAS("3620", "3625", "VOLUME (qt), log", "qt"),
    MEAS("3630", "3635", "VOLUME (gal.), log", "gal"),
    MEAS("3640", "3645", "VOLUME (in3)", "in3"),
    MEAS("3650", "3655", "VOLUME (ft3)", "ft3"),
    MEAS("3660", "3665", "VOLUME (yd3)", "yd3"),
    MEAS("3670", "3675", "VOLUME (in3), log", "in3"),
    MEAS("3680", "3685", "VOLUME (ft3), log", "ft3"),
    MEAS("3690", "3695", "VOLUME (yd3), log", "yd3"),
    AI("37", "COUNT", NV(8)),
    RANGE("3900", "3909", "AMOUNT", GS1_KIND_DECIMAL, NV(15)),
    RANGE("3910", "3919", "AMOUNT", GS1_KIND_CURRENCY_DECIMAL, N(3), NV(15)),
    RANGE("3920", "3929", "PRICE", GS1_KIND_DECIMAL, NV(15)),
    RANGE("3930", "3939", "PRICE", GS1_KIND_CURRENCY_DECIMAL, N(3), NV(15)),
    RANGE("3940", "3943", "PRCNT OFF", GS1_KIND_DECIMAL, N(4)),
    RANGE("3950", "3955", "PRICE/UoM", GS1_KIND_DECIMAL, N(6)),
    AI("400", "ORDER NUMBER", XV(30)),
    AI("401", "GINC", XV(30)),
    AI("402", "GSIN", NL(17, L_CSUM)),
    AI("403", "ROUTE", XV(30)),
    AIP("410", "SHIP TO LOC", NL(13, L_CSUM)),
    AIP("411", "BILL TO", NL(13, L_CSUM)),
    AIP("412", "PURCHASE FROM", NL(13, L_CSUM)),
    AIP("413", "SHIP FOR LOC", NL(13, L_CSUM)),
    AIP("414", "LOC No.", NL(13, L_CSUM)),
    AIP("415", "PAY TO", NL(13, L_CSUM)),
    AIP("416", "PROD/SERV LOC", NL(13, L_CSUM)),
    AIP("417", "PARTY", NL(13, L_CSUM)),
    AI("420", "SHIP TO POST", XV(20)),
    AI("421", "SHIP TO POST", N(3), XV(9)),
    AI("422", "ORIGIN", N(3)),
    AI("423", "COUNTRY - INITIAL PROCESS", NVL(15, L_N3LIST)),
    AI("424", "COUNTRY - PROCESS", N(3)),
    AI("425", "COUNTRY - DISASSEMBLY", NVL(15, L_N3LIST)),
    AI("426", "COUNTRY - FULL PROCESS", N(3)),
    AI("427", "ORIGIN SUBDIVISION", XV(3)),
    AI("4300", "SHIP TO COMP", XVL(35, L_PCENC)),
    AI("4301", "SHIP TO NAME", XVL(35, L_PCENC)),
    AI("4302", "SHIP TO ADD1", XVL(70, L_PCENC)),
    AI("4303", "SHIP TO ADD2", XVL(70, L_PCENC)),
    AI("4304", "SHIP TO SUB", XVL(70, L_PCENC)),
    AI("4305", "SHIP TO LOC", XVL(70, L_PCENC)),
    AI("4306", "SHIP TO REG", XVL(70, L_PCENC)),
    AI("4307", "SHIP TO COUNTRY", X(2)),
    AI("4308", "SHIP TO PHONE", XV(30)),
    AI("4309", "SHIP TO GEO", NL(10, L_LATITUDE), NL(10, L_LONGITUDE)),
    AI("4310", "RTN TO COMP", XVL(35, L_PCENC)),
    AI("4311", "RTN TO NAME", XVL(35, L_PCENC)),
    AI("4312", "RTN TO ADD1", XVL(70, L_PCENC)),
    AI("4313", "RTN TO ADD2", XVL(70, L_PCENC)),
    AI("4314", "RTN TO SUB", XVL(70, L_PCENC)),
    AI("4315", "RTN TO LOC", XVL(70, L_PCENC)),
    AI("4316", "RTN TO REG", XVL(70, L_PCENC)),
    AI("4317", "RTN TO COUNTRY", X(2)),
    AI("4318", "RTN TO POST", XV(20)),
    AI("4319", "RTN TO PHONE", XV(30)),
    AI("4320", "SRV DESCRIPTION", XVL(35, L_PCENC)),
    AI("4321", "DANGEROUS GOODS", NL(1, L_YESNO)),
    AI("4322", "AUTH TO LEAVE", NL(1, L_YESNO)),
    AI("4323", "SIG REQUIRED", NL(1, L_YESNO)),
    AIK("4324", "NOT BEF DEL DT", GS1_KIND_DATE_TIME, NL(6, L_YYMMD0), NL(4, L_HHMM)),
    AIK("4325", "NOT AFT DEL DT", GS1_KIND_DATE_TIME, NL(6, L_YYMMD0), NL(4, L_HHMM)),
    AIK("4326", "REL DATE", GS1_KIND_DATE, NL(6, L_YYMMDD)),
    AI("4330", "MAX TEMP F.", N(6), OPT_XL(1, L_HYPHEN)),
    AI("4331", "MAX TEMP C.", N(6), OPT_XL(1, L_HYPHEN)),
    AI("4332", "MIN TEMP F.", N(6), OPT_XL(1, L_HYPHEN)),
    AI("4333", "MIN TEMP C.", N(6), OPT_XL(1, L_HYPHEN)),
    AI("7001", "NSN", N(13)),
    AI("7002", "MEAT CUT", XV(30)),
    AIK("7003", "EXPIRY TIME", GS1_KIND_DATE_TIME, NL(6, L_YYMMDD), NL(4, L_HHMM)),
    AI("7004", "ACTIVE POTENCY", NV(4)),
    AI("7005", "CATCH AREA", XV(12)),
    AIK("7006", "FIRST FREEZE DATE", GS1_KIND_DATE, NL(6, L_YYMMDD)),
    AIK("7007", "HARVEST DATE", GS1_KIND_DATE_RANGE, NL(6, L_YYMMDD), OPT_N(6, L_YYMMDD)),
    AI("7008", "AQUATIC SPECIES", XV(3)),
    AI("7009", "FISHING GEAR TYPE", XV(10)),
    AI("7010", "PROD METHOD", XV(2)),
    AIK("7011", "TEST BY DATE", GS1_KIND_DATE_TIME, NL(6, L_YYMMDD), OPT_N(4, L_HHMM)),
    AI("7020", "REFURB LOT", XV(20)),
    AI("7021", "FUNC STAT", XV(20)),
    AI("7022", "REV STAT", XV(20)),
    AI("7023", "GIAI - ASSEMBLY", XV(30)),
    RANGE("7030", "7039", "PROCESSOR #", GS1_KIND_PLAIN, N(3), XV(27)),
    AI("7040", "UIC+EXT", N(1), X(1), X(1), X(1)),
    AI("710", "NHRN PZN", XV(20)),
    AI("711", "NHRN CIP", XV(20)),
    AI("712", "NHRN CN", XV(20)),
    AI("713", "NHRN DRN", XV(20)),
    AI("714", "NHRN AIM", XV(20)),
    AI("715", "NHRN NDC", XV(20)),
    RANGE("7230", "7239", "CERT #", GS1_KIND_PLAIN, X(2), XV(28)),
    AI("7240", "PROTOCOL", XV(20)),
    AI("7241", "AIDC MEDIA TYPE", N(2)),
    AI("7242", "VCN", XV(25)),
    AI("8001", "DIMENSIONS", NL(4, L_NONZERO), NL(5, L_NONZERO), NL(3, L_NONZERO), NL(1, L_WINDING),
       N(1)),
    AI("8002", "CMT No.", XV(20)),
    AI("8003", "GRAI", NL(1, L_ZERO), NL(13, L_CSUM), OPT_XV(16)),
    AI("8004", "GIAI", XV(30)),
    AI("8005", "PRICE PER UNIT", N(6)),
    AI("8006", "ITIP", NL(14, L_CSUM), NL(4, L_PIECEOFTOTAL)),
    AI("8007", "IBAN", XV(34)),
    AIK("8008", "PROD TIME", GS1_KIND_DATE_TIME, NL(8, L_YYMMDDHH), OPT_NV(4, L_MMOPTSS)),
    AI("8009", "OPTSEN", XV(50)),
    AI("8010", "CPID", YV(30)),
    AI("8011", "CPID SERIAL", NVL(12, L_NOZEROPREFIX)),
    AI("8012", "VERSION", XV(20)),
    AI("8013", "GMN", XV(25)),
    AI("8017", "GSRN - PROVIDER", NL(18, L_CSUM)),
    AI("8018", "GSRN - RECIPIENT", NL(18, L_CSUM)),
    AI("8019", "SRIN", NV(10)),
    AI("8020", "REF No.", XV(25)),
    AI("8026", "ITIP CONTENT", NL(14, L_CSUM), NL(4, L_PIECEOFTOTAL)),
    AI("8111", "POINTS", N(4)),
    AI("8200", "PRODUCT URL", XV(70)),
    AI("90", "INTERNAL", XV(30)),
    RANGE("91", "99", "INTERNAL", GS1_KIND_PLAIN, XV(90)),
};

#define N_AIS (sizeof(ais) / sizeof(ais[0]))

/* ---- small helpers ---------------------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* GS1 AI encodable character set 82 (General Specifications, Figure 7.11-1). */
static bool is_cset82(char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c))
        return true;
    return c != '\0' && strchr("!\"%&'()*+,-./:;<=>?_", c) != NULL;
}

/* GS1 AI encodable character set 39 (Figure 7.11-2): # - / 0-9 A-Z. */
static bool is_cset39(char c)
{
    return (c >= 'A' && c <= 'Z') || is_digit(c) || c == '#' || c == '-' || c == '/';
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    assert(month >= 1 && month <= 12);
    return month == 2 && is_leap(year) ? 29 : dim[month - 1];
}

static int code_of(enum gs1_reason r)
{
    switch (r) {
    case GS1_OK:
        return 0;
    case GS1_ERR_UNKNOWN_AI:
        return WCS_E_UNKNOWN;
    case GS1_ERR_CHECK_DIGIT:
        return WCS_E_CHECK;
    case GS1_ERR_DATE:
    case GS1_ERR_TIME:
        return WCS_E_RANGE;
    case GS1_ERR_TOO_MANY:
    case GS1_ERR_BUFFER:
        return WCS_E_EXHAUSTED;
    default:
        return WCS_E_SYNTAX;
    }
}

/* Fills *err (if any) and returns the code for reason. fmt is the text after "AI (nn): ". */
__attribute__((format(printf, 5, 6))) static int
fail(struct gs1_error *err, enum gs1_reason r, const char *ai, size_t offset, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        int k = 0;
        err->reason = r;
        err->offset = offset;
        snprintf(err->ai, sizeof(err->ai), "%s", ai ? ai : "");
        if (ai && *ai)
            k = snprintf(err->msg, sizeof(err->msg), "AI (%s): ", ai);
        va_start(ap, fmt);
        vsnprintf(err->msg + k, sizeof(err->msg) - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return code_of(r);
}

/* Printable rendering of one byte for messages. */
static const char *show(char c, char buf[8])
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x21 && u < 0x7f && u != '\'')
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", u);
    return buf;
}

const char *gs1_reason_name(enum gs1_reason reason)
{
    static const char *const names[] = {
        [GS1_OK] = "ok",
        [GS1_ERR_NO_DATA] = "no data",
        [GS1_ERR_UNKNOWN_AI] = "unknown AI",
        [GS1_ERR_SYNTAX] = "syntax",
        [GS1_ERR_EMPTY] = "empty value",
        [GS1_ERR_TOO_SHORT] = "too short",
        [GS1_ERR_TOO_LONG] = "too long",
        [GS1_ERR_NON_DIGIT] = "non-digit",
        [GS1_ERR_CHARSET] = "invalid character",
        [GS1_ERR_CHECK_DIGIT] = "check digit",
        [GS1_ERR_DATE] = "invalid date",
        [GS1_ERR_TIME] = "invalid time",
        [GS1_ERR_CONTENT] = "invalid content",
        [GS1_ERR_MISSING_GS] = "missing GS",
        [GS1_ERR_TRAILING_GS] = "GS at end",
        [GS1_ERR_TOO_MANY] = "too many elements",
        [GS1_ERR_BUFFER] = "buffer too small",
    };
    if ((unsigned)reason < sizeof(names) / sizeof(names[0]) && names[reason])
        return names[reason];
    return "unknown reason";
}

/* ---- the AI table ------------------------------------------------------------------------ */

/* The definition whose AI is exactly ai[0..n), or NULL. */
static const struct ai_def *find_exact(const char *ai, size_t n)
{
    for (size_t i = 0; i < N_AIS; i++) {
        const struct ai_def *d = &ais[i];
        if (d->lo[0] != ai[0] || strlen(d->lo) != n)
            continue;
        if (memcmp(ai, d->lo, n) >= 0 && memcmp(ai, d->hi, n) <= 0)
            return d;
    }
    return NULL;
}

static size_t def_min_len(const struct ai_def *d)
{
    size_t n = 0;
    for (unsigned i = 0; i < d->ncomp; i++)
        if (!d->comp[i].opt)
            n += d->comp[i].min;
    return n;
}

static size_t def_max_len(const struct ai_def *d)
{
    size_t n = 0;
    for (unsigned i = 0; i < d->ncomp; i++)
        n += d->comp[i].max;
    return n;
}

static bool def_all_numeric(const struct ai_def *d)
{
    for (unsigned i = 0; i < d->ncomp; i++)
        if (d->comp[i].cs != CS_N)
            return false;
    return true;
}

/* A fixed-length AI that is not of predefined length still needs a GS after it. */
static bool def_fixed(const struct ai_def *d)
{
    return def_min_len(d) == def_max_len(d);
}

int gs1_ai_info(const char *ai, struct gs1_ai_info *out)
{
    size_t n;
    const struct ai_def *d;
    assert(ai && out);
    n = strlen(ai);
    for (size_t i = 0; i < n; i++)
        if (!is_digit(ai[i]))
            return WCS_E_UNKNOWN;
    d = n >= 2 && n <= GS1_AI_LEN_MAX ? find_exact(ai, n) : NULL;
    if (!d)
        return WCS_E_UNKNOWN;
    out->title = d->title;
    out->unit = d->unit;
    out->kind = (enum gs1_kind)d->kind;
    out->decimals = 0;
    if (d->kind == GS1_KIND_DECIMAL || d->kind == GS1_KIND_CURRENCY_DECIMAL)
        out->decimals = ai[n - 1] - '0';
    out->predefined = d->predefined;
    out->min_len = def_min_len(d);
    out->max_len = def_max_len(d);
    return 0;
}

/* ---- value validation -------------------------------------------------------------------- */

static int check_date(const char *v, bool zero_day_ok, const char *ai, size_t off,
                      struct gs1_error *err)
{
    int mm = num(v + 2, 2), dd = num(v + 4, 2);
    /* The century is not known here: YY divisible by 4 is taken as a leap year, true for every
     * year of 1901-2099; gs1_date_decode() applies the exact rule once the century is fixed. */
    int year = 2000 + num(v, 2);
    if (mm < 1 || mm > 12)
        return fail(err, GS1_ERR_DATE, ai, off, "invalid date %.6s: month %02d", v, mm);
    if ((dd == 0 && !zero_day_ok) || dd > days_in_month(year, mm))
        return fail(err, GS1_ERR_DATE, ai, off, "invalid date %.6s: no day %02d in month %02d", v,
                    dd, mm);
    return 0;
}

static int check_lint(const struct comp *c, const char *v, size_t n, const char *ai, size_t off,
                      struct gs1_error *err)
{
    switch ((enum lint)c->lint) {
    case L_NONE:
        return 0;
    case L_CSUM: {
        int want = gs1_check_digit(v, n - 1), got = v[n - 1] - '0';
        if (want != got)
            return fail(err, GS1_ERR_CHECK_DIGIT, ai, off + n - 1,
                        "check digit %d expected, got %d", want, got);
        return 0;
    }
    case L_YYMMD0:
        return check_date(v, true, ai, off, err);
    case L_YYMMDD:
        return check_date(v, false, ai, off, err);
    case L_YYMMDDHH: {
        int rc = check_date(v, false, ai, off, err);
        if (rc == 0 && num(v + 6, 2) > 23)
            return fail(err, GS1_ERR_TIME, ai, off + 6, "invalid hour %.2s", v + 6);
        return rc;
    }
    case L_HHMM:
        if (num(v, 2) > 23 || num(v + 2, 2) > 59)
            return fail(err, GS1_ERR_TIME, ai, off, "invalid time %.4s", v);
        return 0;
    case L_MMOPTSS:
        if ((n != 2 && n != 4) || num(v, 2) > 59 || (n == 4 && num(v + 2, 2) > 59))
            return fail(err, GS1_ERR_TIME, ai, off, "invalid minutes/seconds %.*s", (int)n, v);
        return 0;
    case L_HYPHEN:
        if (v[0] != '-')
            return fail(err, GS1_ERR_CONTENT, ai, off, "'-' expected after the temperature");
        return 0;
    case L_YESNO:
        if (v[0] != '0' && v[0] != '1')
            return fail(err, GS1_ERR_CONTENT, ai, off, "0 or 1 expected, got %c", v[0]);
        return 0;
    case L_NONZERO:
        for (size_t i = 0; i < n; i++)
            if (v[i] != '0')
                return 0;
        return fail(err, GS1_ERR_CONTENT, ai, off, "%.*s must not be zero", (int)n, v);
    case L_ZERO:
        if (v[0] != '0')
            return fail(err, GS1_ERR_CONTENT, ai, off, "0 expected, got %c", v[0]);
        return 0;
    case L_WINDING:
        if (v[0] != '0' && v[0] != '1' && v[0] != '9')
            return fail(err, GS1_ERR_CONTENT, ai, off, "winding 0, 1 or 9 expected, got %c", v[0]);
        return 0;
    case L_PIECEOFTOTAL: {
        int piece = num(v, 2), total = num(v + 2, 2);
        if (piece == 0 || total == 0 || piece > total)
            return fail(err, GS1_ERR_CONTENT, ai, off, "piece %02d of total %02d is invalid", piece,
                        total);
        return 0;
    }
    case L_NOZEROPREFIX:
        if (n > 1 && v[0] == '0')
            return fail(err, GS1_ERR_CONTENT, ai, off, "leading zero not allowed");
        return 0;
    case L_N3LIST:
        if (n % 3 != 0)
            return fail(err, GS1_ERR_CONTENT, ai, off,
                        "list of 3-digit country codes expected, got %zu digits", n);
        return 0;
    case L_PCENC:
        for (size_t i = 0; i < n; i++) {
            if (v[i] != '%')
                continue;
            if (i + 2 >= n || !is_hex(v[i + 1]) || !is_hex(v[i + 2]))
                return fail(err, GS1_ERR_CONTENT, ai, off + i,
                            "'%%' at position %zu is not followed by two hex digits", i + 1);
            i += 2;
        }
        return 0;
    case L_LATITUDE:
    case L_LONGITUDE: {
        long long lim = c->lint == L_LATITUDE ? 1800000000LL : 3600000000LL, x = 0;
        for (size_t i = 0; i < n; i++)
            x = x * 10 + (v[i] - '0');
        if (x > lim)
            return fail(err, GS1_ERR_CONTENT, ai, off, "%s %.*s out of range (max %lld)",
                        c->lint == L_LATITUDE ? "latitude" : "longitude", (int)n, v, lim);
        return 0;
    }
    }
    return 0;
}

/* Checks value v[0..n) against d. off is v's byte offset in the caller's input. */
static int validate(const struct ai_def *d, const char *ai, const char *v, size_t n, size_t off,
                    struct gs1_error *err)
{
    size_t lo = def_min_len(d), hi = def_max_len(d), pos = 0;
    const char *what = def_all_numeric(d) ? "digits" : "characters";
    if (n == 0)
        return fail(err, GS1_ERR_EMPTY, ai, off, "empty value");
    if (n < lo) {
        if (lo == hi)
            return fail(err, GS1_ERR_TOO_SHORT, ai, off, "too short: %zu %s expected, got %zu", lo,
                        what, n);
        return fail(err, GS1_ERR_TOO_SHORT, ai, off, "too short: at least %zu %s, got %zu", lo,
                    what, n);
    }
    if (n > hi) {
        if (lo == hi)
            return fail(err, GS1_ERR_TOO_LONG, ai, off, "too long: %zu %s expected, got %zu", hi,
                        what, n);
        return fail(err, GS1_ERR_TOO_LONG, ai, off, "too long: at most %zu %s, got %zu", hi, what,
                    n);
    }
    for (unsigned i = 0; i < d->ncomp; i++) {
        const struct comp *c = &d->comp[i];
        size_t left = n - pos, take;
        int rc;
        /* Only the last component may be variable or optional: the split relies on it. */
        assert(i + 1 == d->ncomp || (c->min == c->max && !c->opt));
        if (i + 1 < d->ncomp)
            take = c->min;
        else
            take = left;
        if (c->opt && take == 0)
            break;
        if (take < c->min)
            return fail(err, GS1_ERR_TOO_SHORT, ai, off + pos,
                        "too short: the part after position %zu needs %u characters, got %zu", pos,
                        c->min, take);
        if (take > c->max)
            return fail(err, GS1_ERR_TOO_LONG, ai, off + pos,
                        "too long: the part after position %zu allows %u characters, got %zu", pos,
                        c->max, take);
        for (size_t k = 0; k < take; k++) {
            char ch = v[pos + k], b[8];
            if (c->cs == CS_N && !is_digit(ch))
                return fail(err, GS1_ERR_NON_DIGIT, ai, off + pos + k,
                            "non-digit %s at position %zu", show(ch, b), pos + k + 1);
            if (c->cs == CS_82 && !is_cset82(ch))
                return fail(err, GS1_ERR_CHARSET, ai, off + pos + k,
                            "invalid character %s at position %zu (not in GS1 character set 82)",
                            show(ch, b), pos + k + 1);
            if (c->cs == CS_39 && !is_cset39(ch))
                return fail(err, GS1_ERR_CHARSET, ai, off + pos + k,
                            "invalid character %s at position %zu (not in GS1 character set 39)",
                            show(ch, b), pos + k + 1);
        }
        rc = check_lint(c, v + pos, take, ai, off + pos, err);
        if (rc)
            return rc;
        pos += take;
    }
    return 0;
}

static void store(struct gs1_element *el, const char *ai, size_t ai_len, const char *v, size_t n)
{
    assert(ai_len <= GS1_AI_LEN_MAX && n <= GS1_VALUE_LEN_MAX);
    memcpy(el->ai, ai, ai_len);
    el->ai[ai_len] = '\0';
    memcpy(el->value, v, n);
    el->value[n] = '\0';
    el->value_len = n;
}

/* ---- parsers ----------------------------------------------------------------------------- */

/* Parses the element string data[start..len); offsets and byte numbers reported count from
 * data[0], so errors in scan data point past the symbology identifier. */
static int parse_es(const char *data, size_t start, size_t len, struct gs1_element *out, size_t cap,
                    size_t *n_out, struct gs1_error *err)
{
    size_t pos = start, n = 0;
    assert(data || len == 0);
    assert(n_out && (out || cap == 0));
    if (len == start)
        return fail(err, GS1_ERR_NO_DATA, NULL, start, "no data");
    while (pos < len) {
        const struct ai_def *d = NULL;
        size_t ai_len = 0, vstart, vlen;
        char ai[GS1_AI_LEN_MAX + 1] = "";
        int rc;
        if (data[pos] == GS1_GS)
            return fail(err, GS1_ERR_EMPTY, NULL, pos, "empty element: GS at byte %zu", pos);
        for (size_t l = 2; l <= GS1_AI_LEN_MAX && pos + l <= len; l++) {
            if (!is_digit(data[pos + l - 1]) || !is_digit(data[pos]))
                break;
            d = find_exact(data + pos, l);
            if (d) {
                ai_len = l;
                break;
            }
        }
        if (!d) {
            size_t k = 0;
            char shown[GS1_AI_LEN_MAX + 1];
            /* Up to 4 bytes, unprintable ones (GS, ...) shown as '?'. */
            for (size_t i = 0; i < GS1_AI_LEN_MAX && pos + i < len; i++) {
                unsigned char u = (unsigned char)data[pos + i];
                shown[k++] = u < 0x20 || u >= 0x7f || u == '"' || u == '\\' ? '?' : (char)u;
            }
            shown[k] = '\0';
            return fail(err, GS1_ERR_UNKNOWN_AI, NULL, pos, "unknown AI at byte %zu: \"%s\"", pos,
                        shown);
        }
        memcpy(ai, data + pos, ai_len);
        ai[ai_len] = '\0';
        vstart = pos + ai_len;
        vlen = 0;
        if (d->predefined) {
            size_t want = def_max_len(d);
            while (vlen < want && vstart + vlen < len && data[vstart + vlen] != GS1_GS)
                vlen++;
        } else {
            while (vstart + vlen < len && data[vstart + vlen] != GS1_GS)
                vlen++;
            if (def_fixed(d) && vlen > def_max_len(d)) {
                char b[8];
                return fail(err, GS1_ERR_MISSING_GS, ai, vstart + def_max_len(d),
                            "GS expected after the %zu-character value, got %s", def_max_len(d),
                            show(data[vstart + def_max_len(d)], b));
            }
        }
        rc = validate(d, ai, data + vstart, vlen, vstart, err);
        if (rc)
            return rc;
        if (n == cap)
            return fail(err, GS1_ERR_TOO_MANY, ai, pos, "more than %zu elements", cap);
        store(&out[n++], ai, ai_len, data + vstart, vlen);
        pos = vstart + vlen;
        if (pos < len && data[pos] == GS1_GS) {
            /* The separator; redundant after a predefined-length value, but harmless. */
            pos++;
            if (pos == len)
                return fail(err, GS1_ERR_TRAILING_GS, ai, pos - 1,
                            "GS at the end of the data (truncated?)");
        }
    }
    *n_out = n;
    return 0;
}

int gs1_parse(const char *data, size_t len, struct gs1_element *out, size_t cap, size_t *n_out,
              struct gs1_error *err)
{
    return parse_es(data, 0, len, out, cap, n_out, err);
}

/* Parses the bracketed form text[start..len); offsets count from text[0]. */
static int parse_hri(const char *text, size_t start, size_t len, struct gs1_element *out,
                     size_t cap, size_t *n_out, struct gs1_error *err)
{
    size_t pos = start, n = 0;
    assert(text || len == 0);
    assert(n_out && (out || cap == 0));
    if (len == start)
        return fail(err, GS1_ERR_NO_DATA, NULL, start, "no data");
    while (pos < len) {
        const struct ai_def *d;
        size_t ai_start, ai_len, vstart, vlen = 0;
        char ai[GS1_AI_LEN_MAX + 1], val[GS1_VALUE_LEN_MAX + 1], b[8];
        int rc;
        if (text[pos] != '(')
            return fail(err, GS1_ERR_SYNTAX, NULL, pos, "'(' expected at byte %zu, got %s", pos,
                        show(text[pos], b));
        ai_start = ++pos;
        while (pos < len && is_digit(text[pos]) && pos - ai_start < GS1_AI_LEN_MAX + 1)
            pos++;
        ai_len = pos - ai_start;
        if (pos >= len || text[pos] != ')' || ai_len < 2 || ai_len > GS1_AI_LEN_MAX)
            return fail(err, GS1_ERR_SYNTAX, NULL, ai_start,
                        "AI of 2-4 digits and ')' expected at byte %zu", ai_start);
        memcpy(ai, text + ai_start, ai_len);
        ai[ai_len] = '\0';
        d = find_exact(ai, ai_len);
        if (!d)
            return fail(err, GS1_ERR_UNKNOWN_AI, ai, ai_start, "unknown AI");
        vstart = ++pos;
        while (pos < len && text[pos] != '(') {
            char c = text[pos];
            /* "\(" is a literal '(' (the GS1 Syntax Engine's convention). */
            if (c == '\\' && pos + 1 < len && text[pos + 1] == '(') {
                c = '(';
                pos++;
            }
            if (vlen < GS1_VALUE_LEN_MAX)
                val[vlen] = c;
            vlen++;
            pos++;
        }
        if (vlen > GS1_VALUE_LEN_MAX)
            return fail(err, GS1_ERR_TOO_LONG, ai, vstart,
                        "too long: at most %zu characters, got %zu", def_max_len(d), vlen);
        rc = validate(d, ai, val, vlen, vstart, err);
        if (rc)
            return rc;
        if (n == cap)
            return fail(err, GS1_ERR_TOO_MANY, ai, ai_start - 1, "more than %zu elements", cap);
        store(&out[n++], ai, ai_len, val, vlen);
    }
    *n_out = n;
    return 0;
}

int gs1_parse_hri(const char *text, size_t len, struct gs1_element *out, size_t cap, size_t *n_out,
                  struct gs1_error *err)
{
    return parse_hri(text, 0, len, out, cap, n_out, err);
}

int gs1_parse_scan(const char *data, size_t len, struct aim_id *aim, bool *is_gs1,
                   struct gs1_element *out, size_t cap, size_t *n_out, struct gs1_error *err)
{
    size_t off;
    int rc;
    assert(aim && is_gs1 && n_out);
    assert(data || len == 0);
    aim_parse(data, len, aim);
    off = aim->data_offset;
    switch (aim->content) {
    case AIM_CONTENT_GS1:
        *is_gs1 = true;
        if (off < len && data[off] == GS1_GS)
            off++;
        return parse_es(data, off, len, out, cap, n_out, err);
    case AIM_CONTENT_GTIN:
        *is_gs1 = true;
        if (cap == 0)
            return fail(err, GS1_ERR_TOO_MANY, "01", off, "more than 0 elements");
        rc = gs1_gtin_element(data + off, len - off, &out[0], err);
        if (rc == 0)
            *n_out = 1;
        else if (err)
            err->offset += off;
        return rc;
    default:
        break;
    }
    if (!aim->present && off < len && data[off] == '(') {
        *is_gs1 = true;
        return parse_hri(data, off, len, out, cap, n_out, err);
    }
    if (!aim->present && off < len && data[off] == GS1_GS) {
        *is_gs1 = true;
        return parse_es(data, off + 1, len, out, cap, n_out, err);
    }
    *is_gs1 = false;
    *n_out = 0;
    return 0;
}

/* ---- builders ---------------------------------------------------------------------------- */

int gs1_element_set(struct gs1_element *el, const char *ai, const char *value, size_t value_len,
                    struct gs1_error *err)
{
    size_t ai_len;
    const struct ai_def *d = NULL;
    int rc;
    assert(el && ai && (value || value_len == 0));
    ai_len = strlen(ai);
    if (ai_len >= 2 && ai_len <= GS1_AI_LEN_MAX && strspn(ai, "0123456789") == ai_len)
        d = find_exact(ai, ai_len);
    if (!d)
        return fail(err, GS1_ERR_UNKNOWN_AI, ai_len <= GS1_AI_LEN_MAX ? ai : NULL, 0, "unknown AI");
    if (value_len > GS1_VALUE_LEN_MAX)
        return fail(err, GS1_ERR_TOO_LONG, ai, 0, "too long: at most %zu characters, got %zu",
                    def_max_len(d), value_len);
    rc = validate(d, ai, value, value_len, 0, err);
    if (rc)
        return rc;
    store(el, ai, ai_len, value, value_len);
    return 0;
}

/* Checks el and returns its definition through *d. */
static int check_element(const struct gs1_element *el, const struct ai_def **d,
                         struct gs1_error *err)
{
    size_t ai_len = strnlen(el->ai, sizeof(el->ai));
    if (ai_len < 2 || ai_len > GS1_AI_LEN_MAX || strspn(el->ai, "0123456789") != ai_len ||
        !(*d = find_exact(el->ai, ai_len)))
        return fail(err, GS1_ERR_UNKNOWN_AI, ai_len <= GS1_AI_LEN_MAX ? el->ai : NULL, 0,
                    "unknown AI");
    if (el->value_len > GS1_VALUE_LEN_MAX)
        return fail(err, GS1_ERR_TOO_LONG, el->ai, 0, "too long: at most %zu characters",
                    def_max_len(*d));
    return validate(*d, el->ai, el->value, el->value_len, 0, err);
}

/* Appends s[0..n) to out at *k, or fails with GS1_ERR_BUFFER (one byte kept for the NUL). */
static int put(char *out, size_t cap, size_t *k, const char *s, size_t n, struct gs1_error *err)
{
    if (cap == 0 || n > cap - 1 - *k)
        return fail(err, GS1_ERR_BUFFER, NULL, *k, "output buffer of %zu bytes too small", cap);
    memcpy(out + *k, s, n);
    *k += n;
    return 0;
}

static int build(const struct gs1_element *el, size_t n, char *out, size_t cap, size_t *len_out,
                 bool hri, struct gs1_error *err)
{
    size_t k = 0;
    int rc;
    assert((el || n == 0) && (out || cap == 0) && len_out);
    if (n == 0)
        return fail(err, GS1_ERR_NO_DATA, NULL, 0, "no elements");
    for (size_t i = 0; i < n; i++) {
        const struct ai_def *d = NULL;
        size_t ai_len;
        rc = check_element(&el[i], &d, err);
        if (rc)
            return rc;
        ai_len = strlen(el[i].ai); /* terminated: checked above */
        if (hri) {
            rc = put(out, cap, &k, "(", 1, err);
            rc = rc ? rc : put(out, cap, &k, el[i].ai, ai_len, err);
            rc = rc ? rc : put(out, cap, &k, ")", 1, err);
            for (size_t j = 0; rc == 0 && j < el[i].value_len; j++) {
                if (el[i].value[j] == '(')
                    rc = put(out, cap, &k, "\\(", 2, err);
                else
                    rc = put(out, cap, &k, &el[i].value[j], 1, err);
            }
        } else {
            char gs = GS1_GS;
            rc = put(out, cap, &k, el[i].ai, ai_len, err);
            rc = rc ? rc : put(out, cap, &k, el[i].value, el[i].value_len, err);
            if (rc == 0 && !d->predefined && i + 1 < n)
                rc = put(out, cap, &k, &gs, 1, err);
        }
        if (rc)
            return rc;
    }
    out[k] = '\0';
    *len_out = k;
    return 0;
}

int gs1_build(const struct gs1_element *el, size_t n, char *out, size_t cap, size_t *len_out,
              struct gs1_error *err)
{
    return build(el, n, out, cap, len_out, false, err);
}

int gs1_build_hri(const struct gs1_element *el, size_t n, char *out, size_t cap, size_t *len_out,
                  struct gs1_error *err)
{
    return build(el, n, out, cap, len_out, true, err);
}

/* ---- keys -------------------------------------------------------------------------------- */

int gs1_check_digit(const char *digits, size_t n)
{
    int sum = 0;
    assert(digits || n == 0);
    if (n == 0)
        return WCS_E_SYNTAX;
    /* From the right: weight 3 for the digit next to the check digit, then 1, 3, 1, ... */
    for (size_t i = 0; i < n; i++) {
        char c = digits[n - 1 - i];
        if (!is_digit(c))
            return WCS_E_SYNTAX;
        sum += (c - '0') * (i % 2 == 0 ? 3 : 1);
    }
    return (10 - sum % 10) % 10;
}

int gs1_sscc_build(int extension_digit, const char *company_prefix, const char *serial_ref,
                   char out[19])
{
    char buf[19];
    size_t gcp_len, ref_len;
    assert(company_prefix && serial_ref && out);
    gcp_len = strlen(company_prefix);
    ref_len = strlen(serial_ref);
    if (strspn(company_prefix, "0123456789") != gcp_len ||
        strspn(serial_ref, "0123456789") != ref_len)
        return WCS_E_SYNTAX;
    if (extension_digit < 0 || extension_digit > 9 || gcp_len < 4 || gcp_len > 12 ||
        gcp_len + ref_len != 16)
        return WCS_E_RANGE;
    buf[0] = (char)('0' + extension_digit);
    memcpy(buf + 1, company_prefix, gcp_len);
    memcpy(buf + 1 + gcp_len, serial_ref, ref_len);
    buf[17] = (char)('0' + gs1_check_digit(buf, 17));
    buf[18] = '\0';
    memcpy(out, buf, sizeof(buf));
    return 0;
}

int gs1_gtin_element(const char *digits, size_t len, struct gs1_element *el, struct gs1_error *err)
{
    char gtin[15];
    int want;
    assert((digits || len == 0) && el);
    if (len != 8 && len != 12 && len != 13 && len != 14)
        return fail(err, len < 8 ? GS1_ERR_TOO_SHORT : GS1_ERR_TOO_LONG, "01", 0,
                    "GTIN of 8, 12, 13 or 14 digits expected, got %zu", len);
    for (size_t i = 0; i < len; i++) {
        char b[8];
        if (!is_digit(digits[i]))
            return fail(err, GS1_ERR_NON_DIGIT, "01", i, "non-digit %s at position %zu",
                        show(digits[i], b), i + 1);
    }
    memset(gtin, '0', 14 - len);
    memcpy(gtin + 14 - len, digits, len);
    gtin[14] = '\0';
    want = gs1_check_digit(gtin, 13);
    if (want != gtin[13] - '0')
        return fail(err, GS1_ERR_CHECK_DIGIT, "01", len - 1, "check digit %d expected, got %c",
                    want, gtin[13]);
    store(el, "01", 2, gtin, 14);
    return 0;
}

/* ---- decoders ---------------------------------------------------------------------------- */

int gs1_date_decode(const char *yymmdd, int ref_year, struct gs1_date *out)
{
    int yy, mm, dd, century, diff, year;
    assert(yymmdd && out && ref_year >= 0);
    for (int i = 0; i < 6; i++)
        if (!is_digit(yymmdd[i]))
            return WCS_E_SYNTAX;
    yy = num(yymmdd, 2);
    mm = num(yymmdd + 2, 2);
    dd = num(yymmdd + 4, 2);
    /* GS1 General Specifications §7.12: a window of 49 years back and 50 ahead. */
    century = ref_year - ref_year % 100;
    diff = yy - ref_year % 100;
    if (diff >= 51)
        century -= 100;
    else if (diff <= -50)
        century += 100;
    year = century + yy;
    if (mm < 1 || mm > 12 || dd > days_in_month(year, mm))
        return WCS_E_RANGE;
    out->year = year;
    out->month = mm;
    out->day = dd == 0 ? days_in_month(year, mm) : dd;
    out->day_zero = dd == 0;
    return 0;
}

int gs1_decimal(const struct gs1_element *el, int64_t *units, int *decimals)
{
    struct gs1_ai_info info;
    const char *v;
    size_t n;
    int64_t x = 0;
    assert(el && units && decimals);
    if (gs1_ai_info(el->ai, &info) < 0 ||
        (info.kind != GS1_KIND_DECIMAL && info.kind != GS1_KIND_CURRENCY_DECIMAL))
        return WCS_E_UNKNOWN;
    v = el->value;
    n = el->value_len;
    if (info.kind == GS1_KIND_CURRENCY_DECIMAL) {
        if (n < 3)
            return WCS_E_SYNTAX;
        v += 3;
        n -= 3;
    }
    /* At most 15 digits (N..15): fits in int64_t. */
    if (n == 0 || n > 15)
        return WCS_E_SYNTAX;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(v[i]))
            return WCS_E_SYNTAX;
        x = x * 10 + (v[i] - '0');
    }
    *units = x;
    *decimals = info.decimals;
    return 0;
}

int gs1_weight_mg(const struct gs1_element *el, int64_t *weight_mg)
{
    int64_t units, p = 1;
    int dec, rc;
    bool kg, lb;
    assert(el && weight_mg);
    kg = strncmp(el->ai, "310", 3) == 0 || strncmp(el->ai, "330", 3) == 0;
    lb = strncmp(el->ai, "320", 3) == 0 || strncmp(el->ai, "340", 3) == 0;
    if (!kg && !lb)
        return WCS_E_UNKNOWN;
    rc = gs1_decimal(el, &units, &dec);
    if (rc)
        return rc;
    assert(dec >= 0 && dec <= 5); /* the table allows 0-5 for measures */
    for (int i = 0; i < dec; i++)
        p *= 10;
    if (kg) {
        *weight_mg = units * (1000000 / p);
    } else {
        /* 1 lb = 453.59237 g exactly = 45359237 / 100 mg; units < 10^6 keeps it in range. */
        *weight_mg = (units * 45359237LL + 50 * p) / (100 * p);
    }
    return 0;
}
