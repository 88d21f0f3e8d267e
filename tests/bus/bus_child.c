/* A process holding one bus connection, for the Will test in test_bus.c: it connects, prints
 * "ready" once its birth is published, and runs its loop until it is killed.
 * usage: bus_child URI CLIENT_ID USER PASSWORD_FILE SITE GEN */
#include "bus/bus.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    struct loop *l;
    struct bus *b;
    struct bus_stats st;
    char err[BUS_ERR_MAX];
    bool ready = false;
    if (argc != 7) {
        fprintf(stderr, "usage: bus_child URI CLIENT_ID USER PASSWORD_FILE SITE GEN\n");
        return 2;
    }
    struct bus_opts o = {
        .uri = argv[1],
        .client_id = argv[2],
        .user = argv[3],
        .password_file = argv[4],
        .site = argv[5],
        .gen = strtoull(argv[6], NULL, 10),
        .keepalive_s = 5,
    };
    if (loop_new(&l, clock_system()) < 0 || bus_open(&b, l, &o, NULL, NULL, err, sizeof(err))) {
        fprintf(stderr, "bus_child: %s\n", err);
        return 1;
    }
    for (;;) {
        loop_run_once(l, 50);
        bus_get_stats(b, &st);
        if (!ready && st.connected && st.published > 0) {
            printf("ready\n");
            fflush(stdout);
            ready = true;
        }
    }
}
