/* The daemon's and CLI's logger. Libraries never log: they return codes. Lines read
 * `<time> <level> message key=value ...` on stderr; under systemd (JOURNAL_STREAM set) the time
 * is left to the journal and a `<N>` priority prefix is written instead.
 * log_warn/log_err append ": strerror(errno)"; the x-variants do not (as in OpenBSD ntpd). */
#ifndef BASE_LOG_H
#define BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOGL_ERR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

/* Sets the destination (NULL: stderr) and the most verbose level written. Not thread-safe;
 * call before threads start. Lines themselves are written atomically (one fprintf, flushed). */
void log_init(FILE *out, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Repeat limiter: log a transition, then at most one summary per interval.
 * log_repeat_hit() counts an occurrence and returns true when the caller should log now;
 * *suppressed then holds how many occurrences were not logged since the last true. */
struct log_repeat {
    uint64_t last_us;
    uint64_t pending;
    bool armed;
};
bool log_repeat_hit(struct log_repeat *r, uint64_t now_us, uint64_t interval_us,
                    uint64_t *suppressed);

#endif
