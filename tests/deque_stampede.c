/* deque_stampede: the Chase-Lev deque (src/sched/deque.c) under an owner that
 * pushes and pops while three thief threads steal, millions of operations.
 *
 * Hunts the classic deque bugs: the last item taken twice (the owner's pop and
 * a thief's steal both win it: a missing StoreLoad fence or a CAS on the wrong
 * word), an item lost (pop gives up on an item that no thief took), and items
 * lost or duplicated while the buffer grows under thieves (the deque starts at
 * capacity 4 in every epoch, so it grows many times), and the owner's batch
 * take from the top (take_oldest) racing the thieves. Every item is a unique
 * integer (never 0 or 1, which mean "empty" and "abort") with its own atomic
 * counter; at the end every counter must be exactly 1. A duplicate fails at
 * once with the item's value; a lost item fails in the final sweep. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

#include "sched/deque.h"

#define THIEVES 3

static wyn__deque          dq;
static _Atomic int         epoch_done;
static _Atomic unsigned char *taken;   /* taken[i]: times item i + 2 was taken */
static long                nitems;
static _Atomic long        stolen_total;

static void take(void *x, const char *who)
{
    uintptr_t v = (uintptr_t)x;
    if (v < 2 || v >= (uintptr_t)nitems + 2) {
        fprintf(stderr, "%s got a bogus item %#lx\n", who, (unsigned long)v);
        abort();
    }
    unsigned char before = atomic_fetch_add_explicit(&taken[v - 2], 1, memory_order_relaxed);
    if (before != 0) {
        fprintf(stderr, "%s took item %lu a second time\n", who, (unsigned long)v);
        abort();
    }
}

static void *thief(void *arg)
{
    (void)arg;
    long mine = 0;
    for (;;) {
        /* Read the flag before stealing: once the owner has said it is done
         * pushing, an empty steal means the deque is empty for good (the owner
         * drains only after joining us). */
        int done = atomic_load_explicit(&epoch_done, memory_order_acquire);
        void *x = wyn__deque_steal(&dq);
        if (x == WYN_DEQUE_ABORT)
            continue;
        if (x) {
            take(x, "thief");
            mine++;
            continue;
        }
        if (done)
            break;
    }
    atomic_fetch_add(&stolen_total, mine);
    return NULL;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Single-threaded semantics first: LIFO pops at the bottom, FIFO steals at the
 * top, empty gives NULL, growth keeps every item. */
static void sequential(void)
{
    wyn__deque d;
    CHECK_EQ(wyn__deque_init(&d, 4), 0);
    CHECK(wyn__deque_pop(&d) == NULL);
    CHECK(wyn__deque_steal(&d) == NULL);
    for (uintptr_t i = 2; i < 2 + 100; i++)
        wyn__deque_push(&d, (void *)i);
    CHECK_EQ(wyn__deque_size(&d), 100);
    CHECK_EQ((uintptr_t)wyn__deque_steal(&d), 2);
    CHECK_EQ((uintptr_t)wyn__deque_pop(&d), 101);
    CHECK_EQ((uintptr_t)wyn__deque_steal(&d), 3);
    for (uintptr_t i = 100; i >= 4; i--)
        CHECK_EQ((uintptr_t)wyn__deque_pop(&d), i);
    CHECK(wyn__deque_pop(&d) == NULL);
    CHECK(wyn__deque_steal(&d) == NULL);
    CHECK_EQ(wyn__deque_size(&d), 0);
    /* wrap around a small buffer many times without growing */
    for (uintptr_t i = 2; i < 10000; i++) {
        wyn__deque_push(&d, (void *)i);
        CHECK_EQ((uintptr_t)(i % 2 ? wyn__deque_pop(&d) : wyn__deque_steal(&d)), i);
    }
    wyn__deque_destroy(&d);

    /* try_push refuses a full buffer (no growth, nothing lost); take_oldest
     * gives the oldest items in order. */
    CHECK_EQ(wyn__deque_init(&d, 4), 0);
    for (uintptr_t i = 2; i < 6; i++)
        CHECK(wyn__deque_try_push(&d, (void *)i));
    CHECK(!wyn__deque_try_push(&d, (void *)99));
    CHECK_EQ(wyn__deque_size(&d), 4);
    void *out[8];
    CHECK_EQ(wyn__deque_take_oldest(&d, out, 3), 3);
    for (uintptr_t i = 0; i < 3; i++)
        CHECK_EQ((uintptr_t)out[i], i + 2);
    CHECK(wyn__deque_try_push(&d, (void *)6));
    CHECK_EQ(wyn__deque_take_oldest(&d, out, 8), 2);
    CHECK_EQ((uintptr_t)out[0], 5);
    CHECK_EQ((uintptr_t)out[1], 6);
    CHECK_EQ(wyn__deque_take_oldest(&d, out, 8), 0);
    CHECK(wyn__deque_pop(&d) == NULL);
    wyn__deque_destroy(&d);
}

int main(void)
{
    sequential();

    nitems = scaled(4000000, 200000);
    long epochs = scaled(40, 8);
    taken = calloc((size_t)nitems, sizeof *taken);
    CHECK(taken != NULL);
    long per_epoch = nitems / epochs + 1;
    long next = 0, popped = 0, pops_empty = 0, grown = 0, batched = 0;

    for (long e = 0; e < epochs && next < nitems; e++) {
        long end = next + per_epoch;
        if (end > nitems)
            end = nitems;
        CHECK_EQ(wyn__deque_init(&dq, 4), 0);
        atomic_store(&epoch_done, 0);
        pthread_t th[THIEVES];
        for (int i = 0; i < THIEVES; i++)
            CHECK(pthread_create(&th[i], NULL, thief, NULL) == 0);
        while (next < end) {
            uint64_t r = rnd();
            /* Mostly a few items at a time, so the deque is often down to its
             * last item while thieves are at it; now and then a burst that
             * makes the buffer grow. */
            long k = (r & 63) == 0 ? 1 + (long)((r >> 8) % 2000) : 1 + (long)((r >> 8) % 3);
            if (k > end - next)
                k = end - next;
            for (long i = 0; i < k; i++)
                wyn__deque_push(&dq, (void *)(uintptr_t)(next++ + 2));
            if (k > 64)
                grown++;
            if (((r >> 40) & 7) == 0) {
                /* The owner's batch from the top (a full run queue moving
                 * its older half away), racing the thieves' CAS: in order,
                 * each item once. */
                void *batch[64];
                long n = (long)wyn__deque_take_oldest(&dq, batch, 1 + (long)((r >> 44) % 64));
                for (long i = 0; i < n; i++) {
                    if (i > 0)
                        CHECK((uintptr_t)batch[i] > (uintptr_t)batch[i - 1]);
                    take(batch[i], "owner batch");
                }
                popped += n;
                batched += n;
            }
            long pops = (long)((r >> 24) % 4);   /* 0..3 pops: sometimes more than pushed */
            for (long i = 0; i < pops; i++) {
                void *x = wyn__deque_pop(&dq);
                if (!x) {
                    pops_empty++;
                    break;
                }
                CHECK(x != WYN_DEQUE_ABORT);
                take(x, "owner");
                popped++;
            }
        }
        atomic_store_explicit(&epoch_done, 1, memory_order_release);
        for (int i = 0; i < THIEVES; i++)
            CHECK(pthread_join(th[i], NULL) == 0);
        void *x;
        while ((x = wyn__deque_pop(&dq)) != NULL) {
            take(x, "owner drain");
            popped++;
        }
        CHECK(wyn__deque_steal(&dq) == NULL);
        CHECK_EQ(wyn__deque_size(&dq), 0);
        wyn__deque_destroy(&dq);
    }
    CHECK_EQ(next, nitems);
    long missing = 0;
    for (long i = 0; i < nitems; i++) {
        unsigned char c = atomic_load_explicit(&taken[i], memory_order_relaxed);
        if (c != 1) {
            if (missing++ < 10)
                fprintf(stderr, "item %ld taken %u times\n", i + 2, c);
        }
    }
    CHECK_EQ(missing, 0);
    CHECK_EQ(popped + atomic_load(&stolen_total), nitems);
    printf("ok: %ld items, %ld popped (%ld in batches), %ld stolen, %ld empty pops, %ld bursts\n",
           nitems, popped, batched, (long)atomic_load(&stolen_total), pops_empty, grown);
    free(taken);
    return 0;
}
