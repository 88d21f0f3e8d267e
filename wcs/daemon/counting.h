/* The cycle-count scheduler of the daemon (docs/daemon.md, "Cycle counting"): on a loop timer
 * (the daemon's clock) it reads which locations hold stock, their products' ABC classes and
 * when each location was last counted, and opens the due count tasks through the same script
 * as count.request, at most counting.daily_max per UTC day (the limit is kept in Redis, so
 * restarts and several daemons share it). The due-date rules are pure and exported for tests. */
#ifndef WCS_DAEMON_COUNTING_H
#define WCS_DAEMON_COUNTING_H

#include "base/clock.h"
#include "base/loop.h"
#include "bus/bus.h"
#include "config/config.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define COUNTING_DAY_MS 86400000LL

/* The counting period of a class in days (no class: c_days). Pure. */
uint32_t counting_period_days(const struct cfg_counting *cfg, enum cfg_abc cls);

/* When a location whose highest class is cls and which was last counted at last_ms (0: never)
 * is due: last_ms + its period (0 when never counted: due at once). Pure. */
int64_t counting_due_ms(const struct cfg_counting *cfg, enum cfg_abc cls, int64_t last_ms);

/* The higher of two classes (A > B > C > none). Pure. */
enum cfg_abc counting_higher(enum cfg_abc a, enum cfg_abc b);

/* The UTC date of wall_ms as YYYY-MM-DD. Pure. */
void counting_day(int64_t wall_ms, char out[11]);

struct counting;

struct counting_stats {
    uint64_t passes;   /* passes finished */
    uint64_t created;  /* count tasks opened */
    uint64_t skipped;  /* due locations refused by the script (an open count meanwhile) */
    uint64_t failed;   /* passes ended by a store error */
    uint64_t last_due; /* due locations found by the last pass */
};

/* Called once per pass on the loop: rc 0, or the store error that ended it. */
typedef void (*counting_done_fn)(void *arg, int rc);

/* Creates the scheduler. site points at the owner's config pointer (read at every step, so a
 * reload is seen; the scheduler copies what it keeps across steps). With period_ms > 0 a pass
 * runs first_ms after open and then every period_ms of loop time while the config has a
 * counting: section and the store is ready. bus may be NULL (no evt/count). Everything is
 * borrowed and must outlive the scheduler. Returns 0, -EINVAL or -ENOMEM. */
int counting_open(struct counting **out, struct loop *loop, struct store *store, struct bus *bus,
                  const struct cfg_site *const *site, const struct wcs_clock *clock,
                  uint32_t first_ms, uint32_t period_ms);
/* Starts one pass now. Returns 0 (done is called once later; may be NULL), -EBUSY while a
 * pass runs, -ENOENT when the config has no counting: section, or the store's error. */
int counting_run(struct counting *c, counting_done_fn done, void *arg);
void counting_get_stats(const struct counting *c, struct counting_stats *out);
/* Cancels the timer and frees the scheduler; with a pass in flight it is freed when the pass's
 * outstanding store call is answered (store_close answers it), without calling done.
 * NULL-safe. */
void counting_close(struct counting *c);

#endif
