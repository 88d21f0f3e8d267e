/* Picking command helpers (pick.h): config lookups for GTINs and pack stations, and the events
 * of the picking flow. */
#include "pick.h"

#include "scan.h"

#include <stdlib.h>
#include <string.h>

char *pick_stations_json(const struct cfg_site *site)
{
    json_t *a = json_array();
    char *s;
    for (uint32_t i = 0; a && i < site->n_stations; i++)
        if (site->stations[i].kind == CFG_STATION_PACK)
            json_array_append_new(a, json_string(site->stations[i].id));
    s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

const struct cfg_product *pick_gtin_product(const struct cfg_site *site, const char *gtin14)
{
    int32_t i = cfg_find_product_gtin(site, gtin14);
    return i >= 0 ? &site->products[i] : NULL;
}

void pick_first_gtin(const struct cfg_site *site, const char *sku, char out[15])
{
    int32_t i = cfg_find_product(site, sku);
    out[0] = '\0';
    if (i < 0)
        return;
    for (uint32_t k = 0; k < site->products[i].n_gtins; k++)
        if (scan_gtin14(site->products[i].gtins[k], out))
            return;
    out[0] = '\0';
}

bool pick_is_check_refusal(const char *text)
{
    static const char *const prefixes[] = {"scanned location ",
                                           "scanned GTIN ",
                                           "scan has no lot",
                                           "scanned lot ",
                                           "scanned expiry ",
                                           "qty ",
                                           "tote ",
                                           "scan has no serial",
                                           "serial-tracked product ",
                                           "scanned serial ",
                                           "serial ",
                                           NULL};
    for (int i = 0; text && prefixes[i]; i++)
        if (strncmp(text, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

void pick_publish(struct bus *bus, const char *batches_json, const char *tasks_json)
{
    json_t *tasks, *batches, *v;
    size_t i;
    if (!bus)
        return;
    tasks = tasks_json ? json_loads(tasks_json, 0, NULL) : NULL;
    batches = batches_json ? json_loads(batches_json, 0, NULL) : NULL;
    json_array_foreach(tasks, i, v)(void) bus_publish_event(bus, "task", v);
    json_array_foreach(batches, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "batch"));
        if (id)
            (void)bus_set_state(bus, "batch", id, v);
    }
    json_decref(tasks);
    json_decref(batches);
}
