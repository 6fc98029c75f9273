/* lost_wakeup: thousands of rounds of "every worker idle (spinning, parking or
 * parked), then a burst of work"; each round must finish within 10 s.
 *
 * Hunts a lost wake-up in the idle protocol (worker.c: wakep / idle_push /
 * fence / re-check / sleep_idle) and in the timer sleeper hand-off: a spawn
 * that lands in the injection queue or a deque while the last worker is
 * between "found nothing" and "asleep", or a timer added while the timer
 * sleeper is choosing its timeout, leaves work stranded with every worker
 * asleep. The monitor thread would rescue such work within 10 ms and hide the
 * bug, so this test turns it off ($WYN_MONITOR=off). A lost wake-up shows as
 * "round N did not finish" (a CHECK), never as a hang.
 *
 * Bursts come (A) from a plain thread into the injection queue after a random
 * gap (the thread then polls a counter, or every other round blocks in
 * wyn_wg_wait with a 10 s deadline, which must return 0), and (B) from a coroutine that wakes from a sleep (a timer wake-up with
 * all workers idle), spawns onto its own deque and then either sleeps-polls or
 * (at >= 2 workers) spins without switching, so only a woken thief can run the
 * burst. The burst's coroutines do nothing, yield, sleep briefly or spawn a
 * child, so every wake path (deque push, global push, timer) is exercised. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#define ROUND_DEADLINE_NS (10LL * 1000 * 1000 * 1000)

static _Atomic long done_count;

static void nap_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Rounds that wait on a WaitGroup: every leaf (and child) of the burst calls
 * wyn_wg_done on it; the flag travels in bit 12 of the leaf's argument. */
#define USE_WG ((uintptr_t)1 << 12)
static wyn_wg round_wg;

static void finish(uintptr_t flags)
{
    atomic_fetch_add(&done_count, 1);
    if (flags & USE_WG)
        wyn_wg_done(&round_wg);
}

static void leaf_done(void *arg)
{
    finish((uintptr_t)arg);
}

/* arg: the kind of work (0 nothing, 1 yield, 2 short sleep, 3 spawn a child). */
static void leaf(void *arg)
{
    uintptr_t kind = (uintptr_t)arg & 3, r = ((uintptr_t)arg & (USE_WG - 1)) >> 2;
    switch (kind) {
    case 1:
        for (int i = 0; i < 3; i++)
            wyn_yield();
        break;
    case 2:
        CHECK_EQ(wyn_sleep((int64_t)(r % 200) * 1000), 0);
        break;
    case 3:
        CHECK_EQ(wyn_spawn(leaf_done, (void *)((uintptr_t)arg & USE_WG)), 0);
        break;
    }
    finish((uintptr_t)arg);
}

/* Spawn a burst of k (<= 8) leaves; returns how many completions to expect.
 * With use_wg, round_wg is raised by that number before the first spawn. */
static long burst(uint64_t *rs, long k, bool use_wg)
{
    uintptr_t args[8];
    long expect = 0;
    for (long i = 0; i < k; i++) {
        uintptr_t r = (uintptr_t)rng_next(rs);
        uintptr_t kind = r % 4;
        args[i] = ((r >> 8) % 1000) << 2 | kind | (use_wg ? USE_WG : 0);
        expect += kind == 3 ? 2 : 1;
    }
    if (use_wg)
        wyn_wg_add(&round_wg, expect);
    for (long i = 0; i < k; i++)
        CHECK_EQ(wyn_spawn(leaf, (void *)args[i]), 0);
    return expect;
}

/* Plain thread: wait (without calling wyn) until done_count reaches target. */
static void thread_wait(long target, long round, const char *what)
{
    int64_t deadline = wyn_now() + ROUND_DEADLINE_NS;
    while (atomic_load(&done_count) < target) {
        if (wyn_now() > deadline) {
            fprintf(stderr, "%s round %ld did not finish in 10 s: %ld of %ld done\n", what, round,
                    (long)atomic_load(&done_count), target);
            CHECK(!"lost wake-up");
        }
        nap_ns(20000);
    }
}

static _Atomic long driver_round;
static long         driver_rounds;

/* Part B: bursts from a coroutine that has just woken from a timer. */
static void driver(void *arg)
{
    (void)arg;
    uint64_t rs = 0x1234567887654321ull;
    unsigned workers = test_workers();
    long target = atomic_load(&done_count);
    for (long r = 0; r < driver_rounds; r++) {
        uint64_t g = rng_next(&rs);
        int64_t gaps[] = {0, 2000, 30000, 200000, 700000};
        CHECK_EQ(wyn_sleep(gaps[g % 5]), 0);
        target += burst(&rs, 1 + (long)((g >> 8) % 8), false);
        /* Spin without switching only when another worker can take the burst. */
        bool spin = workers >= 2 && (g >> 16) % 2 == 0;
        int64_t deadline = wyn_now() + ROUND_DEADLINE_NS;
        while (atomic_load(&done_count) < target) {
            if (wyn_now() > deadline) {
                fprintf(stderr, "coroutine round %ld (%s) did not finish in 10 s: %ld of %ld\n", r,
                        spin ? "spinning" : "sleeping", (long)atomic_load(&done_count), target);
                CHECK(!"lost wake-up");
            }
            if (spin)
                __builtin_ia32_pause();
            else
                CHECK_EQ(wyn_sleep(10000), 0);
        }
        atomic_store(&driver_round, r + 1);
    }
}

int main(void)
{
    setenv("WYN_MONITOR", "off", 1);
    CHECK_EQ(wyn_start(NULL), 0);

    /* A: bursts from a plain thread after a random gap. */
    uint64_t rs = 0x9E3779B97F4A7C15ull;
    long rounds = scaled(3000, 300), target = 0;
    long gaps[] = {0, 0, 5000, 50000, 300000, 1000000};
    for (long r = 0; r < rounds; r++) {
        uint64_t g = rng_next(&rs);
        nap_ns(gaps[g % 6]);
        /* Every other round the plain thread blocks in wyn_wg_wait (its own
         * futex wake-up path) instead of polling the counter. */
        bool use_wg = r % 2;
        target += burst(&rs, 1 + (long)((g >> 8) % 8), use_wg);
        if (use_wg) {
            int rc = wyn_wg_wait(&round_wg, wyn_deadline(ROUND_DEADLINE_NS));
            if (rc != 0) {
                fprintf(stderr, "plain-thread wg round %ld did not finish in 10 s: %s, %ld of %ld\n",
                        r, wyn_strerror(rc), (long)atomic_load(&done_count), target);
                CHECK(!"lost wake-up");
            }
        }
        thread_wait(target, r, "plain-thread");
    }

    /* B: bursts from a coroutine; the plain thread watches its progress. */
    driver_rounds = scaled(2000, 200);
    wyn_co *h;
    CHECK_EQ(wyn_spawn_ex(driver, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    long last = -1;
    int64_t last_change = wyn_now();
    for (;;) {
        int rc = wyn_join(h, wyn_deadline(50 * 1000 * 1000));
        if (rc == 0)
            break;
        CHECK_EQ(rc, -ETIMEDOUT);
        long now_round = atomic_load(&driver_round);
        if (now_round != last) {
            last = now_round;
            last_change = wyn_now();
        } else if (wyn_now() - last_change > 2 * ROUND_DEADLINE_NS) {
            fprintf(stderr, "driver stuck in round %ld (its own wake-up was lost)\n", now_round);
            CHECK(!"lost wake-up of the driver");
        }
    }
    CHECK_EQ(atomic_load(&driver_round), driver_rounds);

    CHECK_EQ(wyn_stop(WYN_FOREVER), 0);
    wyn_stats st;
    wyn_stats_get(&st);
    CHECK_EQ(st.alive, 0);
    CHECK_EQ(st.spawned, st.finished);
    printf("ok: %ld + %ld rounds, %" PRIu64 " parks, %" PRIu64 " steals\n", rounds, driver_rounds,
           st.parks, st.steals);
    return 0;
}
