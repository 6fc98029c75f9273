/* million: 1,000,000 detached spawns of trivial coroutines, three times in
 * one runtime. Runs only at WYN_TEST_SCALE >= 1 (the sanitizer passes run
 * smaller and would spend minutes here).
 *
 * Hunts: a lost or doubled coroutine under a spawn storm (the counter ends
 * wrong, or the wait for it times out after 120 s); records or stacks that are
 * not recycled (the later millions map new stacks: stacks_mapped grows, which
 * the "pools warm" check catches; a leak big enough also runs out of memory);
 * a queue that cannot hold a million queued spawns (the spawning coroutine
 * does not switch until all are queued, so they overflow its deque into the
 * global queue).
 *
 * The first million (and a few thousand) is the warm-up, and it is the
 * largest load this workload can put on the pools: every spawn queued before
 * any runs. At one worker that
 * is what happens anyway; at more, the other workers are held busy until the
 * last spawn (else how far they fall behind the spawner decides the peak, and
 * a later round could beat it and rightly grow the pools). The later rounds
 * run free. tests/sched/million_mmap.sh counts their mmap calls with strace. */
#include "test.h"

#include <stdatomic.h>
#include <stdbool.h>

static _Atomic long counter;

static void add_one(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

/* Holders keep every other worker busy (they never switch) until released. */
static atomic_int holders_running, holders_release;

static void holder(void *arg)
{
    (void)arg;
    atomic_fetch_add(&holders_running, 1);
    while (!atomic_load(&holders_release))
        ;
}

static void million(long n, const char *what, bool hold_others)
{
    atomic_store(&counter, 0);
    int holders = 0;
    if (hold_others) {
        wyn_stats st;
        wyn_stats_get(&st);
        holders = (int)st.workers - 1;
        atomic_store(&holders_release, 0);
        atomic_store(&holders_running, 0);
        for (int i = 0; i < holders; i++)
            CHECK_EQ(wyn_spawn(holder, NULL), 0);
        /* Yield until they all run (our own worker may take one, and then
         * an idle one steals us: either way one worker is left for us). */
        while (atomic_load(&holders_running) < holders)
            wyn_yield();
    }
    for (long i = 0; i < n; i++)
        CHECK_EQ(wyn_spawn(add_one, NULL), 0);
    atomic_store(&holders_release, 1);
    int64_t give_up = wyn_deadline(120LL * 1000 * 1000 * 1000);
    while (atomic_load(&counter) < n) {
        if (wyn_now() > give_up) {
            fprintf(stderr, "%s: %ld of %ld ran in 120 s\n", what, (long)atomic_load(&counter), n);
            CHECK(!"spawned coroutines did not all run");
        }
        CHECK_EQ(wyn_sleep(1000 * 1000), 0);
    }
    CHECK_EQ(atomic_load(&counter), n);
}

/* Wait until every coroutine but main has finished and given its stack back. */
static void quiesce(wyn_stats *st)
{
    int64_t give_up = wyn_deadline(30LL * 1000 * 1000 * 1000);
    for (;;) {
        wyn_stats_get(st);
        if (st->alive == 1 && st->stacks_pooled + 1 == st->stacks_mapped)
            return;
        CHECK(wyn_now() < give_up);
        CHECK_EQ(wyn_sleep(1000 * 1000), 0);
    }
}

static void body(void *arg)
{
    (void)arg;
    const long n = 1000000;
    wyn_stats a, b;
    /* The warm-up queues a few thousand more than the later rounds: records
     * freed on one worker wait in its caches (two magazines of 64) until
     * they fill, out of the spawner's reach, so a later round may need that
     * many more than it has alive. */
    million(n + 4096, "first million", true);
    quiesce(&a);
    /* Markers for `strace -f -e trace=mmap,munmap,write`: the system calls
     * after this one belong to the warm rounds (million_mmap.sh). */
    static const char mark[] = "million: second round\n";
    CHECK(write(2, mark, sizeof mark - 1) > 0);
    million(n, "second million", false);
    quiesce(&b);
    static const char mark3[] = "million: third round\n";
    CHECK(write(2, mark3, sizeof mark3 - 1) > 0);
    million(n, "third million", false);
    wyn_stats c;
    quiesce(&c);
    static const char end[] = "million: done\n";
    CHECK(write(2, end, sizeof end - 1) > 0);
    printf("stacks mapped: %" PRIu64 " after the first million, %" PRIu64 " after the second, %"
           PRIu64 " after the third\n", a.stacks_mapped, b.stacks_mapped, c.stacks_mapped);
    /* Warm pools map no more stacks. Each worker may keep up to 64 idle stacks
     * in its own cache, so with many workers a later round whose load lands
     * differently can find the shared pool empty while other caches hold
     * stacks: up to two workers that never happened here; beyond that the
     * growth must stay within what the caches can hold (one 25-stack slab
     * per worker). */
    unsigned workers = a.workers;
    uint64_t allowed = workers <= 2 ? 0 : (uint64_t)workers * 25;
    if (c.stacks_mapped - a.stacks_mapped > allowed) {
        fprintf(stderr, "later millions mapped %" PRIu64 " more stacks (pools not reused)\n",
                c.stacks_mapped - a.stacks_mapped);
        CHECK(!"pools warm");
    }
    CHECK_EQ(b.spawned - a.spawned, n);
    CHECK_EQ(b.finished - a.finished, n);
}

int main(void)
{
    if (test_scale() < 1.0) {
        printf("skipped at this scale\n");
        return 0;
    }
    test_run(body, NULL);
    wyn_stats st;
    wyn_stats_get(&st);
    CHECK_EQ(st.alive, 0);
    CHECK_EQ(st.abandoned, 0);
    CHECK(st.finished >= 2000000);
    printf("ok\n");
    return 0;
}
