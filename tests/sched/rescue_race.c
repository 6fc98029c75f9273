/* rescue_race: the monitor's rescue of a stuck worker's next slot and local
 * queue, racing that worker's own accesses to them (the rescue gate,
 * src/sched/worker.c).
 *
 * Producers compute for tens of microseconds at a time without switching (so
 * the monitor finds their worker stuck and moves its next slot and local queue
 * to the global queue), and between those stretches hand values to parked
 * receivers over unbuffered channels: each hand-off writes the next slot and
 * pushes its previous occupant to the local queue, while the monitor may be
 * emptying both. Each receiver checks that its values arrive in order, each
 * exactly once.
 *
 * Hunts, end to end: a coroutine both rescued and taken by its worker (it
 * runs twice: the runtime's state check aborts, or a value repeats); one lost
 * between the two (its producer blocks forever: the watchdog fails the test);
 * a queue left half-moved (the same, or a value out of order). The monitor
 * gets here a few hundred times a run, and it rarely lands inside one of the
 * owner's few-instruction accesses: the gate's own race is hunted, millions
 * of times, by tests/rescue_gate.c. */
#include "test.h"

#include <stdatomic.h>

#define RECEIVERS 64
#define PRODUCERS 1

static wyn_chan *inbox[PRODUCERS][RECEIVERS];
static long      rounds;

typedef struct { int p, r; } receiver_arg;

static void receiver(void *arg)
{
    receiver_arg a = *(receiver_arg *)arg;
    for (long want = 0;; want++) {
        long v;
        int rc = wyn_chan_recv(inbox[a.p][a.r], &v, watchdog());
        if (rc == -EPIPE) {
            CHECK_EQ(want, rounds);   /* every value arrived */
            return;
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(v, want);            /* in order, none twice, none skipped */
    }
}

/* Compute for about `ns` without reaching a switch point. */
static void busy(int64_t ns)
{
    int64_t end = wyn_now() + ns;
    while (wyn_now() < end)
        ;
}

static void producer(void *arg)
{
    int p = (int)(intptr_t)arg;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(p + 1);
    for (long i = 0; i < rounds; i++) {
        /* A stretch long enough for the monitor (every 20 µs while it finds
         * work) to see this worker stuck, then a burst of hand-offs to the
         * parked receivers without a switch: the next slot and the local
         * queue change under the monitor's eyes. */
        busy((int64_t)(40 + rng_next(&rng) % 40) * US);
        for (int r = 0; r < RECEIVERS; r++)
            CHECK_EQ(wyn_chan_send(inbox[p][r], &i, watchdog()), 0);
    }
    for (int r = 0; r < RECEIVERS; r++)
        CHECK_EQ(wyn_chan_close(inbox[p][r]), 0);
}

static void body(void *arg)
{
    (void)arg;
    rounds = scaled(4000, 200);
    receiver_arg ra[PRODUCERS][RECEIVERS];
    for (int p = 0; p < PRODUCERS; p++)
        for (int r = 0; r < RECEIVERS; r++) {
            inbox[p][r] = wyn_chan_make(sizeof(long), 0);
            CHECK(inbox[p][r] != NULL);
            ra[p][r] = (receiver_arg){p, r};
            CHECK_EQ(test_go(receiver, &ra[p][r]), 0);
        }
    for (int p = 0; p < PRODUCERS; p++)
        CHECK_EQ(test_go(producer, (void *)(intptr_t)p), 0);
    test_wait_all();
    for (int p = 0; p < PRODUCERS; p++)
        for (int r = 0; r < RECEIVERS; r++)
            wyn_chan_free(inbox[p][r]);
}

int main(void)
{
    test_run(body, NULL);
    printf("ok: %d producers x %d receivers x %ld values\n", PRODUCERS, RECEIVERS, rounds);
    return 0;
}
