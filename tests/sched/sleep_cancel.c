/* sleep_cancel: sleeps, deadlines and cancellation (API.md: Conventions,
 * Coroutines, Cancellation). No speed is asserted: a wake-up must never come
 * before its deadline and must come within a generous 2 s after it.
 *
 * Hunts: a sleep that returns early (timer heap ordering, a deadline compared
 * with the wrong clock or sign); a lost timer among thousands (a sleeper that
 * never wakes: the run stalls and a "sleepers woke" check fails after 60 s);
 * wyn_deadline overflowing instead of saturating; bad deadline validation
 * (wyn_sleep_until(-5) must be -EINVAL); a cancel that does not wake a
 * sleeping coroutine, wakes it with the wrong code, is forgotten by later
 * waits (they must fail at once with -ECANCELED), or breaks wyn_join of the
 * cancelled coroutine; a cancel of a finished, unjoined coroutine that is not
 * a harmless 0; a join that times out or is cancelled and loses the handle;
 * wyn_sleep from a plain thread (wyn_start) not working. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

#define LATE_MAX (2000 * MS)

static void check_not_early(int64_t deadline, int64_t woke, const char *what)
{
    if (woke < deadline) {
        fprintf(stderr, "%s woke %" PRId64 " ns before its deadline\n", what, deadline - woke);
        CHECK(!"woke before the deadline");
    }
    if (woke - deadline > LATE_MAX) {
        fprintf(stderr, "%s woke %" PRId64 " ms after its deadline\n", what,
                (long)((woke - deadline) / MS));
        CHECK(!"woke more than 2 s late");
    }
}

/* ---- deadlines and argument checks ---------------------------------------- */

static void deadlines(void)
{
    CHECK_EQ(wyn_deadline(INT64_MAX), INT64_MAX);
    CHECK_EQ(wyn_deadline(INT64_MAX - 1), INT64_MAX);
    CHECK_EQ(wyn_deadline(0), 0);
    CHECK_EQ(wyn_deadline(-1), 0);
    CHECK_EQ(wyn_deadline(INT64_MIN), 0);
    int64_t before = wyn_now();
    int64_t d = wyn_deadline(5 * MS);
    CHECK(d >= before + 5 * MS);
    CHECK(wyn_now() >= before);
    CHECK_EQ(wyn_sleep_until(-5), -EINVAL);
    CHECK_EQ(wyn_sleep_until(INT64_MIN), -EINVAL);
    CHECK_EQ(wyn_sleep_until(0), 0);                 /* passed: no wait */
    CHECK_EQ(wyn_sleep_until(before), 0);
    CHECK_EQ(wyn_sleep(0), 0);
    CHECK_EQ(wyn_sleep(-5), 0);                      /* relative <= 0: no wait */
    int64_t t0 = wyn_now();
    CHECK_EQ(wyn_sleep(3 * MS), 0);
    check_not_early(t0 + 3 * MS, wyn_now(), "wyn_sleep(3 ms)");
    d = wyn_deadline(2 * MS);
    CHECK_EQ(wyn_sleep_until(d), 0);
    check_not_early(d, wyn_now(), "wyn_sleep_until");
}

/* ---- many concurrent sleepers --------------------------------------------- */

static _Atomic long sleepers_woke;
static _Atomic long wake_order;

struct sleeper_arg {
    int64_t deadline;
    long   *order_out;
};

static void sleeper(void *argp)
{
    struct sleeper_arg *a = argp;
    CHECK_EQ(wyn_sleep_until(a->deadline), 0);
    check_not_early(a->deadline, wyn_now(), "a sleeper");
    if (a->order_out)
        *a->order_out = atomic_fetch_add(&wake_order, 1);
    atomic_fetch_add(&sleepers_woke, 1);
}

static void many_sleepers(void)
{
    long n = scaled(5000, 500);
    uint64_t rs = 0xC0FFEE1234567ull;
    atomic_store(&sleepers_woke, 0);
    for (long i = 0; i < n; i++) {
        struct sleeper_arg a = {wyn_deadline((int64_t)(rng_next(&rs) % (50 * MS)) + 1), NULL};
        CHECK_EQ(wyn_spawn_ex(sleeper, NULL, &(wyn_spawn_opts){.arg_copy = &a, .arg_size = sizeof a}),
                 0);
    }
    int64_t give_up = wyn_deadline(60LL * 1000 * MS);
    while (atomic_load(&sleepers_woke) < n) {
        if (wyn_now() > give_up) {
            fprintf(stderr, "%ld of %ld sleepers woke in 60 s\n", (long)atomic_load(&sleepers_woke),
                    n);
            CHECK(!"sleepers woke");
        }
        CHECK_EQ(wyn_sleep(MS), 0);
    }
    printf("many_sleepers: %ld woke\n", n);
}

/* Ordering: three sleepers 3 ms apart, spawned in reverse order. Each must
 * not wake before its own deadline (checked in sleeper); the wake order is
 * printed, not asserted: an inversion only means one was late by >= 3 ms,
 * and lateness within 2 s is all the test asserts. */
static void ordering(void)
{
    enum { K = 3 };
    long order[K];
    wyn_co *h[K];
    atomic_store(&wake_order, 0);
    int64_t base = wyn_deadline(5 * MS);
    for (int i = K - 1; i >= 0; i--) {
        struct sleeper_arg a = {base + i * 3 * MS, &order[i]};
        CHECK_EQ(wyn_spawn_ex(sleeper, NULL,
                              &(wyn_spawn_opts){.arg_copy = &a, .arg_size = sizeof a, .join = &h[i]}),
                 0);
    }
    for (int i = 0; i < K; i++)
        CHECK_EQ(wyn_join(h[i], WYN_FOREVER), 0);
    printf("ordering: woke as %ld %ld %ld (deadline order is 0 1 2)\n", order[0], order[1],
           order[2]);
}

/* ---- cancellation ------------------------------------------------------------ */

static _Atomic int cancel_stage;
static int         shared_plain;   /* written before wyn_cancel, read after -ECANCELED */
static int64_t     cancelled_at;

static void long_sleeper(void *arg)
{
    (void)arg;
    CHECK_EQ(wyn_cancelled(), 0);
    atomic_store(&cancel_stage, 1);
    int rc = wyn_sleep(60LL * 1000 * MS);
    int64_t woke = wyn_now();
    CHECK_EQ(rc, -ECANCELED);
    CHECK_EQ(shared_plain, 42);   /* wyn_cancel happens before the -ECANCELED */
    CHECK(woke - cancelled_at < LATE_MAX);
    CHECK_EQ(wyn_cancelled(), 1);
    /* later waits fail at once, even long ones and FOREVER */
    int64_t t0 = wyn_now();
    CHECK_EQ(wyn_sleep(60LL * 1000 * MS), -ECANCELED);
    CHECK_EQ(wyn_sleep_until(WYN_FOREVER), -ECANCELED);
    CHECK_EQ(wyn_sleep_until(wyn_deadline(60LL * 1000 * MS)), -ECANCELED);
    CHECK(wyn_now() - t0 < LATE_MAX);
    /* ... but a sleep that needs no wait completes (API.md), as wyn_sleep(0) does */
    CHECK_EQ(wyn_sleep_until(0), 0);
    CHECK_EQ(wyn_sleep_until(wyn_now() - 1), 0);
    CHECK_EQ(wyn_sleep(0), 0);
    CHECK_EQ(wyn_cancelled(), 1);
    wyn_yield();   /* yield is not a wait: fine */
    CHECK_EQ(wyn_cancelled(), 1);
    atomic_store(&cancel_stage, 2);
}

/* Spawned and cancelled at once: at 1 worker it cannot have started (the
 * spawner did not switch); at more it may already be running or asleep. */
static void cancelled_before_start(void *arg)
{
    (void)arg;
    if (test_workers() == 1)
        CHECK_EQ(wyn_cancelled(), 1);
    CHECK_EQ(wyn_sleep(60LL * 1000 * MS), -ECANCELED);
    CHECK_EQ(wyn_cancelled(), 1);
}

static void quick(void *arg) { (void)arg; }

static _Atomic int joiner_rc = 1;

static void joiner(void *arg)
{
    wyn_co *target = arg;
    atomic_store(&joiner_rc, 2);
    atomic_store(&joiner_rc, wyn_join(target, WYN_FOREVER));
}

static void cancellation(void)
{
    /* a sleeping coroutine */
    wyn_co *h;
    atomic_store(&cancel_stage, 0);
    shared_plain = 0;
    CHECK_EQ(wyn_spawn_ex(long_sleeper, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    while (atomic_load(&cancel_stage) < 1)
        CHECK_EQ(wyn_sleep(MS), 0);
    CHECK_EQ(wyn_sleep(5 * MS), 0);   /* most likely asleep by now; either way works */
    shared_plain = 42;
    cancelled_at = wyn_now();
    CHECK_EQ(wyn_cancel(h), 0);
    CHECK_EQ(wyn_cancel(h), 0);   /* twice: harmless */
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&cancel_stage), 2);
    CHECK_EQ(wyn_cancelled(), 0);   /* the canceller is not cancelled */

    /* cancelled before it ever ran */
    CHECK_EQ(wyn_spawn_ex(cancelled_before_start, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    CHECK_EQ(wyn_cancel(h), 0);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);

    /* finished but not joined: cancel does nothing, join still works */
    CHECK_EQ(wyn_spawn_ex(quick, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    CHECK_EQ(wyn_sleep(5 * MS), 0);
    CHECK_EQ(wyn_cancel(h), 0);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
    CHECK_EQ(wyn_cancel(NULL), -EINVAL);

    /* join timing out keeps the handle */
    int64_t nap = 60LL * 1000 * MS;
    wyn_co *s;
    CHECK_EQ(wyn_spawn_ex(sleeper, NULL,
                          &(wyn_spawn_opts){.arg_copy = &(struct sleeper_arg){wyn_deadline(nap), NULL},
                                            .arg_size = sizeof(struct sleeper_arg),
                                            .join = &s}),
             0);
    CHECK_EQ(wyn_join(s, 0), -ETIMEDOUT);
    int64_t d = wyn_deadline(2 * MS);
    CHECK_EQ(wyn_join(s, d), -ETIMEDOUT);
    check_not_early(d, wyn_now(), "wyn_join with a deadline");

    /* a cancelled joiner: -ECANCELED, and the handle is still ours */
    wyn_co *j;
    atomic_store(&joiner_rc, 1);
    CHECK_EQ(wyn_spawn_ex(joiner, s, &(wyn_spawn_opts){.join = &j}), 0);
    while (atomic_load(&joiner_rc) == 1)
        CHECK_EQ(wyn_sleep(MS), 0);
    CHECK_EQ(wyn_sleep(2 * MS), 0);
    CHECK_EQ(wyn_cancel(j), 0);
    CHECK_EQ(wyn_join(j, WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&joiner_rc), -ECANCELED);
    CHECK_EQ(wyn_join(s, 0), -ETIMEDOUT);   /* still joinable, still asleep */

    /* Now end the sleeper early: its sleep returns -ECANCELED, which the
     * sleeper treats as a failure, so give it a fresh deadline instead:
     * cancel a second long sleeper and check join returns 0. */
    wyn_co *ls;
    atomic_store(&cancel_stage, 0);
    CHECK_EQ(wyn_spawn_ex(long_sleeper, NULL, &(wyn_spawn_opts){.join = &ls}), 0);
    while (atomic_load(&cancel_stage) < 1)
        CHECK_EQ(wyn_sleep(MS), 0);
    cancelled_at = wyn_now();
    CHECK_EQ(wyn_cancel(ls), 0);
    CHECK_EQ(wyn_join(ls, WYN_FOREVER), 0);
    /* `s` sleeps 60 s; it is left to be abandoned when main returns. */
    wyn_detach(s);
}

/* ---- plain threads sleeping --------------------------------------------- */

static void *thread_sleeper(void *arg)
{
    uint64_t rs = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    CHECK_EQ(wyn_self(), 0);
    CHECK_EQ(wyn_cancelled(), 0);
    CHECK_EQ(wyn_sleep_until(-5), -EINVAL);
    CHECK_EQ(wyn_sleep_until(0), 0);
    for (int i = 0; i < 20; i++) {
        int64_t d = wyn_deadline((int64_t)(rng_next(&rs) % (5 * MS)) + 1);
        CHECK_EQ(wyn_sleep_until(d), 0);
        check_not_early(d, wyn_now(), "a plain thread's wyn_sleep_until");
        int64_t t0 = wyn_now();
        CHECK_EQ(wyn_sleep(MS), 0);
        check_not_early(t0 + MS, wyn_now(), "a plain thread's wyn_sleep");
    }
    return NULL;
}

static void plain_threads(void)
{
    CHECK_EQ(wyn_start(NULL), 0);
    /* coroutines sleep at the same time, sharing the timers */
    long n = scaled(1000, 100);
    uint64_t rs = 77;
    atomic_store(&sleepers_woke, 0);
    for (long i = 0; i < n; i++) {
        struct sleeper_arg a = {wyn_deadline((int64_t)(rng_next(&rs) % (30 * MS)) + 1), NULL};
        CHECK_EQ(wyn_spawn_ex(sleeper, NULL, &(wyn_spawn_opts){.arg_copy = &a, .arg_size = sizeof a}),
                 0);
    }
    enum { T = 4 };
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        CHECK(pthread_create(&th[i], NULL, thread_sleeper, (void *)(uintptr_t)(i + 1)) == 0);
    thread_sleeper((void *)(uintptr_t)99);   /* the main thread too */
    for (int i = 0; i < T; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK_EQ(wyn_stop(WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&sleepers_woke), n);
    printf("plain_threads: ok\n");
}

static void body(void *arg)
{
    (void)arg;
    deadlines();
    ordering();
    cancellation();
    many_sleepers();
}

int main(void)
{
    CHECK_EQ(wyn_cancelled(), 0);
    test_run(body, NULL);
    wyn_stats st;
    wyn_stats_get(&st);
    CHECK_EQ(st.abandoned, 1);   /* the 60 s sleeper */
    plain_threads();
    printf("ok\n");
    return 0;
}
