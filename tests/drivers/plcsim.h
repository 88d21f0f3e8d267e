/* A conveyor PLC stand-in for tests and bench/modbus: a libmodbus TCP server on 127.0.0.1 in its
 * own thread, with a register bank the test writes by hand (never through the plcblock codec,
 * so a codec bug cannot pass on both sides), an optional heartbeat ticker, exception, silent
 * and slow-write modes, a restart, and a log of every write-multiple request it served. */
#ifndef TESTS_DRIVERS_PLCSIM_H
#define TESTS_DRIVERS_PLCSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct plcsim;

enum { PLCSIM_REGS = 512, PLCSIM_LOG = 4096, PLCSIM_WRITE_MAX = 16 };

struct plcsim_write {
    uint16_t addr;
    uint16_t n;
    uint16_t regs[PLCSIM_WRITE_MAX]; /* first registers of the request */
    uint64_t at_us;                  /* CLOCK_MONOTONIC when served */
};

/* Called on the server thread, under the bank's lock, after each request was answered:
 * function code, start address, and for FC16 the registers written. May change registers with
 * plcsim_*_locked. */
typedef void (*plcsim_hook)(struct plcsim *s, int function, uint16_t addr, const uint16_t *regs,
                            int n, void *arg);

/* Starts listening on 127.0.0.1 at port (0: a free one). Returns 0 or a negative errno. */
int plcsim_start(struct plcsim **out, uint16_t port);
void plcsim_stop(struct plcsim *s); /* NULL-safe */
uint16_t plcsim_port(const struct plcsim *s);

void plcsim_set_hook(struct plcsim *s, plcsim_hook hook, void *arg);
void plcsim_set(struct plcsim *s, uint16_t addr, uint16_t value);
uint16_t plcsim_get(struct plcsim *s, uint16_t addr);
/* Variants for use inside the hook (the lock is already held). */
void plcsim_set_locked(struct plcsim *s, uint16_t addr, uint16_t value);
uint16_t plcsim_get_locked(struct plcsim *s, uint16_t addr);
/* Inside the hook: CLOCK_MONOTONIC microseconds when the request being handled was received. */
uint64_t plcsim_rx_us_locked(struct plcsim *s);
/* Sets n registers from addr at once: a poll sees all of them or none. */
void plcsim_set_block(struct plcsim *s, uint16_t addr, const uint16_t *regs, uint16_t n);
/* Writes ASCII two characters per register, high byte first, NUL-padded to nregs. */
void plcsim_set_text(struct plcsim *s, uint16_t addr, const char *text, uint16_t nregs);

/* Increments the register at addr every period_ms (0 stops). */
void plcsim_heartbeat(struct plcsim *s, uint16_t addr, uint32_t period_ms);
/* Reads answered with an ILLEGAL DATA ADDRESS exception while on. */
void plcsim_set_exception(struct plcsim *s, bool on);
/* Each write-multiple request is held delay_ms after it arrives, before it is applied and
 * answered (0: none); plcsim_get does not wait for it meanwhile. */
void plcsim_set_write_delay(struct plcsim *s, uint32_t delay_ms);
/* Requests are read and not answered while on. */
void plcsim_set_silent(struct plcsim *s, bool on);
/* Drops the client and the listening socket, stays away down_ms, listens again on the same
 * port. Blocks for down_ms. */
void plcsim_restart(struct plcsim *s, uint32_t down_ms);

/* Copies up to cap logged FC16 writes (oldest first) and returns how many were logged. */
size_t plcsim_writes(struct plcsim *s, struct plcsim_write *out, size_t cap);
uint64_t plcsim_reads(struct plcsim *s);
uint64_t plcsim_accepts(struct plcsim *s);

#endif
