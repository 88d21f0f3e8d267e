/* Private: renders a parsed ZPL label to an 8-bit grey PNG. Barcodes come from libzint and
 * text is drawn as one filled box per character (a preview, not a font). The only file that
 * includes zint.h and png.h. */
#ifndef SIM_RENDER_H
#define SIM_RENDER_H

#include "sim/printer.h"
#include "sim/zpl.h"

/* Renders lb on a canvas of width_dots x height_dots and writes it to png_path (NULL: no file
 * and nothing drawn, the barcodes are still encoded). info gets the
 * size and one entry per barcode (symbology name, zint's human-readable text, the data given to
 * zint). Returns 0, WCS_E_SYNTAX when zint refuses a barcode's data (the PNG is still written
 * with that barcode missing and info->errors counting it), -ENOMEM, or a negative errno. */
int render_label(const struct zpl_label *lb, int32_t width_dots, int32_t height_dots,
                 const char *png_path, struct sim_printer_label *info);

#endif
