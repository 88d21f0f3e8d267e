/* Label preview renderer (render.h): a grey canvas, boxes for ^GB and for each character of
 * text, and barcode modules taken from libzint's encoded rows (bit c of row r is
 * encoded_data[r][c / 8] >> (c % 8), zint 2.11), then written with libpng. */
#include "render.h"

#include "base/err.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zint.h>

struct canvas {
    int32_t w, h;
    uint8_t *px; /* 0 black, 255 white; NULL: no preview, nothing is drawn */
};

static void fill(struct canvas *c, int64_t x, int64_t y, int64_t w, int64_t h, uint8_t v)
{
    if (!c->px)
        return;
    int64_t x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int64_t x1 = x + w > c->w ? c->w : x + w, y1 = y + h > c->h ? c->h : y + h;
    for (int64_t r = y0; r < y1; r++)
        if (x1 > x0)
            memset(c->px + r * c->w + x0, v, (size_t)(x1 - x0));
}

static void draw_text(struct canvas *c, int32_t x, int32_t y, int32_t h, int32_t w, const char *s,
                      size_t n)
{
    int32_t adv = w > 0 ? w : (h * 3 + 4) / 5;
    if (adv < 1)
        adv = 1;
    for (size_t i = 0; i < n; i++, x += adv) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f)
            continue;
        fill(c, x + adv / 8, y + h / 8, adv - adv / 4, h - h / 4, 0);
    }
}

static void draw_box(struct canvas *c, const struct zpl_field *f)
{
    uint8_t v = f->box_color == 'W' ? 255 : 0;
    int32_t t = f->box_t;
    if (2 * t >= f->box_w || 2 * t >= f->box_h) {
        fill(c, f->x, f->y, f->box_w, f->box_h, v);
        return;
    }
    fill(c, f->x, f->y, f->box_w, t, v);
    fill(c, f->x, f->y + f->box_h - t, f->box_w, t, v);
    fill(c, f->x, f->y, t, f->box_h, v);
    fill(c, f->x + f->box_w - t, f->y, t, f->box_h, v);
}

/* ZPL mode N data: subset switches (>9 >: >; >5 >6 >7) are left to zint's optimiser, ">>"
 * is a literal ">". FNC codes (>8 and the like) are not modelled. */
static int code128_data(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch == '>' && i + 1 < n) {
            char nx = in[i + 1];
            if (nx == '>') {
                i++;
            } else if (nx == '9' || nx == ':' || nx == ';' || nx == '5' || nx == '6' || nx == '7') {
                i++;
                continue;
            } else {
                return WCS_E_SYNTAX;
            }
        }
        if (o + 1 >= cap)
            return WCS_E_EXHAUSTED;
        out[o++] = ch;
    }
    out[o] = '\0';
    return (int)o;
}

static int draw_barcode(struct canvas *c, const struct zpl_field *f, struct sim_printer_barcode *bc)
{
    struct zint_symbol *sym;
    int n, rc, y_bars;
    sym = ZBarcode_Create();
    if (!sym)
        return -ENOMEM;
    if (f->mode == 'D') {
        n = zpl_gs1_normalize(f->data, f->data_len, bc->data, sizeof(bc->data));
        sym->symbology = BARCODE_GS1_128;
        sym->input_mode = GS1_MODE;
        snprintf(bc->symbology, sizeof(bc->symbology), "GS1-128");
    } else {
        n = code128_data(f->data, f->data_len, bc->data, sizeof(bc->data));
        sym->symbology = BARCODE_CODE128;
        sym->input_mode = DATA_MODE;
        snprintf(bc->symbology, sizeof(bc->symbology), "Code 128");
    }
    if (n <= 0) {
        ZBarcode_Delete(sym);
        return WCS_E_SYNTAX;
    }
    rc = ZBarcode_Encode(sym, (const unsigned char *)bc->data, n);
    if (rc >= ZINT_ERROR || sym->rows < 1) {
        ZBarcode_Delete(sym);
        return WCS_E_SYNTAX;
    }
    snprintf(bc->text, sizeof(bc->text), "%s", (const char *)sym->text);
    bc->x = f->x;
    bc->y = f->y;
    bc->width_dots = sym->width * f->module_w;
    bc->height_dots = f->bar_h;
    y_bars = f->y;
    if (f->hr_line && f->hr_above)
        y_bars += f->module_w * 12;
    for (int col = 0; col < sym->width; col++)
        if ((sym->encoded_data[0][col >> 3] >> (col & 7)) & 1)
            fill(c, f->x + (int64_t)col * f->module_w, y_bars, f->module_w, f->bar_h, 0);
    if (f->hr_line) {
        size_t tl = strlen(bc->text);
        int32_t th = f->module_w * 10, tw = f->module_w * 6;
        int32_t tx = f->x + (bc->width_dots - (int32_t)tl * tw) / 2;
        int32_t ty = f->hr_above ? f->y : y_bars + f->bar_h + f->module_w * 2;
        draw_text(c, tx < f->x ? f->x : tx, ty, th, tw, bc->text, tl);
    }
    ZBarcode_Delete(sym);
    return 0;
}

static int write_png(const struct canvas *c, const char *path)
{
    FILE *volatile fp = fopen(path, "wb");
    png_structp png;
    png_infop info;
    if (!fp)
        return -errno;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        fclose(fp);
        return -ENOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(fp);
        return -EIO;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int32_t r = 0; r < c->h; r++)
        png_write_row(png, c->px + (size_t)r * (size_t)c->w);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(fp) != 0)
        return -errno;
    return 0;
}

int render_label(const struct zpl_label *lb, int32_t width_dots, int32_t height_dots,
                 const char *png_path, struct sim_printer_label *info)
{
    struct canvas c = {width_dots, height_dots, NULL};
    int rc, result = 0;
    /* Without a preview the label is still laid out and its barcodes encoded (their data and
     * errors are the emulator's record), but not drawn: a megabyte canvas per label was an
     * eighth of the simulator's CPU in a full shift. */
    if (png_path) {
        c.px = malloc((size_t)c.w * (size_t)c.h);
        if (!c.px)
            return -ENOMEM;
        memset(c.px, 255, (size_t)c.w * (size_t)c.h);
    }
    info->width_dots = c.w;
    info->height_dots = c.h;
    for (unsigned i = 0; i < lb->n_fields; i++) {
        const struct zpl_field *f = &lb->f[i];
        if (f->kind == ZPL_BOX) {
            draw_box(&c, f);
        } else if (f->kind == ZPL_TEXT) {
            draw_text(&c, f->x, f->y, f->font_h, f->font_w, f->data, f->data_len);
        } else if (info->n_barcodes < SIM_PRN_BARCODES_MAX) {
            struct sim_printer_barcode *bc = &info->barcodes[info->n_barcodes];
            memset(bc, 0, sizeof(*bc));
            rc = draw_barcode(&c, f, bc);
            if (rc == -ENOMEM) {
                free(c.px);
                return rc;
            }
            if (rc < 0) {
                info->errors++;
                result = WCS_E_SYNTAX;
            } else {
                info->n_barcodes++;
            }
        }
    }
    rc = png_path ? write_png(&c, png_path) : 0;
    free(c.px);
    return rc < 0 ? rc : result;
}
