/* rescue_gate: the rescue gate (src/sched/gate.h) under an owner thread that
 * enters and leaves millions of times while an outsider thread closes it over
 * and over, in both fence modes (membarrier, and an ordinary fence on both
 * sides as where the kernel refuses membarrier).
 *
 * Hunts the classic Dekker bug: both inside at once (the owner's mark and its
 * read of the gate reordered past the outsider's close and its read of the
 * mark: a missing fence on either side). Inside, each side does a plain,
 * non-atomic read-modify-write of the same counters, in a window made wide
 * on purpose; an overlap loses an update, which the final count shows, and an
 * atomic "who is inside" word catches most overlaps at once. The owner's side
 * also checks what the outsider left (a value it moved away must be gone). */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

#include "sched/gate.h"

static wyn__gate     gate;
static long          plain_count;   /* both sides: ++ inside the gate only */
static long          slot;          /* owner fills, outsider empties (like runnext) */
static long          moved_sum, owner_sum;
static _Atomic int   inside;        /* 1 owner, 2 outsider */
static _Atomic int   stop;
static long          outsider_wins, outsider_backoffs;

static void enter_cs(int who)
{
    int was = atomic_exchange_explicit(&inside, who, memory_order_relaxed);
    if (was != 0) {
        fprintf(stderr, "both inside the gate: %d entered while %d was in\n", who, was);
        abort();
    }
}

static void leave_cs(void) { atomic_store_explicit(&inside, 0, memory_order_relaxed); }

static void widen(void)
{
    for (volatile int i = 0; i < 8; i++)
        ;
}

static long attempts;   /* the outsider's closes per run */

static void *outsider(void *arg)
{
    (void)arg;
    /* At least `attempts` closes, and on until 100 of them got in (an owner
     * slowed by instrumentation is inside more often). */
    int64_t give_up = wyn_now() + 30 * SEC;
    for (long k = 0; k < attempts || outsider_wins < 100; k++) {
        CHECK(wyn_now() < give_up);
        if (wyn__gate_close(&gate)) {
            enter_cs(2);
            long c = plain_count;
            widen();
            plain_count = c + 1;
            moved_sum += slot;   /* move the slot's value away */
            slot = 0;
            leave_cs();
            outsider_wins++;
        } else {
            outsider_backoffs++;
        }
        wyn__gate_open(&gate);
        /* Leave the gate open a while, as the monitor does (it closes one
         * at most once per period): back to back, the owner would starve. */
        for (volatile int i = 0; i < 300; i++)
            ;
    }
    atomic_store(&stop, 1);
    return NULL;
}

/* The owner's side, until the outsider has made all its attempts. */
static void run(const char *mode, long closes)
{
    plain_count = slot = moved_sum = owner_sum = 0;
    outsider_wins = outsider_backoffs = 0;
    attempts = closes;
    atomic_store(&stop, 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, outsider, NULL) == 0);
    long filled = 0, iters = 0;
    uint64_t rng = 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        iters++;
        wyn__gate_enter(&gate);
        enter_cs(1);
        long c = plain_count;
        widen();
        plain_count = c + 1;
        if (slot) {           /* take it back ourselves, as the owner's take */
            owner_sum += slot;
            slot = 0;
        } else {
            slot = iters;     /* fill it, as a hand-off */
            filled += iters;
        }
        leave_cs();
        wyn__gate_leave(&gate);
        /* Outside for a while too, as an owner does other work between
         * accesses; sometimes not at all (back-to-back sections are where
         * the outsider's missing fence shows). */
        for (int k = (int)(rng_next(&rng) % 4); k > 0; k--)
            widen();
    }
    CHECK(pthread_join(th, NULL) == 0);
    owner_sum += slot;
    CHECK_EQ(plain_count, iters + outsider_wins);   /* no update lost: never both inside */
    CHECK_EQ(owner_sum + moved_sum, filled);        /* every value taken exactly once */
    printf("%s: %ld owner sections, outsider inside %ld times, backed off %ld times\n", mode,
           iters, outsider_wins, outsider_backoffs);
    CHECK(outsider_wins >= 100);
}

int main(void)
{
    wyn__fence_heavy_init();
    bool fences = atomic_load(&wyn__fence_light_is_full);
    run(fences ? "ordinary fences (no membarrier here)" : "membarrier", scaled(50000, 5000));
    /* The other mode: the owner fences too, the "heavy" fence is an ordinary one. */
    atomic_store(&wyn__fence_light_is_full, true);
    run("ordinary fences", scaled(200000, 20000));
    printf("ok\n");
    return 0;
}
