/* Integration tests of the label printer emulator over raw TCP: an SSCC label with GS1-128
 * (^BCN,,Y,N,N,D) becomes a .zpl and a PNG of the right size whose barcode row the test decodes
 * itself (its own Code 128 table, independent of zint) back to the SSCC; ~HS and ~HQES in
 * normal, paused and paper-out states; formats held while faulted and printed after. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/err.h"
#include "sim/printer.h"
#include "tfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <png.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const SSCC_LABEL =
    "^XA\r\n"
    "^PW812^LL1218\r\n"
    "^CF0,30\r\n"
    "^FO50,50^A0N,40,30^FDSHIP TO: ACME DC 4^FS\r\n"
    "^FO50,120^GB700,4,4^FS\r\n"
    "^FO50,160^FH^FDLOT_3AABC^FS\r\n"
    "^BY3^FO60,300^BCN,200,Y,N,N,D^FD(00)106141411234567897^FS\r\n"
    "^PQ1\r\n"
    "^XZ\r\n";

struct fx {
    char dir[64];
    struct sim_printer *p;
    int fd;
};

static int connect_to(uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void start_png_max(struct fx *f, unsigned png_max)
{
    struct sim_printer_cfg cfg;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sim-printer-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    sim_printer_cfg_defaults(&cfg);
    snprintf(cfg.out_dir, sizeof(cfg.out_dir), "%s", f->dir);
    cfg.png_max = png_max;
    assert_int_equal(sim_printer_open(&f->p, &cfg), 0);
    f->fd = connect_to(sim_printer_port(f->p));
}

static void start(struct fx *f)
{
    start_png_max(f, 0);
}

static void stop(struct fx *f)
{
    close(f->fd);
    sim_printer_close(f->p);
    assert_int_equal(tfile_remove_tree(f->dir), 0);
}

static void send_str(int fd, const char *s)
{
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* How long to wait for a reply or a printed format that must come. The emulator answers within
 * milliseconds; only a loaded machine (ASan, a busy 2-core CI runner) needs more than a second,
 * and the wait ends as soon as the answer is in. Windows in which nothing may arrive stay short. */
#define WAIT_MS  10000
#define HQES_END "\x03\r\n" /* a ~HQES reply is framed by STX ... ETX CR LF */

/* Reads what arrives within timeout_ms (stops early once `want` bytes are in). */
static size_t recv_for(int fd, char *buf, size_t cap, size_t want, int timeout_ms)
{
    size_t n = 0;
    while (n < cap - 1 && n < want) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

/* Reads until buf ends with `end` (a whole reply) or WAIT_MS pass; returns the length. */
static size_t recv_until(int fd, char *buf, size_t cap, const char *end)
{
    size_t n = 0, el = strlen(end);
    while (n < cap - 1 && (n < el || memcmp(buf + n - el, end, el) != 0)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;
        if (poll(&p, 1, WAIT_MS) <= 0)
            break;
        r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

static void wait_formats(struct sim_printer *p, uint64_t n)
{
    struct sim_printer_counters c;
    for (int i = 0; i < WAIT_MS / 5; i++) {
        sim_printer_counters(p, &c);
        if (c.formats >= n)
            return;
        usleep(5000);
    }
    fail_msg("printer saw %llu formats, want %llu", (unsigned long long)c.formats,
             (unsigned long long)n);
}

/* ---- PNG reading and an independent Code 128 decoder --------------------------------------- */

struct image {
    uint32_t w, h;
    uint8_t *px;
};

static void load_png(const char *path, struct image *im)
{
    png_image img;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&img, path));
    img.format = PNG_FORMAT_GRAY;
    im->w = img.width;
    im->h = img.height;
    im->px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(im->px);
    assert_true(png_image_finish_read(&img, NULL, im->px, 0, NULL));
}

/* Bar/space widths of symbol values 0..106 (ISO/IEC 15417 table 1). */
static const char *const C128[107] = {
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112"};

/* Decodes the row y between x0 and x1: widths in modules, symbol values, checksum, then the
 * data in sets B and C, FNC1 written as '|'. Returns the number of data characters, or -1. */
static int decode_c128(const struct image *im, uint32_t y, uint32_t module, char *out, size_t cap)
{
    int widths[1200], nw = 0, vals[120], nv = 0, set, o = 0;
    uint32_t x = 0;
    const uint8_t *row = im->px + (size_t)y * im->w;
    while (x < im->w && row[x] > 127)
        x++;
    while (x < im->w && nw < 1200) {
        uint32_t s = x;
        int dark = row[x] <= 127;
        while (x < im->w && (row[x] <= 127) == dark)
            x++;
        if (!dark && x == im->w)
            break;
        if ((x - s) % module != 0)
            return -1;
        widths[nw++] = (int)((x - s) / module);
    }
    for (int i = 0; i + 6 <= nw; i += 6) {
        char pat[8];
        int v = -1;
        for (int k = 0; k < 6; k++)
            pat[k] = (char)('0' + widths[i + k]);
        pat[6] = '\0';
        if (nw - i == 7) {
            pat[6] = (char)('0' + widths[i + 6]);
            pat[7] = '\0';
        }
        for (int k = 0; k < 107; k++)
            if (!strcmp(pat, C128[k]))
                v = k;
        if (v < 0)
            return -1;
        vals[nv++] = v;
        if (v == 106)
            break;
    }
    if (nv < 3 || vals[nv - 1] != 106 || vals[0] < 103)
        return -1;
    {
        long sum = vals[0];
        for (int i = 1; i < nv - 2; i++)
            sum += (long)vals[i] * i;
        if (sum % 103 != vals[nv - 2])
            return -1;
    }
    set = vals[0] == 105 ? 'C' : 'B';
    for (int i = 1; i < nv - 2; i++) {
        int v = vals[i];
        if ((size_t)o + 3 >= cap)
            return -1;
        if (v == 102) {
            out[o++] = '|';
        } else if (v == 99) {
            set = 'C';
        } else if (v == 100) {
            set = 'B';
        } else if (set == 'C') {
            out[o++] = (char)('0' + v / 10);
            out[o++] = (char)('0' + v % 10);
        } else if (set == 'B' && v < 95) {
            out[o++] = (char)(v + 32);
        } else {
            return -1;
        }
    }
    out[o] = '\0';
    return o;
}

static void test_sscc_label_png(void **state)
{
    struct fx f;
    struct sim_printer_label lb;
    struct sim_printer_counters c;
    struct image im;
    struct stat st;
    char data[128];
    (void)state;
    start(&f);
    send_str(f.fd, SSCC_LABEL);
    wait_formats(f.p, 1);
    assert_int_equal(sim_printer_label(f.p, 2, &lb), WCS_E_UNKNOWN);
    assert_int_equal(sim_printer_label(f.p, 1, &lb), 0);
    assert_int_equal(lb.errors, 0);
    assert_int_equal(lb.copies, 1);
    assert_int_equal(lb.n_fields, 4);
    assert_int_equal(lb.n_barcodes, 1);
    assert_string_equal(lb.barcodes[0].symbology, "GS1-128");
    assert_string_equal(lb.barcodes[0].data, "[00]106141411234567897");
    assert_string_equal(lb.barcodes[0].text, "(00)106141411234567897");
    /* The .zpl is kept byte for byte. */
    assert_int_equal(stat(lb.zpl_path, &st), 0);
    assert_int_equal(st.st_size, (off_t)strlen(SSCC_LABEL) - 2); /* without the CR LF after ^XZ */
    load_png(lb.png_path, &im);
    assert_int_equal(im.w, 812);
    assert_int_equal(im.h, 1218);
    /* Through the middle of the bars, 3 dots per module (^BY3). */
    assert_int_equal(decode_c128(&im, 400, 3, data, sizeof(data)), 21);
    assert_string_equal(data, "|00106141411234567897");
    /* Above the barcode the row holds the 700-dot rule of ^GB. */
    assert_int_equal(im.px[122 * 812 + 60], 0);
    assert_int_equal(im.px[122 * 812 + 760], 255);
    free(im.px);
    sim_printer_counters(f.p, &c);
    assert_int_equal(c.labels_printed, 1);
    assert_int_equal(c.format_errors, 0);
    stop(&f);
}

static void test_check_digit_and_copies(void **state)
{
    struct fx f;
    struct sim_printer_label lb;
    struct sim_printer_counters c;
    struct image im;
    char data[128];
    (void)state;
    start(&f);
    /* Mode D computes the SSCC check digit when given 17 digits; ^PQ3 prints three. */
    send_str(f.fd, "^XA^BY2^FO10,10^BCN,100,N,N,N,D^FD(00)10614141123456789^FS^PQ3^XZ");
    /* A bad format: ^FD never closed. */
    send_str(f.fd, "^XA^FO10,10^FDoops^XZ");
    /* Code 128 mode N. */
    send_str(f.fd, "^XA^PW400^LL200^BY2^FO20,20^BCN,80,N^FDTOTE-42^FS^XZ");
    wait_formats(f.p, 3);
    assert_int_equal(sim_printer_label(f.p, 1, &lb), 0);
    assert_string_equal(lb.barcodes[0].text, "(00)106141411234567897");
    assert_int_equal(lb.copies, 3);
    assert_int_equal(sim_printer_label(f.p, 2, &lb), 0);
    assert_int_equal(lb.errors, 1);
    assert_string_equal(lb.png_path, "");
    assert_int_equal(sim_printer_label(f.p, 3, &lb), 0);
    assert_string_equal(lb.barcodes[0].symbology, "Code 128");
    load_png(lb.png_path, &im);
    assert_int_equal(im.w, 400);
    assert_int_equal(im.h, 200);
    assert_int_equal(decode_c128(&im, 60, 2, data, sizeof(data)), 7);
    assert_string_equal(data, "TOTE-42");
    free(im.px);
    sim_printer_counters(f.p, &c);
    assert_int_equal(c.labels_printed, 4);
    assert_int_equal(c.format_errors, 1);
    stop(&f);
}

/* png_max 1: the first label gets its preview, the second none, but its barcode is still
 * encoded and returned. */
static void test_png_max(void **state)
{
    struct fx f;
    struct sim_printer_label lb;
    struct stat st;
    char png2[300];
    (void)state;
    start_png_max(&f, 1);
    send_str(f.fd, SSCC_LABEL);
    send_str(f.fd, "^XA^BY2^FO10,10^BCN,100,N,N,N,D^FD(00)10614141123456789^FS^XZ");
    wait_formats(f.p, 2);
    assert_int_equal(sim_printer_label(f.p, 1, &lb), 0);
    assert_int_equal(stat(lb.png_path, &st), 0);
    assert_int_equal(sim_printer_label(f.p, 2, &lb), 0);
    assert_int_equal(lb.errors, 0);
    assert_string_equal(lb.png_path, "");
    assert_int_equal(stat(lb.zpl_path, &st), 0);
    assert_int_equal(lb.n_barcodes, 1);
    assert_string_equal(lb.barcodes[0].text, "(00)106141411234567897");
    snprintf(png2, sizeof(png2), "%s/label-000002.png", f.dir);
    assert_int_equal(stat(png2, &st), -1);
    stop(&f);
}

static void test_host_status(void **state)
{
    struct fx f;
    struct sim_printer_counters c;
    char buf[512];
    size_t n;
    (void)state;
    start(&f);
    send_str(f.fd, "~HS");
    n = recv_for(f.fd, buf, sizeof(buf), 82, WAIT_MS);
    assert_string_equal(buf, "\x02"
                             "030,0,0,1218,000,0,0,0,000,0,0,0\x03\r\n"
                             "\x02"
                             "001,0,0,0,0,2,6,0,00000000,1,000\x03\r\n"
                             "\x02"
                             "1234,0\x03\r\n");
    assert_int_equal(n, 82);
    /* Paused: the pause flag is set, and formats wait. */
    send_str(f.fd, "~PP^XA^FO1,1^GB5,5,5^FS^XZ~HS");
    n = recv_for(f.fd, buf, sizeof(buf), 82, WAIT_MS);
    assert_int_equal(n, 82);
    assert_memory_equal(buf,
                        "\x02"
                        "030,0,1,1218,001,",
                        17);
    send_str(f.fd, "~HQES");
    recv_until(f.fd, buf, sizeof(buf), HQES_END);
    assert_non_null(strstr(buf, "ERRORS:         1 00000000 00010000\r\n"));
    send_str(f.fd, "~PS");
    wait_formats(f.p, 1);
    /* Paper out: ~HS gets no answer at all, ~HQES reports media out, formats are held. */
    sim_printer_set_paper_out(f.p, true);
    send_str(f.fd, "~HS^XA^FO1,1^GB5,5,5^FS^XZ");
    n = recv_for(f.fd, buf, sizeof(buf), 82, 300);
    assert_int_equal(n, 0);
    send_str(f.fd, "~HQES");
    recv_until(f.fd, buf, sizeof(buf), HQES_END);
    /* Replies come in order: a late answer to the ~HS above would come first. */
    assert_memory_equal(buf, "\x02\r\n PRINTER STATUS\r\n",
                        sizeof("\x02\r\n PRINTER STATUS\r\n") - 1);
    assert_non_null(strstr(buf, "ERRORS:         1 00000000 00000001\r\n"));
    assert_non_null(strstr(buf, "WARNINGS:       0 00000000 00000000\r\n"));
    sim_printer_counters(f.p, &c);
    assert_int_equal(c.hs_ignored, 1);
    assert_int_equal(c.formats, 1);
    assert_int_equal(c.held, 2);
    /* Head open as well; closing the head alone is not enough. */
    sim_printer_set_head_open(f.p, true);
    sim_printer_set_paper_out(f.p, false);
    send_str(f.fd, "~HS");
    assert_int_equal(recv_for(f.fd, buf, sizeof(buf), 82, 300), 0);
    sim_printer_set_head_open(f.p, false);
    wait_formats(f.p, 2);
    send_str(f.fd, "~HS");
    n = recv_for(f.fd, buf, sizeof(buf), 82, WAIT_MS);
    assert_int_equal(n, 82);
    assert_memory_equal(buf,
                        "\x02"
                        "030,0,0,1218,000,",
                        17);
    stop(&f);
}

static void test_split_across_writes(void **state)
{
    struct fx f;
    struct sim_printer_label lb;
    const char *z = SSCC_LABEL;
    size_t n = strlen(z);
    (void)state;
    start(&f);
    /* A format arriving in small pieces is printed once, when ^XZ arrives. */
    for (size_t i = 0; i < n; i += 7) {
        size_t k = n - i < 7 ? n - i : 7;
        assert_int_equal(write(f.fd, z + i, k), (ssize_t)k);
        usleep(1000);
    }
    wait_formats(f.p, 1);
    assert_int_equal(sim_printer_label(f.p, 1, &lb), 0);
    assert_string_equal(lb.barcodes[0].text, "(00)106141411234567897");
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sscc_label_png),
        cmocka_unit_test(test_check_digit_and_copies),
        cmocka_unit_test(test_png_max),
        cmocka_unit_test(test_host_status),
        cmocka_unit_test(test_split_across_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
