/* mutex_test.c — wyn_mutex.
 *
 * Port of Go's src/sync/mutex_test.go (go1.19): TestMutex with HammerMutex
 * (TryLock is a lock at deadline 0), the Mutex cases of TestMutexMisuse as
 * death tests, and TestMutexFairness (time.Sleep -> wyn_sleep).
 *
 * Beyond Go, the contract of docs/api.md: deadlines (a passed deadline never
 * waits, a timed-out lock has no effect), cancellation (-ECANCELED with no
 * effect; afterwards a free mutex is still taken), starvation mode (a waiter
 * blocked over 1 ms gets the lock ahead of newcomers), no ownership (another
 * coroutine may unlock), the memory model (unlock -> next lock), and stress
 * tests named for the bug they hunt. Every wait a hang could hide in has a
 * generous deadline, so a lost wake-up fails a CHECK instead of timing out. */
#include <stdatomic.h>
#include <stdbool.h>

#include "test.h"







/* ---- Go: TestMutex / HammerMutex ------------------------------------------ */

struct hammer {
    wyn_mutex *m;
    long loops;
    wyn_chan *cdone;
};

static void hammer_mutex(void *arg)
{
    struct hammer *h = arg;
    for (long i = 0; i < h->loops; i++) {
        if (i % 3 == 0) {
            if (wyn_mutex_lock(h->m, 0) == 0) /* m.TryLock() */
                wyn_mutex_unlock(h->m);
            continue;
        }
        CHECK_EQ(wyn_mutex_lock(h->m, WYN_FOREVER), 0);
        wyn_mutex_unlock(h->m);
    }
    CHECK_EQ(wyn_chan_send(h->cdone, NULL, WYN_FOREVER), 0);
}

static void test_mutex(void)
{
    wyn_mutex m = {0};

    CHECK_EQ(wyn_mutex_lock(&m, WYN_FOREVER), 0);
    CHECK_EQ(wyn_mutex_lock(&m, 0), -ETIMEDOUT); /* "TryLock succeeded with mutex locked" */
    wyn_mutex_unlock(&m);
    CHECK_EQ(wyn_mutex_lock(&m, 0), 0); /* "TryLock failed with mutex unlocked" */
    wyn_mutex_unlock(&m);

    wyn_chan *c = wyn_chan_make(0, 0);
    CHECK(c != NULL);
    struct hammer h = {&m, 1000, c};
    for (int i = 0; i < 10; i++)
        CHECK_EQ(wyn_spawn(hammer_mutex, &h), 0);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(wyn_chan_recv(c, NULL, watchdog()), 0);
    wyn_chan_free(c);
}

/* ---- Go: TestMutexFairness ------------------------------------------------ */

struct fairness {
    wyn_mutex mu;
    wyn_chan *stop;
    wyn_chan *done;
};

static void fairness_hog(void *arg)
{
    struct fairness *f = arg;
    for (;;) {
        CHECK_EQ(wyn_mutex_lock(&f->mu, WYN_FOREVER), 0);
        wyn_sleep(100 * US);
        wyn_mutex_unlock(&f->mu);
        /* select { case <-stop: return; default: } */
        int rc = wyn_chan_recv(f->stop, NULL, 0);
        if (rc == -EPIPE)
            return;
        CHECK_EQ(rc, -ETIMEDOUT);
    }
}

static void fairness_waiter(void *arg)
{
    struct fairness *f = arg;
    for (int i = 0; i < 10; i++) {
        wyn_sleep(100 * US);
        CHECK_EQ(wyn_mutex_lock(&f->mu, WYN_FOREVER), 0);
        wyn_mutex_unlock(&f->mu);
    }
    CHECK_EQ(wyn_chan_send(f->done, NULL, WYN_FOREVER), 0);
}

static void test_mutex_fairness(void)
{
    struct fairness f = {0};
    f.stop = wyn_chan_make(0, 0);
    f.done = wyn_chan_make(0, 1);
    CHECK(f.stop && f.done);
    wyn_co *hog = go_join(fairness_hog, &f);
    wyn_co *waiter = go_join(fairness_waiter, &f);
    /* "can't acquire Mutex in 10 seconds" */
    CHECK_EQ(wyn_chan_recv(f.done, NULL, wyn_deadline(10 * SEC)), 0);
    CHECK_EQ(wyn_chan_close(f.stop), 0);
    join_ok(hog);
    join_ok(waiter);
    wyn_chan_free(f.stop);
    wyn_chan_free(f.done);
}

/* ---- starvation mode ------------------------------------------------------ */

/* starvation_handoff: Go's starvation mode, which the contract names. A
 * waiter W has been blocked for 50 ms when the holder unlocks and at once
 * (unlock never switches) tries again, as a barging newcomer would. Go lets
 * such a newcomer win at most once: W, woken to compete, finds the mutex
 * taken after waiting over 1 ms and puts it in hand-off mode, so the next
 * unlock gives it to W and the newcomer's next try fails (round 0, deadline
 * 0) or waits until W has had it (round 1, blocking). A runtime without
 * starvation mode lets the newcomer win every time: barges exceeds 1. (On
 * another worker W may also simply have had the mutex and let go already;
 * had_it tells, as W sets it before its unlock.) API.md is stricter than Go
 * ("a waiter blocked for over 1 ms gets it ahead of newcomers"): wyn hands
 * the mutex to W at the first unlock, so no barge at all is allowed. */
struct starve {
    wyn_mutex m;
    atomic_int started;
    atomic_int had_it;
};

static void starve_waiter(void *arg)
{
    struct starve *s = arg;
    atomic_store(&s->started, 1);
    CHECK_EQ(wyn_mutex_lock(&s->m, WYN_FOREVER), 0);
    atomic_store(&s->had_it, 1);
    wyn_mutex_unlock(&s->m);
}

static void test_mutex_starvation_handoff(void)
{
    for (int round = 0; round < 2; round++) {
        struct starve s = {0};
        CHECK_EQ(wyn_mutex_lock(&s.m, WYN_FOREVER), 0);
        wyn_co *w = go_join(starve_waiter, &s);
        await_flag(&s.started, 1);
        wyn_sleep(50 * MS); /* the waiter is now blocked far longer than 1 ms */
        int barges = 0;
        bool held = true;
        for (int k = 0; k < 4 && held; k++) {
            wyn_mutex_unlock(&s.m);
            held = false;
            int rc = wyn_mutex_lock(&s.m, round == 0 ? 0 : watchdog());
            if (rc == -ETIMEDOUT && round == 0)
                break; /* handed to the waiter */
            CHECK_EQ(rc, 0);
            held = true;
            if (atomic_load(&s.had_it))
                break; /* the waiter had it first */
            barges++;
            wyn_sleep(5 * MS); /* hold it: the waiter wakes, finds it taken */
        }
        if (held)
            wyn_mutex_unlock(&s.m);
        if (barges > 0)
            fprintf(stderr, "newcomer overtook a starving waiter %d times\n", barges);
        CHECK_EQ(barges, 0);
        join_ok(w);
        CHECK_EQ(atomic_load(&s.had_it), 1);
        CHECK_EQ(wyn_mutex_lock(&s.m, 0), 0);
        wyn_mutex_unlock(&s.m);
    }
}

/* ---- deadlines ------------------------------------------------------------ */

static void test_mutex_deadlines(void)
{
    wyn_mutex m = {0};
    CHECK_EQ(wyn_mutex_lock(&m, -2), -EINVAL);
    CHECK_EQ(wyn_mutex_lock(&m, 0), 0); /* a free mutex is taken at a passed deadline */
    CHECK_EQ(wyn_mutex_lock(&m, 0), -ETIMEDOUT);
    CHECK_EQ(wyn_mutex_lock(&m, wyn_now()), -ETIMEDOUT);
    CHECK_EQ(wyn_mutex_lock(&m, -2), -EINVAL);
    int64_t d = wyn_deadline(5 * MS);
    CHECK_EQ(wyn_mutex_lock(&m, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    /* No effect: still locked exactly once (one unlock frees it). */
    wyn_mutex_unlock(&m);
    CHECK_EQ(wyn_mutex_lock(&m, 0), 0);
    wyn_mutex_unlock(&m);
}

/* timed_out_waiter_keeps_handoff: holder H, waiters A (short deadline) and B
 * (no deadline) queued behind it. A times out; then H unlocks. A runtime that
 * leaves A's record in the queue hands the mutex to A, which is gone, and B
 * sleeps forever (the watchdog on B's join fails). */
struct two_waiters {
    wyn_mutex m;
    int64_t a_deadline;
    int a_rc, b_rc;
    atomic_int a_started, b_started;
};

static void tw_a(void *arg)
{
    struct two_waiters *t = arg;
    atomic_store(&t->a_started, 1);
    t->a_rc = wyn_mutex_lock(&t->m, t->a_deadline);
    if (t->a_rc == 0)
        wyn_mutex_unlock(&t->m);
}

static void tw_b(void *arg)
{
    struct two_waiters *t = arg;
    atomic_store(&t->b_started, 1);
    t->b_rc = wyn_mutex_lock(&t->m, watchdog());
    if (t->b_rc == 0)
        wyn_mutex_unlock(&t->m);
}

static void test_mutex_timed_out_waiter_keeps_handoff(void)
{
    for (int order = 0; order < 2; order++) {
        struct two_waiters t = {0};
        t.a_deadline = wyn_deadline(20 * MS);
        CHECK_EQ(wyn_mutex_lock(&t.m, WYN_FOREVER), 0);
        wyn_co *a, *b;
        if (order == 0) { /* A queued first (at the head), then B */
            a = go_join(tw_a, &t);
            await_flag(&t.a_started, 1);
            wyn_sleep(1 * MS);
            b = go_join(tw_b, &t);
            await_flag(&t.b_started, 1);
        } else {
            b = go_join(tw_b, &t);
            await_flag(&t.b_started, 1);
            wyn_sleep(1 * MS);
            a = go_join(tw_a, &t);
            await_flag(&t.a_started, 1);
        }
        join_ok(a); /* A times out while we hold the mutex */
        CHECK_EQ(t.a_rc, -ETIMEDOUT);
        wyn_mutex_unlock(&t.m);
        join_ok(b);
        CHECK_EQ(t.b_rc, 0);
        CHECK_EQ(wyn_mutex_lock(&t.m, 0), 0);
        wyn_mutex_unlock(&t.m);
    }
}

/* ---- cancellation --------------------------------------------------------- */

struct cancel_case {
    wyn_mutex m;
    atomic_int started;
    atomic_int released; /* main has unlocked */
    int rc_blocked, rc_try, rc_forever, rc_free, cancelled;
};

static void cancel_victim(void *arg)
{
    struct cancel_case *c = arg;
    atomic_store(&c->started, 1);
    c->rc_blocked = wyn_mutex_lock(&c->m, WYN_FOREVER); /* woken by wyn_cancel */
    c->cancelled = wyn_cancelled();
    /* Still held by main: would have to wait, so -ECANCELED at once, even at a
     * passed deadline. */
    c->rc_try = wyn_mutex_lock(&c->m, 0);
    c->rc_forever = wyn_mutex_lock(&c->m, WYN_FOREVER);
    atomic_store(&c->started, 2);
    while (!atomic_load(&c->released))
        wyn_yield();
    /* Clean-up may still take a free mutex. */
    c->rc_free = wyn_mutex_lock(&c->m, WYN_FOREVER);
    if (c->rc_free == 0)
        wyn_mutex_unlock(&c->m);
}

static void test_mutex_cancel(void)
{
    struct cancel_case c = {0};
    CHECK_EQ(wyn_mutex_lock(&c.m, WYN_FOREVER), 0);
    wyn_co *h = go_join(cancel_victim, &c);
    await_flag(&c.started, 1);
    wyn_sleep(2 * MS); /* let it block (if it has not, its lock fails at once anyway) */
    CHECK_EQ(wyn_cancel(h), 0);
    await_flag(&c.started, 2);
    CHECK_EQ(c.rc_blocked, -ECANCELED);
    CHECK_EQ(c.cancelled, 1);
    CHECK_EQ(c.rc_try, -ECANCELED);
    CHECK_EQ(c.rc_forever, -ECANCELED);
    /* No effect: the mutex is still ours, held once. */
    CHECK_EQ(wyn_mutex_lock(&c.m, 0), -ETIMEDOUT);
    wyn_mutex_unlock(&c.m);
    atomic_store(&c.released, 1);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
    CHECK_EQ(c.rc_free, 0);
    CHECK_EQ(wyn_mutex_lock(&c.m, 0), 0);
    wyn_mutex_unlock(&c.m);
}

/* ---- stress: a wake-up racing the waiter's deadline or its cancel --------- */

/* deadline_vs_unlock_lost_handoff: the holder unlocks at (about) the instant a
 * waiter's deadline fires, or cancels the waiter and unlocks back to back
 * (neither switches, so both land while the waiter is parked). Whatever the
 * waiter returns, the mutex must afterwards be unlocked or owned by exactly
 * one coroutine: a hand-off to a waiter that then reports -ETIMEDOUT or
 * -ECANCELED leaves the mutex locked for good (the final lock times out), and
 * a waiter that both got the hand-off and saw a barger in the critical section
 * trips in_cs. */
struct race {
    wyn_mutex m;
    int64_t deadline;
    int rc;
    atomic_int in_cs;
    atomic_int started;
};

static void race_waiter(void *arg)
{
    struct race *r = arg;
    atomic_store(&r->started, 1);
    r->rc = wyn_mutex_lock(&r->m, r->deadline);
    if (r->rc == 0) {
        CHECK_EQ(atomic_fetch_add(&r->in_cs, 1), 0);
        atomic_fetch_sub(&r->in_cs, 1);
        wyn_mutex_unlock(&r->m);
    }
}

static void test_mutex_deadline_vs_unlock_lost_handoff(void)
{
    long iters = scaled(3000, 200);
    uint64_t seed = 42;
    long counts[3] = {0, 0, 0}; /* got it, timed out, cancelled */
    for (long i = 0; i < iters; i++) {
        struct race r = {0};
        int cancel_mode = (int)(i % 3); /* 0: deadline; 1: cancel then unlock; 2: unlock then cancel */
        CHECK_EQ(wyn_mutex_lock(&r.m, WYN_FOREVER), 0);
        r.deadline = cancel_mode ? WYN_FOREVER : wyn_deadline(200 * US);
        wyn_co *h = go_join(race_waiter, &r);
        await_flag(&r.started, 1);
        if (cancel_mode == 0) {
            /* unlock within +-100 us of the waiter's deadline */
            int64_t jitter = (int64_t)(rng_next(&seed) % (200 * US)) - 100 * US;
            wyn_sleep_until(r.deadline + jitter);
            wyn_mutex_unlock(&r.m);
        } else {
            if (rng_next(&seed) & 1)
                wyn_yield();
            if (cancel_mode == 1) {
                CHECK_EQ(wyn_cancel(h), 0);
                wyn_mutex_unlock(&r.m);
            } else {
                wyn_mutex_unlock(&r.m);
                CHECK_EQ(wyn_cancel(h), 0);
            }
        }
        /* A newcomer (us) must get the mutex whatever the waiter did. */
        CHECK_EQ(wyn_mutex_lock(&r.m, watchdog()), 0);
        CHECK_EQ(atomic_fetch_add(&r.in_cs, 1), 0);
        atomic_fetch_sub(&r.in_cs, 1);
        wyn_mutex_unlock(&r.m);
        join_ok(h);
        if (cancel_mode == 0)
            CHECK(r.rc == 0 || r.rc == -ETIMEDOUT);
        else
            CHECK(r.rc == 0 || r.rc == -ECANCELED);
        counts[r.rc == 0 ? 0 : r.rc == -ETIMEDOUT ? 1 : 2]++;
        CHECK_EQ(wyn_mutex_lock(&r.m, 0), 0); /* unlocked at the end */
        wyn_mutex_unlock(&r.m);
    }
    fprintf(stderr, "   %ld iterations: %ld got it, %ld timed out, %ld cancelled\n", iters,
            counts[0], counts[1], counts[2]);
}

/* ---- no ownership --------------------------------------------------------- */

struct other {
    wyn_mutex m;
};

static void unlock_for_me(void *arg) { wyn_mutex_unlock(&((struct other *)arg)->m); }

static void test_mutex_unlock_by_other(void)
{
    struct other o = {0};
    CHECK_EQ(wyn_mutex_lock(&o.m, WYN_FOREVER), 0);
    join_ok(go_join(unlock_for_me, &o));
    CHECK_EQ(wyn_mutex_lock(&o.m, 0), 0);
    /* and the other way round, with us blocked meanwhile */
    wyn_co *h = go_join(unlock_for_me, &o);
    CHECK_EQ(wyn_mutex_lock(&o.m, watchdog()), 0);
    join_ok(h);
    wyn_mutex_unlock(&o.m);
}

/* ---- memory model and lost wake-ups --------------------------------------- */

/* lost_update_and_lost_wakeup: 32 coroutines add to a plain long under the
 * mutex, reading it, sometimes yielding while holding the lock (so others pile
 * up as waiters and the holder may resume on another worker), then writing it
 * back. A missing happens-before edge (unlock -> next lock) or two owners at
 * once loses increments and the total comes out short; a lost wake-up leaves a
 * waiter parked and its join hits the watchdog (at one worker, the deadlock
 * detector fires first). */
struct counter {
    wyn_mutex m;
    long n;
    long iters;
    atomic_int in_cs;
};

static void count_worker(void *arg)
{
    struct counter *c = arg;
    for (long i = 0; i < c->iters; i++) {
        CHECK_EQ(wyn_mutex_lock(&c->m, WYN_FOREVER), 0);
        CHECK_EQ(atomic_fetch_add(&c->in_cs, 1), 0);
        long v = c->n;
        if (i % 16 == 0)
            wyn_yield();
        c->n = v + 1;
        atomic_fetch_sub(&c->in_cs, 1);
        wyn_mutex_unlock(&c->m);
        if (i % 5 == 0)
            wyn_yield();
    }
}

static void test_mutex_lost_update_and_lost_wakeup(void)
{
    enum { N = 32 };
    struct counter c = {0};
    c.iters = scaled(3000, 100);
    wyn_co *h[N];
    for (int i = 0; i < N; i++)
        h[i] = go_join(count_worker, &c);
    for (int i = 0; i < N; i++)
        CHECK_EQ(wyn_join(h[i], wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(c.n, N * c.iters);
}

/* ---- misuse (Go: TestMutexMisuse, Mutex.Unlock and Mutex.Unlock2) -------- */

static void misuse_unlock(void *arg)
{
    (void)arg;
    wyn_mutex mu = {0};
    wyn_mutex_unlock(&mu);
}

static void misuse_unlock2(void *arg)
{
    (void)arg;
    wyn_mutex mu = {0};
    CHECK_EQ(wyn_mutex_lock(&mu, WYN_FOREVER), 0);
    wyn_mutex_unlock(&mu);
    wyn_mutex_unlock(&mu);
}

static void death_unlock(void) { test_run(misuse_unlock, NULL); }
static void death_unlock2(void) { test_run(misuse_unlock2, NULL); }

/* ---- driver --------------------------------------------------------------- */


static void all(void *arg)
{
    (void)arg;
    RUN(test_mutex);
    RUN(test_mutex_fairness);
    RUN(test_mutex_starvation_handoff);
    RUN(test_mutex_deadlines);
    RUN(test_mutex_timed_out_waiter_keeps_handoff);
    RUN(test_mutex_cancel);
    RUN(test_mutex_unlock_by_other);
    RUN(test_mutex_deadline_vs_unlock_lost_handoff);
    RUN(test_mutex_lost_update_and_lost_wakeup);
}

int main(void)
{
    /* Death tests fork, so they run before any runtime exists here. */
    test_expect_death(death_unlock, "unlock of unlocked mutex");
    test_expect_death(death_unlock2, "unlock of unlocked mutex");
    test_run(all, NULL);
    fprintf(stderr, "mutex_test: ok\n");
    return 0;
}
