/* bench/scripts: the Redis server CPU each kind of request costs, side by side on one server: a
 * bare SET, EVALSHA of `return 1`, EVALSHA of the store's prelude followed by `return {'ok'}`
 * (with task_pick's 14 keys and 17 arguments) and the store's real task_pick script (embedded
 * table, wcs/store/scripts.h), each sent unpipelined on one hiredis connection N times. Redis CPU
 * per call is the redis-server process's utime+stime (/proc/<pid>/stat, clock ticks) over the N
 * calls; exec is INFO commandstats' usec delta per call (the command's execution alone). Four
 * measurements in 3 alternating rounds; the last line gives the medians. Starts its own
 * redis-server with the harness. Reproduce: build/bench/bench-scripts [N]
 * Last line: set_us= eval_bare_us= prelude_us= task_pick_us= (Redis CPU per call) set_exec_us=
 * eval_bare_exec_us= prelude_exec_us= task_pick_exec_us= (commandstats) set_wall_us= ...
 * task_pick_wall_us= (wall per call) task_pick_ratio= (task_pick_us / eval_bare_us) */
#include "harness/harness.h"
#include "scripts.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 3
#define N_KEYS 14
#define N_ARGS 17
#define N_ARGV (3 + N_KEYS + N_ARGS)

enum row { ROW_SET, ROW_BARE, ROW_PRELUDE, ROW_PICK, N_ROWS };
static const char *const ROW_NAME[N_ROWS] = {"set", "eval_bare", "prelude", "task_pick"};
/* The commandstats entry each row's calls count under. */
static const char *const ROW_CMD[N_ROWS] = {"set", "evalsha", "evalsha", "evalsha"};

struct sample {
    double cpu_us, wall_us, exec_us; /* per call */
};

static struct harness_redis *g_h;
static redisContext *g_c;
static char g_sha[N_ROWS][41]; /* EVALSHA rows' script SHAs */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench-scripts: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (g_c)
        redisFree(g_c);
    harness_redis_free(g_h);
    exit(1);
}

/* Fails on no reply, an error reply or a type other than type. */
static redisReply *check(redisReply *r, int type, const char *what)
{
    if (!r)
        die("%s: %s", what, g_c->errstr[0] ? g_c->errstr : "no reply");
    if (r->type == REDIS_REPLY_ERROR)
        die("%s: error reply: %s", what, r->str);
    if (r->type != type)
        die("%s: reply type %d, expected %d", what, r->type, type);
    return r;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* redis-server's utime + stime (fields 14 and 15 of /proc/<pid>/stat) in clock ticks. */
static unsigned long long redis_ticks(void)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st;
    size_t n;
    FILE *f;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)harness_redis_pid(g_h));
    f = fopen(path, "r");
    if (!f)
        die("cannot open %s", path);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields from 3 on follow the ")" closing the command name. */
    p = strrchr(buf, ')');
    if (!p ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        die("cannot parse %s", path);
    return ut + st;
}

/* INFO commandstats' usec and calls of one command (0 and 0 before its first call). */
static void cmdstat(const char *cmd, long long *calls, long long *usec)
{
    redisReply *r = check(redisCommand(g_c, "INFO commandstats"), REDIS_REPLY_STRING, "INFO");
    char key[64];
    const char *p;
    snprintf(key, sizeof(key), "cmdstat_%s:", cmd);
    p = strstr(r->str, key);
    *calls = *usec = 0;
    if (p && sscanf(p + strlen(key), "calls=%lld,usec=%lld", calls, usec) != 2)
        die("cannot parse INFO commandstats for %s", cmd);
    freeReplyObject(r);
}

static void load(enum row row, const char *body, size_t len, const char *want_sha)
{
    redisReply *r =
        check(redisCommand(g_c, "SCRIPT LOAD %b", body, len), REDIS_REPLY_STRING, "SCRIPT LOAD");
    if (r->len != 40 || (want_sha && strcmp(r->str, want_sha) != 0))
        die("SCRIPT LOAD of %s gave SHA %s, expected %s", ROW_NAME[row], r->str,
            want_sha ? want_sha : "40 hex digits");
    memcpy(g_sha[row], r->str, 41);
    freeReplyObject(r);
}

static void seed_hset(const char *const *argv, int argc)
{
    size_t lens[32];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    freeReplyObject(
        check(redisCommandArgv(g_c, argc, (const char **)argv, lens), REDIS_REPLY_INTEGER, "HSET"));
}

static void seed(void)
{
    static const char *const task[] = {"HSET",     "wcs:{s}:task:T1",
                                       "kind",     "pick",
                                       "state",    "open",
                                       "order",    "O1",
                                       "sku",      "S1",
                                       "lot",      "",
                                       "expiry",   "",
                                       "location", "L1",
                                       "qty",      "1000000000",
                                       "picked",   "0",
                                       "batch",    "B1",
                                       "line",     "1",
                                       "wave",     "W1"};
    static const char *const order[] = {
        "HSET", "wcs:{s}:order:O1", "state", "picking", "tasks_open",
        "5",    "backorder",        "",      "carrier", "DHL"};
    static const char *const res[] = {"HSET", "wcs:{s}:order:O1:resv",
                                      "wcs:{s}:quant:S1:L1:", "1000000000"};
    static const char *const quant[] = {
        "HSET",    "wcs:{s}:quant:S1:L1:", "sku",      "S1",        "loc", "L1", "lot", "",
        "on_hand", "1000000000",           "reserved", "1000000000"};
    static const char *const tote[] = {"HSET",  "wcs:{s}:tote:TT1", "order", "O1",
                                       "state", "picking"};
    char open[256] = "[";
    const char *batch[] = {"HSET", "wcs:{s}:batch:B1", "state", "picking", "open", open};
    for (int i = 1; i <= 20; i++) {
        size_t at = strlen(open);
        snprintf(open + at, sizeof(open) - at, "%s\"T%d\"", i > 1 ? "," : "", i);
    }
    strcat(open, "]");
    seed_hset(task, (int)(sizeof(task) / sizeof(task[0])));
    seed_hset(batch, (int)(sizeof(batch) / sizeof(batch[0])));
    seed_hset(order, (int)(sizeof(order) / sizeof(order[0])));
    seed_hset(res, (int)(sizeof(res) / sizeof(res[0])));
    seed_hset(quant, (int)(sizeof(quant) / sizeof(quant[0])));
    seed_hset(tote, (int)(sizeof(tote) / sizeof(tote[0])));
}

/* One call of a row; op ids are unique per row, round and call. */
static void call(enum row row, int round, long i)
{
    static const char *const keys[N_KEYS] = {"wcs:{s}:journal",
                                             "",
                                             "wcs:{s}:kpi",
                                             "wcs:{s}:task:T1",
                                             "wcs:{s}:batch:B1",
                                             "wcs:{s}:order:O1",
                                             "wcs:{s}:order:O1:resv",
                                             "wcs:{s}:quant:S1:L1:",
                                             "wcs:{s}:tote:TT1:contents",
                                             "wcs:{s}:tote:TT1",
                                             "wcs:{s}:replen:faces",
                                             "wcs:{s}:tote:TT1:serials",
                                             "wcs:{s}:serials",
                                             "wcs:{s}:task:T1"};
    static const char *const args[N_ARGS] = {"picker1", "pick.confirm",
                                             "",        "1700000000000",
                                             "100000",  "60",
                                             "T1",      "confirm",
                                             "L1",      "04012345678901",
                                             "S1",      "",
                                             "",        "1",
                                             "TT1",     "",
                                             ""};
    const char *argv[N_ARGV];
    size_t lens[N_ARGV];
    char op_id[32], op_key[64];
    redisReply *r;

    if (row == ROW_SET) {
        r = check(redisCommand(g_c, "SET wcs:{s}:bench:k v"), REDIS_REPLY_STATUS, "SET");
        if (strcmp(r->str, "OK") != 0)
            die("SET: %s", r->str);
        freeReplyObject(r);
        return;
    }
    if (row == ROW_BARE) {
        r = check(redisCommand(g_c, "EVALSHA %s 0", g_sha[row]), REDIS_REPLY_INTEGER, "EVALSHA");
        if (r->integer != 1)
            die("return 1 gave %lld", r->integer);
        freeReplyObject(r);
        return;
    }
    snprintf(op_id, sizeof(op_id), "%c%d.%ld", row == ROW_PICK ? 't' : 'p', round, i);
    snprintf(op_key, sizeof(op_key), "wcs:{s}:op:%s", op_id);
    argv[0] = "EVALSHA";
    argv[1] = g_sha[row];
    argv[2] = "14";
    memcpy(argv + 3, keys, sizeof(keys));
    memcpy(argv + 3 + N_KEYS, args, sizeof(args));
    argv[3 + 1] = op_key;
    argv[3 + N_KEYS + 2] = op_id;
    for (int k = 0; k < N_ARGV; k++)
        lens[k] = strlen(argv[k]);
    r = check(redisCommandArgv(g_c, N_ARGV, argv, lens), REDIS_REPLY_ARRAY, ROW_NAME[row]);
    if (r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "ok") != 0)
        die("%s call %ld: reply is not {'ok', ...} (first element type %d: %s)", ROW_NAME[row], i,
            r->elements ? r->element[0]->type : -1,
            r->elements && r->element[0]->str ? r->element[0]->str : "-");
    freeReplyObject(r);
}

static struct sample measure(enum row row, int round, long n, double tck)
{
    long long calls0, usec0, calls1, usec1;
    unsigned long long t0, t1;
    double w0, w1;
    struct sample s;
    cmdstat(ROW_CMD[row], &calls0, &usec0);
    t0 = redis_ticks();
    w0 = now_us();
    for (long i = 0; i < n; i++)
        call(row, round, i);
    w1 = now_us();
    t1 = redis_ticks();
    cmdstat(ROW_CMD[row], &calls1, &usec1);
    if (calls1 - calls0 != n)
        die("%s: commandstats counted %lld %s calls, sent %ld", ROW_NAME[row], calls1 - calls0,
            ROW_CMD[row], n);
    s.cpu_us = (double)(t1 - t0) * 1e6 / tck / (double)n;
    s.wall_us = (w1 - w0) / (double)n;
    s.exec_us = (double)(usec1 - usec0) / (double)n;
    return s;
}

static double median3(double a, double b, double c)
{
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    return c < a ? a : c > b ? b : c;
}

/* The prelude's text, read from the source tree; *len its length. */
static char *read_prelude(size_t *len)
{
    const char *path = WCS_SOURCE_DIR "/wcs/store/lua/prelude.lua";
    FILE *f = fopen(path, "rb");
    char *buf;
    long size;
    if (!f)
        die("cannot open %s", path);
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        die("cannot size %s", path);
    buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size)
        die("cannot read %s", path);
    fclose(f);
    buf[size] = '\0';
    *len = (size_t)size;
    return buf;
}

static void setup(void)
{
    static const char tail[] = "\nreturn {'ok'}";
    const struct store_script *pick = NULL;
    char password[HARNESS_PASSWORD_MAX] = "";
    size_t plen, n;
    char *prelude, *body;
    FILE *f;

    f = fopen(harness_redis_password_file(g_h), "r");
    if (!f)
        die("cannot open %s", harness_redis_password_file(g_h));
    n = fread(password, 1, sizeof(password) - 1, f);
    fclose(f);
    password[n] = '\0';
    password[strcspn(password, "\r\n")] = '\0';
    g_c = redisConnect(harness_redis_host(g_h), harness_redis_port(g_h));
    if (!g_c || g_c->err)
        die("connect: %s", g_c ? g_c->errstr : "out of memory");
    freeReplyObject(check(redisCommand(g_c, "AUTH %s %s", harness_redis_user(g_h), password),
                          REDIS_REPLY_STATUS, "AUTH"));

    for (const struct store_script *s = store_scripts; s->name; s++)
        if (strcmp(s->name, "task_pick") == 0)
            pick = s;
    if (!pick)
        die("no task_pick in store_scripts[]");
    load(ROW_BARE, "return 1", 8, NULL);
    prelude = read_prelude(&plen);
    body = malloc(plen + sizeof(tail));
    if (!body)
        die("out of memory");
    memcpy(body, prelude, plen);
    memcpy(body + plen, tail, sizeof(tail));
    load(ROW_PRELUDE, body, plen + sizeof(tail) - 1, NULL);
    free(body);
    free(prelude);
    load(ROW_PICK, pick->body, pick->len, pick->sha1);
    seed();
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    double tck = (double)sysconf(_SC_CLK_TCK);
    struct sample s[ROUNDS][N_ROWS];
    double cpu[N_ROWS], wall[N_ROWS], exec[N_ROWS];
    char err[HARNESS_ERR_MAX];
    redisReply *r;
    long long picked;

    if (n <= 0 || argc > 2) {
        fprintf(stderr, "usage: bench-scripts [N]\n");
        return 2;
    }
    if (tck <= 0)
        die("sysconf(_SC_CLK_TCK) failed");
    if (harness_redis_start(&g_h, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench-scripts: %s\n", err);
        return 1;
    }
    setup();
    printf("redis-server pid %d on %s:%d; %ld unpipelined calls per measurement, %d rounds, "
           "CPU from /proc/<pid>/stat at %.0f ticks/s (%.2f us/call resolution)\n",
           (int)harness_redis_pid(g_h), harness_redis_host(g_h), harness_redis_port(g_h), n, ROUNDS,
           tck, 1e6 / tck / (double)n);
    for (int round = 0; round < ROUNDS; round++)
        for (int row = 0; row < N_ROWS; row++) {
            s[round][row] = measure((enum row)row, round, n, tck);
            printf("round %d %-9s redis cpu %7.2f us/call  exec %7.2f us/call  wall %7.2f "
                   "us/call\n",
                   round + 1, ROW_NAME[row], s[round][row].cpu_us, s[round][row].exec_us,
                   s[round][row].wall_us);
            fflush(stdout);
        }

    /* Every task_pick call must have picked one unit. */
    r = check(redisCommand(g_c, "HGET wcs:{s}:task:T1 picked"), REDIS_REPLY_STRING, "HGET");
    picked = atoll(r->str);
    freeReplyObject(r);
    printf("task T1 picked %lld for %ld task_pick calls\n", picked, ROUNDS * n);
    if (picked != ROUNDS * n)
        die("task T1 picked %lld, expected %ld", picked, ROUNDS * n);
    redisFree(g_c);
    g_c = NULL;
    harness_redis_free(g_h);

    for (int row = 0; row < N_ROWS; row++) {
        cpu[row] = median3(s[0][row].cpu_us, s[1][row].cpu_us, s[2][row].cpu_us);
        wall[row] = median3(s[0][row].wall_us, s[1][row].wall_us, s[2][row].wall_us);
        exec[row] = median3(s[0][row].exec_us, s[1][row].exec_us, s[2][row].exec_us);
    }
    printf("set_us=%.2f eval_bare_us=%.2f prelude_us=%.2f task_pick_us=%.2f set_exec_us=%.2f "
           "eval_bare_exec_us=%.2f prelude_exec_us=%.2f task_pick_exec_us=%.2f set_wall_us=%.2f "
           "eval_bare_wall_us=%.2f prelude_wall_us=%.2f task_pick_wall_us=%.2f "
           "task_pick_ratio=%.2f\n",
           cpu[ROW_SET], cpu[ROW_BARE], cpu[ROW_PRELUDE], cpu[ROW_PICK], exec[ROW_SET],
           exec[ROW_BARE], exec[ROW_PRELUDE], exec[ROW_PICK], wall[ROW_SET], wall[ROW_BARE],
           wall[ROW_PRELUDE], wall[ROW_PICK], cpu[ROW_PICK] / cpu[ROW_BARE]);
    return 0;
}
