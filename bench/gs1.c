/* bench-gs1: GS1 scan decoding throughput. Decodes a mixed set of realistic scan strings
 * (GS1-128 logistic labels, GS1 DataMatrix with lots and serials, EAN-13, bracketed form,
 * plain Code 128 tote ids) with gs1_parse_scan() in a loop for about 2 s.
 * Run: build/bench/bench-gs1 [SECONDS]. Last line: parses_per_s=R. */
#include "drivers/codec/gs1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const scans[] = {
    "]C100106141411234567897",
    "]C101095060001343521726123110ABC123\x1d"
    "21SN000187",
    "]d2\x1d"
    "0109506000134352172612311012345678901234567890\x1d"
    "21XYZ-9",
    "]C1020950600013435237000012\x1d"
    "152610153103004500",
    "]E04006381333931",
    "]C1001061414112345678970209506000134352\x1d"
    "37120\x1d"
    "4000000123456789",
    "(01)09506000134352(17)261231(10)ABC123",
    "]C0TOTE-0042",
    "]Q3010950600013435211250101\x1d"
    "70032612311430\x1d"
    "10LOT7",
    "]e001095060001343523922000001999\x1d"
    "8005000123",
};

#define N_SCANS (sizeof(scans) / sizeof(scans[0]))

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static struct gs1_element els[64];
    size_t lens[N_SCANS], elements = 0;
    double seconds = argc > 1 ? atof(argv[1]) : 2.0, t0, t;
    unsigned long long parses = 0;
    for (size_t i = 0; i < N_SCANS; i++) {
        struct aim_id aim;
        struct gs1_error err;
        bool gs1;
        size_t n;
        lens[i] = strlen(scans[i]);
        /* Every sample must be valid, or the figure would measure the error path. */
        if (gs1_parse_scan(scans[i], lens[i], &aim, &gs1, els, 64, &n, &err) != 0) {
            fprintf(stderr, "bench-gs1: sample %zu invalid: %s\n", i, err.msg);
            return 1;
        }
    }
    if (seconds <= 0)
        seconds = 2.0;
    t0 = now_s();
    do {
        for (int round = 0; round < 1000; round++) {
            for (size_t i = 0; i < N_SCANS; i++) {
                struct aim_id aim;
                bool gs1;
                size_t n = 0;
                gs1_parse_scan(scans[i], lens[i], &aim, &gs1, els, 64, &n, NULL);
                elements += n;
            }
        }
        parses += 1000 * N_SCANS;
        t = now_s() - t0;
    } while (t < seconds);
    printf("samples=%zu parses=%llu elements=%zu seconds=%.3f\n", N_SCANS, parses, elements, t);
    printf("parses_per_s=%.0f\n", (double)parses / t);
    return 0;
}
