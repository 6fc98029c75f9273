/* waitgroup_test.c — wyn_wg.
 *
 * Port of Go's src/sync/waitgroup_test.go (go1.19): TestWaitGroup,
 * TestWaitGroupMisuse ("negative WaitGroup counter", as a death test),
 * TestWaitGroupRace and TestWaitGroupAlign.
 *
 * Beyond Go, the contract of docs/api.md: wg_wait deadlines (a zero counter
 * never waits, a timed-out waiter leaves the others to be woken), cancellation
 * (-ECANCELED; afterwards a wait on a zero counter still completes), a negative
 * delta that brings the counter to zero releases waiters, the memory model
 * (wg_done -> the wait it releases), and stress tests for lost wake-ups and
 * reuse across rounds. */
#include <stdatomic.h>

#include "test.h"






/* ---- Go: TestWaitGroup ---------------------------------------------------- */

struct tw {
    wyn_wg *wg1, *wg2;
    wyn_chan *exited;
};

static void tw_body(void *arg)
{
    struct tw *t = arg;
    wyn_wg_done(t->wg1);
    CHECK_EQ(wyn_wg_wait(t->wg2, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_send(t->exited, NULL, WYN_FOREVER), 0);
}

static void test_wait_group_round(wyn_wg *wg1, wyn_wg *wg2)
{
    int n = 16;
    wyn_wg_add(wg1, n);
    wyn_wg_add(wg2, n);
    struct tw t = {wg1, wg2, wyn_chan_make(0, (size_t)n)};
    CHECK(t.exited != NULL);
    for (int i = 0; i != n; i++)
        CHECK_EQ(wyn_spawn(tw_body, &t), 0);
    CHECK_EQ(wyn_wg_wait(wg1, watchdog()), 0);
    for (int i = 0; i != n; i++) {
        /* "WaitGroup released group too soon" */
        CHECK_EQ(wyn_chan_recv(t.exited, NULL, 0), -ETIMEDOUT);
        wyn_wg_done(wg2);
    }
    for (int i = 0; i != n; i++)
        CHECK_EQ(wyn_chan_recv(t.exited, NULL, watchdog()), 0); /* blocks if barrier fails */
    wyn_chan_free(t.exited);
}

static void test_wait_group(void)
{
    wyn_wg wg1 = {0}, wg2 = {0};
    /* Run the same test a few times to ensure barrier is in a proper state. */
    for (int i = 0; i != 8; i++)
        test_wait_group_round(&wg1, &wg2);
}

/* ---- Go: TestWaitGroupRace ------------------------------------------------ */

struct wr {
    wyn_wg wg;
    atomic_int n;
};

static void wr_body(void *arg)
{
    struct wr *w = arg;
    atomic_fetch_add(&w->n, 1);
    wyn_wg_done(&w->wg);
}

static void test_wait_group_race(void)
{
    long iters = scaled(1000, 50);
    for (long i = 0; i < iters; i++) {
        struct wr w = {0};
        wyn_wg_add(&w.wg, 1); /* spawn goroutine 1 */
        CHECK_EQ(wyn_spawn(wr_body, &w), 0);
        wyn_wg_add(&w.wg, 1); /* spawn goroutine 2 */
        CHECK_EQ(wyn_spawn(wr_body, &w), 0);
        CHECK_EQ(wyn_wg_wait(&w.wg, watchdog()), 0);
        CHECK_EQ(atomic_load(&w.n), 2); /* "Spurious wakeup from Wait" */
    }
}

/* ---- Go: TestWaitGroupAlign ----------------------------------------------- */

struct align_x {
    char x;
    wyn_wg wg;
};

static void align_body(void *arg) { wyn_wg_done(&((struct align_x *)arg)->wg); }

static void test_wait_group_align(void)
{
    struct align_x x = {0};
    wyn_wg_add(&x.wg, 1);
    CHECK_EQ(wyn_spawn(align_body, &x), 0);
    CHECK_EQ(wyn_wg_wait(&x.wg, watchdog()), 0);
}

/* ---- deadlines ------------------------------------------------------------ */

struct waiter {
    wyn_wg *wg;
    int64_t deadline;
    int rc;
    atomic_int started;
};

static void waiter_body(void *arg)
{
    struct waiter *w = arg;
    atomic_store(&w->started, 1);
    w->rc = wyn_wg_wait(w->wg, w->deadline);
}

/* timed_out_waiter_strands_others: three waiters, the middle one with a short
 * deadline. It times out; then the counter drops to zero. A runtime that
 * corrupts the waiter list when unlinking a timed-out waiter (or counts it as
 * still waiting) loses the others' wake-ups. */
static void test_wg_deadlines(void)
{
    wyn_wg wg = {0};
    CHECK_EQ(wyn_wg_wait(&wg, 0), 0); /* zero counter: never waits */
    CHECK_EQ(wyn_wg_wait(&wg, WYN_FOREVER), 0);
    CHECK_EQ(wyn_wg_wait(&wg, -2), -EINVAL);
    wyn_wg_add(&wg, 2);
    CHECK_EQ(wyn_wg_wait(&wg, 0), -ETIMEDOUT);
    int64_t d = wyn_deadline(3 * MS);
    CHECK_EQ(wyn_wg_wait(&wg, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    CHECK_EQ(wyn_wg_wait(&wg, -2), -EINVAL);

    struct waiter w[3] = {{&wg, WYN_FOREVER, 1, 0}, {&wg, wyn_deadline(20 * MS), 1, 0},
                          {&wg, WYN_FOREVER, 1, 0}};
    w[0].deadline = watchdog();
    w[2].deadline = watchdog();
    wyn_co *h[3];
    for (int i = 0; i < 3; i++) {
        h[i] = go_join(waiter_body, &w[i]);
        await_flag(&w[i].started, 1);
        wyn_sleep(1 * MS);
    }
    join_ok(h[1]);
    CHECK_EQ(w[1].rc, -ETIMEDOUT);
    wyn_wg_done(&wg);
    wyn_sleep(2 * MS);
    CHECK_EQ(wyn_wg_wait(&wg, 0), -ETIMEDOUT); /* one left */
    wyn_wg_done(&wg);
    join_ok(h[0]);
    join_ok(h[2]);
    CHECK_EQ(w[0].rc, 0);
    CHECK_EQ(w[2].rc, 0);
    CHECK_EQ(wyn_wg_wait(&wg, 0), 0);
}

/* A negative delta that reaches zero releases the waiters, like Done. */
static void test_wg_add_negative_releases(void)
{
    wyn_wg wg = {0};
    wyn_wg_add(&wg, 5);
    struct waiter w[4];
    wyn_co *h[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct waiter){&wg, watchdog(), 1, 0};
        h[i] = go_join(waiter_body, &w[i]);
    }
    wyn_sleep(1 * MS);
    wyn_wg_add(&wg, -3);
    CHECK_EQ(wyn_wg_wait(&wg, 0), -ETIMEDOUT);
    wyn_wg_add(&wg, -2);
    for (int i = 0; i < 4; i++) {
        join_ok(h[i]);
        CHECK_EQ(w[i].rc, 0);
    }
    wyn_wg_add(&wg, 0); /* a zero delta is no misuse */
    CHECK_EQ(wyn_wg_wait(&wg, 0), 0);
}

/* ---- cancellation --------------------------------------------------------- */

struct wcancel {
    wyn_wg wg;
    atomic_int stage;
    int rc_blocked, rc_try, rc_zero;
};

static void wcancel_victim(void *arg)
{
    struct wcancel *c = arg;
    atomic_store(&c->stage, 1);
    c->rc_blocked = wyn_wg_wait(&c->wg, WYN_FOREVER);
    c->rc_try = wyn_wg_wait(&c->wg, 0); /* would wait: -ECANCELED even at deadline 0 */
    atomic_store(&c->stage, 2);
    while (atomic_load(&c->stage) < 3)
        wyn_yield();
    c->rc_zero = wyn_wg_wait(&c->wg, WYN_FOREVER); /* counter zero: completes */
}

static void test_wg_cancel(void)
{
    struct wcancel c = {0};
    wyn_wg_add(&c.wg, 1);
    wyn_co *h = go_join(wcancel_victim, &c);
    await_flag(&c.stage, 1);
    wyn_sleep(2 * MS);
    CHECK_EQ(wyn_cancel(h), 0);
    await_flag(&c.stage, 2);
    CHECK_EQ(c.rc_blocked, -ECANCELED);
    CHECK_EQ(c.rc_try, -ECANCELED);
    CHECK_EQ(wyn_wg_wait(&c.wg, 0), -ETIMEDOUT); /* no effect on the counter */
    wyn_wg_done(&c.wg);
    atomic_store(&c.stage, 3);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
    CHECK_EQ(c.rc_zero, 0);
}

/* ---- memory model --------------------------------------------------------- */

/* wg_done -> the wait it releases: each worker writes its own plain slot,
 * then calls done; the waiter reads every slot after wait returns. */
struct mm {
    wyn_wg wg;
    long slots[64];
};

struct mm_arg {
    struct mm *m;
    int i;
};

static void mm_body(void *arg)
{
    struct mm_arg *a = arg;
    if (a->i % 3 == 0)
        wyn_yield();
    a->m->slots[a->i] = 1000 + a->i;
    wyn_wg_done(&a->m->wg);
}

static void test_wg_memory_model(void)
{
    for (int round = 0; round < 50; round++) {
        struct mm m = {0};
        wyn_wg_add(&m.wg, 64);
        for (int i = 0; i < 64; i++) {
            struct mm_arg a = {&m, i};
            wyn_spawn_opts o = {0};
            o.arg_copy = &a;
            o.arg_size = sizeof a;
            CHECK_EQ(wyn_spawn_ex(mm_body, NULL, &o), 0);
        }
        CHECK_EQ(wyn_wg_wait(&m.wg, watchdog()), 0);
        for (int i = 0; i < 64; i++)
            CHECK_EQ(m.slots[i], 1000 + i);
    }
}

/* ---- stress: reuse across rounds, lost wake-ups --------------------------- */

/* reuse_rounds_lost_wakeup: each round adds N, spawns N workers that call done
 * after a random amount of yielding, and W waiters that each wait and report;
 * the main coroutine waits too. The next round starts only after every
 * waiter of this one has returned (Go's rule for reuse). A waiter that misses
 * the zero crossing (lost wake-up), or a round whose Add confuses a waiter of
 * the previous one, stays parked and the round's watchdog fails; a waiter
 * released early sees done_count < N. */
struct reuse {
    wyn_wg wg;
    atomic_int done_count;
    int n;
    wyn_chan *reported;
};

static void reuse_worker(void *arg)
{
    struct reuse *r = arg;
    int k = atomic_fetch_add(&r->done_count, 0) % 4;
    for (int i = 0; i < k; i++)
        wyn_yield();
    atomic_fetch_add(&r->done_count, 1);
    wyn_wg_done(&r->wg);
}

static void reuse_waiter(void *arg)
{
    struct reuse *r = arg;
    CHECK_EQ(wyn_wg_wait(&r->wg, WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&r->done_count), r->n);
    CHECK_EQ(wyn_chan_send(r->reported, NULL, WYN_FOREVER), 0);
}

static void test_wg_reuse_rounds_lost_wakeup(void)
{
    enum { N = 16, W = 8 };
    struct reuse r = {0};
    r.n = N;
    r.reported = wyn_chan_make(0, W);
    CHECK(r.reported != NULL);
    long rounds = scaled(1000, 50);
    for (long round = 0; round < rounds; round++) {
        atomic_store(&r.done_count, 0);
        wyn_wg_add(&r.wg, N);
        for (int i = 0; i < W; i++)
            CHECK_EQ(wyn_spawn(reuse_waiter, &r), 0);
        for (int i = 0; i < N; i++)
            CHECK_EQ(wyn_spawn(reuse_worker, &r), 0);
        CHECK_EQ(wyn_wg_wait(&r.wg, watchdog()), 0);
        CHECK_EQ(atomic_load(&r.done_count), N);
        for (int i = 0; i < W; i++)
            CHECK_EQ(wyn_chan_recv(r.reported, NULL, watchdog()), 0);
    }
    wyn_chan_free(r.reported);
}

/* late_done_touches_next_round: the C shape of Go's TestWaitGroupRace, where
 * each round's wg is a fresh object in the same stack slot (in C the waiter's
 * frame, as in every "wyn_wg wg = {0}; ...; wyn_wg_wait(&wg, ...); return;"
 * function). Once the wait has returned, the wg's memory belongs to the caller
 * again. A wyn_wg_done that brings the counter to 0 and then still touches the
 * object (takes its lock, walks its queue) after a waiter could return -- it
 * saw 0 on its fast path -- writes into the next round's wg: that round's wait
 * then returns before its counter reached 0 (n != 2 below) or its queue is
 * corrupted (a hang, caught by the watchdog, or an internal assertion). */
struct late {
    wyn_wg wg;
    atomic_int n;
};

static void late_body(void *arg)
{
    struct late *l = arg;
    atomic_fetch_add(&l->n, 1);
    wyn_wg_done(&l->wg);
}

static void test_wg_late_done_touches_next_round(void)
{
    long rounds = scaled(200000, 5000), early = 0;
    for (long i = 0; i < rounds; i++) {
        struct late l = {0};
        wyn_wg_add(&l.wg, 2);
        CHECK_EQ(wyn_spawn(late_body, &l), 0);
        CHECK_EQ(wyn_spawn(late_body, &l), 0);
        CHECK_EQ(wyn_wg_wait(&l.wg, watchdog()), 0);
        if (atomic_load(&l.n) != 2) {
            early++;
            while (atomic_load(&l.n) != 2) /* keep l alive for them, then fail */
                wyn_yield();
        }
    }
    if (early)
        fprintf(stderr, "   wait returned before the counter reached 0 in %ld of %ld rounds\n",
                early, rounds);
    CHECK_EQ(early, 0);
}

/* ---- misuse (Go: TestWaitGroupMisuse) ------------------------------------- */

static void misuse_done(void *arg)
{
    (void)arg;
    wyn_wg wg = {0};
    wyn_wg_add(&wg, 1);
    wyn_wg_done(&wg);
    wyn_wg_done(&wg);
}

static void misuse_add(void *arg)
{
    (void)arg;
    wyn_wg wg = {0};
    wyn_wg_add(&wg, -1);
}

static void death_done(void) { test_run(misuse_done, NULL); }
static void death_add(void) { test_run(misuse_add, NULL); }

/* ---- driver --------------------------------------------------------------- */


static void all(void *arg)
{
    (void)arg;
    RUN(test_wait_group);
    RUN(test_wait_group_race);
    RUN(test_wait_group_align);
    RUN(test_wg_deadlines);
    RUN(test_wg_add_negative_releases);
    RUN(test_wg_cancel);
    RUN(test_wg_memory_model);
    RUN(test_wg_reuse_rounds_lost_wakeup);
    RUN(test_wg_late_done_touches_next_round);
}

int main(void)
{
    test_expect_death(death_done, "negative WaitGroup counter");
    test_expect_death(death_add, "negative WaitGroup counter");
    test_run(all, NULL);
    fprintf(stderr, "waitgroup_test: ok\n");
    return 0;
}
