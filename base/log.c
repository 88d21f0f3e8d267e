/* The logger of base/log.h. */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static FILE *log_out;
static enum log_level log_max = LOGL_INFO;
static int log_journal = -1; /* -1 unknown, 0 no, 1 stderr goes to the systemd journal */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int level_prio[] = {3, 4, 6, 7}; /* syslog priorities */

void log_init(FILE *out, enum log_level level)
{
    log_out = out;
    log_max = level;
    log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level level)
{
    log_max = level;
}

enum log_level log_get_level(void)
{
    return log_max;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOGL_DEBUG; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

static void vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
    char msg[2048], stamp[40] = "";
    FILE *out = log_out ? log_out : stderr;
    int n;

    if (level > log_max)
        return;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n >= 0 && (size_t)n < sizeof(msg) && errnum)
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum));
    if (log_journal == 1) {
        fprintf(out, "<%d>%s\n", level_prio[level], msg);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(stamp + n, sizeof(stamp) - (size_t)n, ".%03ldZ", ts.tv_nsec / 1000000);
        fprintf(out, "%s %s %s\n", stamp, level_names[level], msg);
    }
    fflush(out);
}

#define LOG_FN(name, level, with_errno)                                                            \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        int saved = errno;                                                                         \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        vlog(level, with_errno ? saved : 0, fmt, ap);                                              \
        va_end(ap);                                                                                \
        errno = saved;                                                                             \
    }

LOG_FN(log_err, LOGL_ERR, 1)
LOG_FN(log_errx, LOGL_ERR, 0)
LOG_FN(log_warn, LOGL_WARN, 1)
LOG_FN(log_warnx, LOGL_WARN, 0)
LOG_FN(log_info, LOGL_INFO, 0)
LOG_FN(log_debug, LOGL_DEBUG, 0)

bool log_repeat_hit(struct log_repeat *r, uint64_t now_us, uint64_t interval_us,
                    uint64_t *suppressed)
{
    if (!r->armed || now_us - r->last_us >= interval_us) {
        *suppressed = r->pending;
        r->pending = 0;
        r->last_us = now_us;
        r->armed = true;
        return true;
    }
    r->pending++;
    return false;
}
