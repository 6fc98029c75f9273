/* teardown: the runtime's life cycle (API.md, Runtime).
 *
 * Hunts: coroutines left blocked when main returns that are leaked instead of
 * abandoned (stats: alive != 0, spawned != finished + abandoned, or stacks not
 * all back: stacks_pooled != stacks_mapped; the runtime also aborts itself on
 * leaked stacks), a shutdown that hangs on a coroutine sleeping forever, in a
 * join, on a long timer or yielding in a loop; wyn_spawn accepted after main
 * returned (must be -ESRCH); a runtime that cannot start again; the error
 * codes of the life-cycle calls (wyn_start twice -EBUSY, wyn_run while one
 * exists -EBUSY, wyn_stop from a coroutine -EDEADLK, with no runtime -ESRCH,
 * with a passed deadline while a coroutine sleeps 200 ms -ETIMEDOUT and the
 * runtime still usable, then 0); and wyn_stop not waiting for spawns made
 * while it waits. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

static _Atomic long started, finished_count;

static void sleep_forever(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    wyn_sleep_until(WYN_FOREVER);
    CHECK(!"an abandoned coroutine was resumed");
}

static void sleep_long(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    wyn_sleep(60LL * 1000 * 1000 * 1000);
    CHECK(!"an abandoned coroutine was resumed");
}

static void join_forever(void *arg)
{
    (void)arg;
    wyn_co *h;
    CHECK_EQ(wyn_spawn_ex(sleep_forever, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    atomic_fetch_add(&started, 1);
    wyn_join(h, WYN_FOREVER);
    CHECK(!"an abandoned coroutine was resumed");
}

static _Atomic int stop_yielders;

static void yield_forever(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&stop_yielders))
        wyn_yield();
}

static void add_one(void *arg)
{
    (void)arg;
    atomic_fetch_add(&finished_count, 1);
}

/* Stacks: with only main running and nothing else alive, every stack but
 * main's is pooled (a finished coroutine's stack goes back right after its
 * switch away, so poll briefly). */
static void check_stacks_quiet(void)
{
    wyn_stats st;
    int64_t deadline = wyn_deadline(10LL * 1000 * 1000 * 1000);
    for (;;) {
        wyn_stats_get(&st);
        if (st.alive == 1 && st.stacks_pooled + 1 == st.stacks_mapped)
            break;
        if (wyn_now() > deadline) {
            fprintf(stderr, "alive %" PRIu64 ", stacks pooled %" PRIu64 " of %" PRIu64 "\n",
                    st.alive, st.stacks_pooled, st.stacks_mapped);
            CHECK(!"stacks not back in the pools with only main alive");
        }
        wyn_sleep(1000 * 1000);
    }
}

static long n_abandon;

/* wyn_start and wyn_run from a plain thread while wyn_run's runtime exists:
 * -EBUSY at once (a runtime that holds its life-cycle lock for the whole run
 * would block them forever, so watch with a deadline instead of hanging). */
static _Atomic int busy_start_rc = 1, busy_run_rc = 1;

static void *busy_thread(void *arg)
{
    (void)arg;
    atomic_store(&busy_start_rc, wyn_start(NULL));
    atomic_store(&busy_run_rc, wyn_run(add_one, NULL, NULL));
    return NULL;
}

static void busy_from_plain_thread(void)
{
    atomic_store(&busy_start_rc, 1);
    atomic_store(&busy_run_rc, 1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, busy_thread, NULL) == 0);
    int64_t deadline = wyn_deadline(10LL * 1000 * 1000 * 1000);
    while (atomic_load(&busy_run_rc) == 1) {
        if (wyn_now() > deadline) {
            fprintf(stderr, "wyn_%s from a plain thread during wyn_run did not return in 10 s\n",
                    atomic_load(&busy_start_rc) == 1 ? "start" : "run");
            CHECK(!"life-cycle call blocked while a wyn_run runtime exists");
        }
        wyn_sleep(1000 * 1000);
    }
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(atomic_load(&busy_start_rc), -EBUSY);
    CHECK_EQ(atomic_load(&busy_run_rc), -EBUSY);
}

static void abandon_main(void *arg)
{
    (void)arg;
    CHECK_EQ(wyn_stop(0), -EDEADLK);
    CHECK_EQ(wyn_stop(WYN_FOREVER), -EDEADLK);
    CHECK_EQ(wyn_run(add_one, NULL, NULL), -EBUSY);
    busy_from_plain_thread();

    /* some work that finishes, joined and detached */
    long n = scaled(10000, 500);
    for (long i = 0; i < n; i++)
        CHECK_EQ(wyn_spawn(add_one, NULL), 0);
    while (atomic_load(&finished_count) < n)
        wyn_sleep(100 * 1000);
    check_stacks_quiet();

    /* then coroutines that will still be blocked when main returns */
    atomic_store(&started, 0);
    atomic_store(&stop_yielders, 0);
    long per = scaled(200, 20), expect_started = 0;
    for (long i = 0; i < per; i++) {
        CHECK_EQ(wyn_spawn(sleep_forever, NULL), 0);
        CHECK_EQ(wyn_spawn(sleep_long, NULL), 0);
        CHECK_EQ(wyn_spawn(join_forever, NULL), 0);   /* + the sleeper it joins */
        expect_started += 4;
        /* joinable and never joined: the handle dies with the runtime */
        wyn_co *h;
        CHECK_EQ(wyn_spawn_ex(sleep_forever, NULL, &(wyn_spawn_opts){.join = &h}), 0);
        expect_started += 1;
    }
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(wyn_spawn(yield_forever, NULL), 0);
        expect_started += 1;
    }
    n_abandon = expect_started;
    while (atomic_load(&started) < expect_started)
        wyn_sleep(100 * 1000);
    /* and a few spawned but perhaps never started */
    for (int i = 0; i < 10; i++)
        CHECK_EQ(wyn_spawn(add_one, NULL), 0);
    wyn_stats st;
    wyn_stats_get(&st);
    CHECK(st.alive >= (uint64_t)expect_started + 1);
    CHECK(st.stacks_pooled <= st.stacks_mapped);
}

static void check_final(uint64_t min_abandoned, uint64_t max_abandoned)
{
    wyn_stats st, again;
    wyn_stats_get(&st);
    CHECK_EQ(st.alive, 0);
    CHECK_EQ(st.spawned, st.finished + st.abandoned);
    CHECK_EQ(st.stacks_pooled, st.stacks_mapped);
    if (st.abandoned < min_abandoned || st.abandoned > max_abandoned) {
        fprintf(stderr, "abandoned %" PRIu64 ", expected %" PRIu64 "..%" PRIu64 "\n", st.abandoned,
                min_abandoned, max_abandoned);
        CHECK(!"wrong abandoned count");
    }
    wyn_stats_get(&again);
    CHECK(memcmp(&st, &again, sizeof st) == 0);   /* final figures stay put */
}

/* ---- embedding: wyn_start / wyn_stop ------------------------------------- */

static void sleep_200ms(void *arg)
{
    (void)arg;
    CHECK_EQ(wyn_sleep(200LL * 1000 * 1000), 0);
    atomic_fetch_add(&finished_count, 1);
}

static void try_stop(void *arg)
{
    (void)arg;
    CHECK_EQ(wyn_stop(0), -EDEADLK);
    CHECK_EQ(wyn_stop(WYN_FOREVER), -EDEADLK);
    atomic_fetch_add(&finished_count, 1);
}

/* Spawns a chain: each link sleeps a little and spawns the next, so spawns
 * keep happening while wyn_stop waits. */
static void chain(void *arg)
{
    long left = (long)(intptr_t)arg;
    wyn_sleep(1000 * 1000);
    atomic_fetch_add(&finished_count, 1);
    if (left > 0)
        CHECK_EQ(wyn_spawn(chain, (void *)(intptr_t)(left - 1)), 0);
}

static void embedded(void)
{
    CHECK_EQ(wyn_stop(0), -ESRCH);
    CHECK_EQ(wyn_start(NULL), 0);
    CHECK_EQ(wyn_start(NULL), -EBUSY);
    CHECK_EQ(wyn_run(add_one, NULL, NULL), -EBUSY);

    /* wyn_stop from a coroutine */
    atomic_store(&finished_count, 0);
    wyn_co *h;
    CHECK_EQ(wyn_spawn_ex(try_stop, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&finished_count), 1);

    /* a passed deadline while a coroutine sleeps 200 ms */
    atomic_store(&finished_count, 0);
    CHECK_EQ(wyn_spawn(sleep_200ms, NULL), 0);
    CHECK_EQ(wyn_stop(0), -ETIMEDOUT);
    CHECK_EQ(wyn_stop(wyn_deadline(1000 * 1000)), -ETIMEDOUT);
    /* still running: spawns work and run */
    CHECK_EQ(wyn_spawn(add_one, NULL), 0);
    CHECK_EQ(wyn_stop(-5), -EINVAL);
    CHECK_EQ(wyn_stop(WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&finished_count), 2);   /* the sleeper finished: stop waited */
    check_final(0, 0);
    CHECK_EQ(wyn_spawn(add_one, NULL), -ESRCH);
    CHECK_EQ(wyn_stop(WYN_FOREVER), -ESRCH);

    /* stop waits for spawns made while it waits */
    CHECK_EQ(wyn_start(NULL), 0);
    atomic_store(&finished_count, 0);
    long links = 50;
    CHECK_EQ(wyn_spawn(chain, (void *)(intptr_t)(links - 1)), 0);
    CHECK_EQ(wyn_stop(WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&finished_count), links);
    check_final(0, 0);
}

int main(void)
{
    CHECK_EQ(wyn_spawn(add_one, NULL), -ESRCH);
    for (int round = 0; round < 3; round++) {   /* a runtime can start again, repeatedly */
        atomic_store(&finished_count, 0);
        test_run(abandon_main, NULL);
        /* every blocked coroutine, maybe some of the 10 late spawns; yielders
         * may have been abandoned between rounds too */
        check_final((uint64_t)n_abandon, (uint64_t)n_abandon + 10);
        CHECK_EQ(wyn_spawn(add_one, NULL), -ESRCH);
        CHECK_EQ(wyn_stop(0), -ESRCH);
        embedded();
    }
    printf("ok\n");
    return 0;
}
