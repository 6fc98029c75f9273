/* cancel_park_race: wyn_cancel landing while its target arms and parks.
 *
 * A park publishes its wait and then checks `cancelled`; wyn_cancel stores
 * `cancelled` and then looks for the wait. Neither side fences between its
 * store and its load (park.c, co.c): when the canceller sees no armed wait,
 * it relies on the heavy fence (sys.c) to catch a target that is arming one
 * right now. If either half were wrong, a cancel would be lost and its target
 * would block forever.
 *
 * Each round a victim coroutine raises a flag and at once blocks in a
 * receive from a channel nobody sends on (or a select on it, or a sleep); a
 * plain thread spins on the flag and cancels the victim the moment it sees
 * it, so the cancel lands anywhere from before the arming to well after the
 * park. The victim must return -ECANCELED, its next blocking call must also
 * fail at once, and wyn_join must see it finish within the watchdog. A lost
 * cancel shows as a join that times out. Run with WYN_FENCE=park too, so the
 * mode without membarrier (every park fences) is exercised (ctest does both). */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

static wyn_chan *never;            /* nobody ever sends or closes */
static _Atomic(wyn_co *) target;   /* the victim to cancel, published by main */
static atomic_long published;      /* rounds whose victim main has published */
static atomic_long arriving;       /* rounds whose victim is about to block */
static atomic_long cancels;        /* rounds the canceller is done with */
static atomic_int stop;

static void victim(void *p)
{
    long round = (long)(intptr_t)p;
    int v = 0;
    atomic_store_explicit(&arriving, round + 1, memory_order_release);
    int rc;
    switch (round % 3) {
    case 0:
        rc = wyn_chan_recv(never, &v, WYN_FOREVER);
        break;
    case 1: {
        wyn_case c[2] = {{.chan = never, .op = WYN_RECV, .elem = &v},
                         {.chan = NULL, .op = WYN_RECV}};
        rc = wyn_select(c, 2, WYN_FOREVER);
        break;
    }
    default:
        rc = wyn_sleep(60 * SEC);
        break;
    }
    CHECK_EQ(rc, -ECANCELED);
    CHECK_EQ(v, 0);
    CHECK(wyn_cancelled());
    /* Cancelled: a call that would wait fails at once. */
    CHECK_EQ(wyn_chan_recv(never, &v, WYN_FOREVER), -ECANCELED);
}

static void *canceller(void *arg)
{
    (void)arg;
    for (long next = 1;; next++) {
        /* Spin until this round's victim is about to block (and main has
         * published its handle: with more than one worker the victim may
         * run first), then cancel it at once. */
        while (atomic_load_explicit(&arriving, memory_order_acquire) != next ||
               atomic_load_explicit(&published, memory_order_acquire) != next)
            if (atomic_load_explicit(&stop, memory_order_acquire))
                return NULL;
        CHECK_EQ(wyn_cancel(atomic_load_explicit(&target, memory_order_relaxed)), 0);
        /* release: main joins (which frees the handle) only after this. */
        atomic_store_explicit(&cancels, next, memory_order_release);
    }
}

static void test_main(void *arg)
{
    (void)arg;
    never = wyn_chan_make(sizeof(int), 0);
    CHECK(never != NULL);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, canceller, NULL), 0);
    long rounds = scaled(20000, 300);
    for (long r = 0; r < rounds; r++) {
        wyn_co *h = NULL;
        wyn_spawn_opts o = {0};
        o.join = &h;
        CHECK_EQ(wyn_spawn_ex(victim, (void *)(intptr_t)r, &o), 0);
        atomic_store_explicit(&target, h, memory_order_relaxed);
        atomic_store_explicit(&published, r + 1, memory_order_release);
        /* The handle must outlive the wyn_cancel that uses it: join (which
         * frees it) only once the canceller is done with it. A lost cancel
         * leaves the victim blocked and the join below times out. */
        int64_t until = watchdog();
        while (atomic_load_explicit(&cancels, memory_order_acquire) != r + 1) {
            CHECK(wyn_now() < until);
            wyn_yield();
        }
        int rc = wyn_join(h, watchdog());
        if (rc != 0) {
            fprintf(stderr, "round %ld: the victim was not woken by its cancel (join: %s)\n", r,
                    wyn_strerror(rc));
            abort();
        }
    }
    atomic_store_explicit(&stop, 1, memory_order_release);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(atomic_load(&cancels), rounds);
    wyn_chan_free(never);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
