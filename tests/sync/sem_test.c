/* sem_test.c — wyn_sem.
 *
 * Go has no public semaphore; this ports the ideas of its runtime semaphore
 * tests: TestSemaphore / HammerSemaphore from src/sync/mutex_test.go (a
 * semaphore with one permit used as a lock by 10 goroutines), the
 * release-then-acquire loops of src/sync/runtime_sema_test.go's benchmarks
 * (benchmarkSema with blocked acquirers), and src/runtime/sema_test.go's
 * TestSemaHandoff (the first waiter in line gets the released permit), all
 * in go1.19.
 *
 * Beyond that, the contract of docs/api.md: the zero value holds no permits;
 * acquire blocks until a release; N releases satisfy exactly N acquires;
 * release without acquire is no misuse (it adds a permit); deadlines and
 * cancellation have no effect (no permit taken or lost); the memory model
 * (release -> the acquire it satisfies); stress tests for lost wake-ups. */
#include <stdatomic.h>

#include "test.h"







/* Take every permit there is without waiting; return how many. */
static int drain(wyn_sem *s)
{
    int n = 0;
    while (wyn_sem_acquire(s, 0) == 0)
        n++;
    return n;
}

/* ---- Go: TestSemaphore / HammerSemaphore ---------------------------------- */

struct hammer {
    wyn_sem s;
    long loops;
    atomic_int in_cs;
    wyn_chan *cdone;
};

static void hammer_semaphore(void *arg)
{
    struct hammer *h = arg;
    for (long i = 0; i < h->loops; i++) {
        CHECK_EQ(wyn_sem_acquire(&h->s, WYN_FOREVER), 0);
        CHECK_EQ(atomic_fetch_add(&h->in_cs, 1), 0); /* one permit: a lock */
        if (i % 10 == 0)
            wyn_yield();
        atomic_fetch_sub(&h->in_cs, 1);
        wyn_sem_release(&h->s);
    }
    CHECK_EQ(wyn_chan_send(h->cdone, NULL, WYN_FOREVER), 0);
}

static void test_semaphore(void)
{
    struct hammer h = {0};
    h.loops = 1000;
    h.cdone = wyn_chan_make(0, 0);
    CHECK(h.cdone != NULL);
    wyn_sem_release(&h.s); /* *s = 1 */
    for (int i = 0; i < 10; i++)
        CHECK_EQ(wyn_spawn(hammer_semaphore, &h), 0);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(wyn_chan_recv(h.cdone, NULL, watchdog()), 0);
    CHECK_EQ(drain(&h.s), 1);
    wyn_chan_free(h.cdone);
}

/* ---- zero value, release without acquire, deadlines ----------------------- */

static void test_sem_zero_value_and_permits(void)
{
    wyn_sem s = {0};
    CHECK_EQ(wyn_sem_acquire(&s, 0), -ETIMEDOUT); /* the zero value has no permits */
    CHECK_EQ(wyn_sem_acquire(&s, -2), -EINVAL);
    int64_t d = wyn_deadline(3 * MS);
    CHECK_EQ(wyn_sem_acquire(&s, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    /* Release without acquire is no misuse: each adds a permit. */
    for (int i = 0; i < 3; i++)
        wyn_sem_release(&s);
    CHECK_EQ(wyn_sem_acquire(&s, 0), 0);
    CHECK_EQ(wyn_sem_acquire(&s, WYN_FOREVER), 0);
    CHECK_EQ(wyn_sem_acquire(&s, wyn_deadline(1 * SEC)), 0);
    CHECK_EQ(wyn_sem_acquire(&s, 0), -ETIMEDOUT);
    /* Many permits. */
    for (int i = 0; i < 100000; i++)
        wyn_sem_release(&s);
    CHECK_EQ(drain(&s), 100000);
}

/* ---- acquire blocks until release ----------------------------------------- */

struct blocker {
    wyn_sem s;
    atomic_int started, returned;
    int rc;
};

static void blocker_body(void *arg)
{
    struct blocker *b = arg;
    atomic_store(&b->started, 1);
    b->rc = wyn_sem_acquire(&b->s, WYN_FOREVER);
    atomic_store(&b->returned, 1);
}

static void test_sem_acquire_blocks_until_release(void)
{
    struct blocker b = {0};
    wyn_co *h = go_join(blocker_body, &b);
    await_flag(&b.started, 1);
    wyn_sleep(10 * MS);
    CHECK_EQ(atomic_load(&b.returned), 0);
    wyn_sem_release(&b.s);
    join_ok(h);
    CHECK_EQ(b.rc, 0);
    CHECK_EQ(wyn_sem_acquire(&b.s, 0), -ETIMEDOUT); /* the permit went to the waiter */
}

/* ---- N releases satisfy exactly N acquires -------------------------------- */

struct counted {
    wyn_sem s;
    atomic_int started, got;
};

static void counted_body(void *arg)
{
    struct counted *c = arg;
    atomic_fetch_add(&c->started, 1);
    CHECK_EQ(wyn_sem_acquire(&c->s, watchdog()), 0);
    atomic_fetch_add(&c->got, 1);
}

/* exact_permits: 20 acquirers block; 7 releases must let exactly 7 through
 * (more is a duplicated permit, fewer a lost wake-up); then the other 13;
 * afterwards no permit is left over. */
static void test_sem_exact_permits(void)
{
    enum { M = 20, N = 7 };
    struct counted c = {0};
    wyn_co *h[M];
    for (int i = 0; i < M; i++)
        h[i] = go_join(counted_body, &c);
    await_flag(&c.started, M);
    wyn_sleep(2 * MS);
    CHECK_EQ(atomic_load(&c.got), 0);
    for (int i = 0; i < N; i++)
        wyn_sem_release(&c.s);
    await_flag(&c.got, N);
    wyn_sleep(10 * MS);
    CHECK_EQ(atomic_load(&c.got), N);
    CHECK_EQ(wyn_sem_acquire(&c.s, 0), -ETIMEDOUT);
    for (int i = N; i < M; i++)
        wyn_sem_release(&c.s);
    for (int i = 0; i < M; i++)
        join_ok(h[i]);
    CHECK_EQ(atomic_load(&c.got), M);
    CHECK_EQ(drain(&c.s), 0);
}

/* ---- first in line gets the permit (Go: TestSemaHandoff) ------------------ */

struct line {
    wyn_sem s;
    atomic_int started;
    atomic_int order; /* next position to hand out */
    int pos[8];       /* pos[i]: when waiter i got its permit */
};

struct line_arg {
    struct line *l;
    int i;
};

static void line_body(void *arg)
{
    struct line_arg *a = arg;
    atomic_fetch_add(&a->l->started, 1);
    CHECK_EQ(wyn_sem_acquire(&a->l->s, watchdog()), 0);
    a->l->pos[a->i] = atomic_fetch_add(&a->l->order, 1);
}

/* The first waiter has waited 20 ms before the others even exist; the first
 * release must go to it, not to a later waiter (FIFO-ish, as Go's semaphore
 * queue is FIFO). */
static void test_sem_first_in_line(void)
{
    for (int round = 0; round < 5; round++) {
        struct line l = {0};
        wyn_co *h[8];
        for (int i = 0; i < 8; i++) {
            struct line_arg a = {&l, i};
            wyn_spawn_opts o = {0};
            o.arg_copy = &a;
            o.arg_size = sizeof a;
            o.join = &h[i];
            CHECK_EQ(wyn_spawn_ex(line_body, NULL, &o), 0);
            if (i == 0) {
                await_flag(&l.started, 1);
                wyn_sleep(20 * MS);
            }
        }
        await_flag(&l.started, 8);
        wyn_sleep(5 * MS);
        wyn_sem_release(&l.s);
        await_flag(&l.order, 1); /* one permit, one taker: it must be waiter 0 */
        join_ok(h[0]);
        CHECK_EQ(l.pos[0], 0);
        for (int i = 1; i < 8; i++)
            wyn_sem_release(&l.s);
        for (int i = 1; i < 8; i++)
            join_ok(h[i]);
    }
}

/* no_starvation: while 8 coroutines churn acquire/release on a semaphore with
 * 2 permits, a newcomer that blocks must still get a permit (a LIFO or
 * barging-only queue can pass it over indefinitely). */
struct churn {
    wyn_sem s;
    atomic_int stop;
};

static void churn_body(void *arg)
{
    struct churn *c = arg;
    while (!atomic_load(&c->stop)) {
        CHECK_EQ(wyn_sem_acquire(&c->s, watchdog()), 0);
        wyn_yield();
        wyn_sem_release(&c->s);
    }
}

static void test_sem_no_starvation(void)
{
    struct churn c = {0};
    wyn_sem_release(&c.s);
    wyn_sem_release(&c.s);
    wyn_co *h[8];
    for (int i = 0; i < 8; i++)
        h[i] = go_join(churn_body, &c);
    wyn_sleep(2 * MS);
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(wyn_sem_acquire(&c.s, watchdog()), 0);
        wyn_sem_release(&c.s);
        wyn_yield();
    }
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 8; i++)
        join_ok(h[i]);
    CHECK_EQ(drain(&c.s), 2);
}

/* ---- cancellation --------------------------------------------------------- */

struct scancel {
    wyn_sem s;
    atomic_int stage;
    int rc_blocked, rc_try, rc_permit;
};

static void scancel_victim(void *arg)
{
    struct scancel *c = arg;
    atomic_store(&c->stage, 1);
    c->rc_blocked = wyn_sem_acquire(&c->s, WYN_FOREVER);
    c->rc_try = wyn_sem_acquire(&c->s, 0); /* would wait: -ECANCELED even at deadline 0 */
    atomic_store(&c->stage, 2);
    while (atomic_load(&c->stage) < 3)
        wyn_yield();
    c->rc_permit = wyn_sem_acquire(&c->s, WYN_FOREVER); /* a permit is there: completes */
}

static void test_sem_cancel(void)
{
    struct scancel c = {0};
    wyn_co *h = go_join(scancel_victim, &c);
    await_flag(&c.stage, 1);
    wyn_sleep(2 * MS);
    CHECK_EQ(wyn_cancel(h), 0);
    await_flag(&c.stage, 2);
    CHECK_EQ(c.rc_blocked, -ECANCELED);
    CHECK_EQ(c.rc_try, -ECANCELED);
    /* No effect: a release now is a permit for whoever asks next (us). */
    wyn_sem_release(&c.s);
    CHECK_EQ(wyn_sem_acquire(&c.s, 0), 0);
    CHECK_EQ(wyn_sem_acquire(&c.s, 0), -ETIMEDOUT);
    wyn_sem_release(&c.s);
    atomic_store(&c.stage, 3);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
    CHECK_EQ(c.rc_permit, 0);
    CHECK_EQ(drain(&c.s), 0);
}

/* ---- stress: a release racing the waiter's deadline or cancel ------------- */

struct srace {
    wyn_sem s;
    int64_t deadline;
    int rc;
    atomic_int started;
};

static void srace_waiter(void *arg)
{
    struct srace *r = arg;
    atomic_store(&r->started, 1);
    r->rc = wyn_sem_acquire(&r->s, r->deadline);
}

/* release_vs_deadline_lost_permit: one release lands at about the instant the
 * only waiter's deadline fires (or back to back with its cancel). Permits are
 * conserved: if the waiter reports 0 it has the permit and none is left; if it
 * reports -ETIMEDOUT / -ECANCELED the permit must still be there. A permit
 * handed to a waiter that then reports failure is lost (drain finds 0); one
 * both handed over and kept is duplicated (drain finds 1 after a 0). */
static void test_sem_release_vs_deadline_lost_permit(void)
{
    long iters = scaled(3000, 200);
    uint64_t seed = 99;
    long got = 0;
    for (long i = 0; i < iters; i++) {
        struct srace r = {0};
        int mode = (int)(i % 3);
        r.deadline = mode == 0 ? wyn_deadline(200 * US) : WYN_FOREVER;
        wyn_co *h = go_join(srace_waiter, &r);
        await_flag(&r.started, 1);
        if (mode == 0) {
            int64_t jitter = (int64_t)(rng_next(&seed) % (200 * US)) - 100 * US;
            wyn_sleep_until(r.deadline + jitter);
            wyn_sem_release(&r.s);
        } else {
            if (rng_next(&seed) & 1)
                wyn_yield();
            if (mode == 1) {
                CHECK_EQ(wyn_cancel(h), 0);
                wyn_sem_release(&r.s);
            } else {
                wyn_sem_release(&r.s);
                CHECK_EQ(wyn_cancel(h), 0);
            }
        }
        join_ok(h);
        int left = drain(&r.s);
        if (r.rc == 0) {
            got++;
            CHECK_EQ(left, 0);
        } else {
            CHECK_EQ(r.rc, mode == 0 ? -ETIMEDOUT : -ECANCELED);
            CHECK_EQ(left, 1);
        }
    }
    fprintf(stderr, "   %ld iterations, waiter got the permit %ld times\n", iters, got);
}

/* ---- memory model --------------------------------------------------------- */

/* release -> the acquire it satisfies: a producer fills a plain ring slot and
 * releases `items`; the consumer acquires `items`, reads the slot, releases
 * `spaces`. Missing ordering shows as a stale slot value. */
enum { RING = 8 };

struct ring {
    wyn_sem items, spaces;
    long slot[RING]; /* plain */
    long n;
};

static void ring_producer(void *arg)
{
    struct ring *r = arg;
    for (long i = 0; i < r->n; i++) {
        CHECK_EQ(wyn_sem_acquire(&r->spaces, WYN_FOREVER), 0);
        r->slot[i % RING] = i * 3 + 1;
        wyn_sem_release(&r->items);
        if (i % 13 == 0)
            wyn_yield();
    }
}

static void ring_consumer(void *arg)
{
    struct ring *r = arg;
    for (long i = 0; i < r->n; i++) {
        CHECK_EQ(wyn_sem_acquire(&r->items, WYN_FOREVER), 0);
        CHECK_EQ(r->slot[i % RING], i * 3 + 1);
        wyn_sem_release(&r->spaces);
    }
}

static void test_sem_memory_model(void)
{
    struct ring r = {0};
    r.n = scaled(50000, 1000);
    for (int i = 0; i < RING; i++)
        wyn_sem_release(&r.spaces);
    wyn_co *c = go_join(ring_consumer, &r);
    wyn_co *p = go_join(ring_producer, &r);
    CHECK_EQ(wyn_join(p, wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(wyn_join(c, wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(drain(&r.items), 0);
    CHECK_EQ(drain(&r.spaces), RING);
}

/* ---- stress: lost wake-ups ------------------------------------------------ */

/* many_waiters_lost_wakeup: 16 consumers each acquire K permits from an empty
 * semaphore while 16 producers each release K, with yields in between (so
 * consumers keep parking and producers keep waking them from other workers).
 * Totals match, so everyone finishes unless a wake-up was lost (the joins'
 * watchdog, or at one worker the deadlock detector); afterwards no permit is
 * left (none duplicated). Also Go's benchmarkSema shape: release, then
 * acquire, from many coroutines while others hold permits blocked. */
struct lw {
    wyn_sem s;
    long k;
};

static void lw_consumer(void *arg)
{
    struct lw *l = arg;
    for (long i = 0; i < l->k; i++)
        CHECK_EQ(wyn_sem_acquire(&l->s, WYN_FOREVER), 0);
}

static void lw_producer(void *arg)
{
    struct lw *l = arg;
    for (long i = 0; i < l->k; i++) {
        wyn_sem_release(&l->s);
        if (i % 3 == 0)
            wyn_yield();
    }
}

/* Go's benchmarkSema body: k times release then acquire, then one release. */
static void lw_release_acquire(void *arg)
{
    struct lw *l = arg;
    for (long i = 0; i < l->k; i++) {
        wyn_sem_release(&l->s);
        if (i % 5 == 0)
            wyn_yield();
        CHECK_EQ(wyn_sem_acquire(&l->s, WYN_FOREVER), 0);
    }
    wyn_sem_release(&l->s);
}

struct holder {
    wyn_sem *s;
    int n;
};

static void hold_acquirer(void *arg)
{
    struct holder *h = arg;
    for (int i = 0; i < h->n; i++)
        CHECK_EQ(wyn_sem_acquire(h->s, WYN_FOREVER), 0);
}

static void test_sem_many_waiters_lost_wakeup(void)
{
    enum { N = 16 };
    struct lw l = {0};
    l.k = scaled(3000, 100);
    wyn_co *h[2 * N];
    for (int i = 0; i < N; i++)
        h[i] = go_join(lw_consumer, &l);
    for (int i = 0; i < N; i++)
        h[N + i] = go_join(lw_producer, &l);
    for (int i = 0; i < 2 * N; i++)
        CHECK_EQ(wyn_join(h[i], wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(drain(&l.s), 0);

    /* benchmarkSema(block=true): one coroutine takes N/2 permits, blocking,
     * while N others release-then-acquire and finally release once more.
     * Fewer than N are ever held back, so nobody can be stranded. */
    struct lw b = {0};
    b.k = scaled(3000, 100);
    struct holder hd = {&b.s, N / 2};
    wyn_co *hold = go_join(hold_acquirer, &hd);
    wyn_co *g[N];
    for (int i = 0; i < N; i++)
        g[i] = go_join(lw_release_acquire, &b);
    for (int i = 0; i < N; i++)
        CHECK_EQ(wyn_join(g[i], wyn_deadline(60 * SEC)), 0);
    join_ok(hold);
    CHECK_EQ(drain(&b.s), N - N / 2);
}

/* ---- driver --------------------------------------------------------------- */


static void all(void *arg)
{
    (void)arg;
    RUN(test_semaphore);
    RUN(test_sem_zero_value_and_permits);
    RUN(test_sem_acquire_blocks_until_release);
    RUN(test_sem_exact_permits);
    RUN(test_sem_first_in_line);
    RUN(test_sem_no_starvation);
    RUN(test_sem_cancel);
    RUN(test_sem_release_vs_deadline_lost_permit);
    RUN(test_sem_memory_model);
    RUN(test_sem_many_waiters_lost_wakeup);
}

int main(void)
{
    test_run(all, NULL);
    fprintf(stderr, "sem_test: ok\n");
    return 0;
}
