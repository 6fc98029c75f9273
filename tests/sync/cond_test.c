/* cond_test.c — wyn_cond.
 *
 * Port of Go's src/sync/cond_test.go (go1.19): TestCondSignal,
 * TestCondSignalGenerations, TestCondBroadcast, TestRace (runtime.Gosched ->
 * wyn_yield) and TestCondSignalStealing (time.After -> a recv deadline).
 * TestCondCopy has no counterpart (copying is undefined, not detected).
 *
 * Beyond Go, the contract of docs/api.md: wyn_cond_wait with a deadline or
 * a cancel returns -ETIMEDOUT / -ECANCELED holding the mutex (re-locking
 * ignores both) and then has consumed no signal, so a signal sent meanwhile
 * goes to another waiter; no spurious wake-ups (0 only after a signal issued
 * while waiting); and stress tests for lost signals and lost wake-ups. */
#include <stdatomic.h>
#include <stdbool.h>

#include "test.h"




/* go fn(copy of *arg) with a join handle. */
static wyn_co *go_join_copy(void (*fn)(void *), const void *arg, size_t size)
{
    wyn_co *h = NULL;
    wyn_spawn_opts o = {0};
    o.arg_copy = arg;
    o.arg_size = size;
    o.join = &h;
    CHECK_EQ(wyn_spawn_ex(fn, NULL, &o), 0);
    CHECK(h != NULL);
    return h;
}



static wyn_chan *chan_make(size_t elem, size_t cap)
{
    wyn_chan *c = wyn_chan_make(elem, cap);
    CHECK(c != NULL);
    return c;
}

static void lock(wyn_mutex *m) { CHECK_EQ(wyn_mutex_lock(m, WYN_FOREVER), 0); }
static void unlock(wyn_mutex *m) { wyn_mutex_unlock(m); }

/* The caller holds m: nobody can take it. */
static void check_held(wyn_mutex *m) { CHECK_EQ(wyn_mutex_lock(m, 0), -ETIMEDOUT); }


/* ---- Go: TestCondSignal --------------------------------------------------- */

struct cs {
    wyn_mutex m;
    wyn_cond c;
    wyn_chan *running, *awake;
};

static void cs_body(void *arg)
{
    struct cs *t = arg;
    lock(&t->m);
    CHECK_EQ(wyn_chan_send(t->running, NULL, WYN_FOREVER), 0);
    CHECK_EQ(wyn_cond_wait(&t->c, &t->m, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_send(t->awake, NULL, WYN_FOREVER), 0);
    unlock(&t->m);
}

static void test_cond_signal(void)
{
    struct cs t = {0};
    int n = 2;
    t.running = chan_make(0, (size_t)n);
    t.awake = chan_make(0, (size_t)n);
    wyn_co *h[2];
    for (int i = 0; i < n; i++)
        h[i] = go_join(cs_body, &t);
    for (int i = 0; i < n; i++)
        CHECK_EQ(wyn_chan_recv(t.running, NULL, watchdog()), 0); /* Wait for everyone to run. */
    while (n > 0) {
        CHECK_EQ(wyn_chan_recv(t.awake, NULL, 0), -ETIMEDOUT); /* "goroutine not asleep" */
        lock(&t.m);
        wyn_cond_signal(&t.c);
        unlock(&t.m);
        CHECK_EQ(wyn_chan_recv(t.awake, NULL, watchdog()), 0); /* deadlocks if none wakes */
        CHECK_EQ(wyn_chan_recv(t.awake, NULL, 0), -ETIMEDOUT); /* "too many goroutines awake" */
        n--;
    }
    wyn_cond_signal(&t.c);
    for (int i = 0; i < 2; i++)
        join_ok(h[i]);
    wyn_chan_free(t.running);
    wyn_chan_free(t.awake);
}

/* ---- Go: TestCondSignalGenerations ---------------------------------------- */

struct gen {
    wyn_mutex m;
    wyn_cond c;
    wyn_chan *running, *awake;
};

struct gen_arg {
    struct gen *t;
    int i;
};

static void gen_body(void *arg)
{
    struct gen_arg *a = arg;
    struct gen *t = a->t;
    lock(&t->m);
    CHECK_EQ(wyn_chan_send(t->running, NULL, WYN_FOREVER), 0);
    CHECK_EQ(wyn_cond_wait(&t->c, &t->m, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_send(t->awake, &a->i, WYN_FOREVER), 0);
    unlock(&t->m);
}

static void test_cond_signal_generations(void)
{
    enum { N = 100 };
    struct gen t = {0};
    t.running = chan_make(0, N);
    t.awake = chan_make(sizeof(int), N);
    wyn_co *h[N];
    for (int i = 0; i < N; i++) {
        struct gen_arg a = {&t, i};
        h[i] = go_join_copy(gen_body, &a, sizeof a);
        if (i > 0) {
            int got = -1;
            CHECK_EQ(wyn_chan_recv(t.awake, &got, watchdog()), 0);
            if (got != i - 1) {
                fprintf(stderr, "wrong goroutine woke up: want %d, got %d\n", i - 1, got);
                CHECK(0);
            }
        }
        CHECK_EQ(wyn_chan_recv(t.running, NULL, watchdog()), 0);
        lock(&t.m);
        wyn_cond_signal(&t.c);
        unlock(&t.m);
    }
    for (int i = 0; i < N; i++)
        join_ok(h[i]);
    wyn_chan_free(t.running);
    wyn_chan_free(t.awake);
}

/* ---- Go: TestCondBroadcast ------------------------------------------------ */

struct bc {
    wyn_mutex m;
    wyn_cond c;
    wyn_chan *running, *awake;
    bool exit; /* plain, under m */
};

struct bc_arg {
    struct bc *t;
    int g;
};

static void bc_body(void *arg)
{
    struct bc_arg *a = arg;
    struct bc *t = a->t;
    lock(&t->m);
    while (!t->exit) {
        CHECK_EQ(wyn_chan_send(t->running, &a->g, WYN_FOREVER), 0);
        CHECK_EQ(wyn_cond_wait(&t->c, &t->m, WYN_FOREVER), 0);
        CHECK_EQ(wyn_chan_send(t->awake, &a->g, WYN_FOREVER), 0);
    }
    unlock(&t->m);
}

static void test_cond_broadcast(void)
{
    enum { N = 200 };
    struct bc t = {0};
    t.running = chan_make(sizeof(int), N);
    t.awake = chan_make(sizeof(int), N);
    wyn_co *h[N];
    for (int i = 0; i < N; i++) {
        struct bc_arg a = {&t, i};
        h[i] = go_join_copy(bc_body, &a, sizeof a);
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++)
            CHECK_EQ(wyn_chan_recv(t.running, NULL, watchdog()), 0); /* deadlocks unless n are running */
        if (i == N - 1) {
            lock(&t.m);
            t.exit = true;
            unlock(&t.m);
        }
        CHECK_EQ(wyn_chan_recv(t.awake, NULL, 0), -ETIMEDOUT); /* "goroutine not asleep" */
        lock(&t.m);
        wyn_cond_broadcast(&t.c);
        unlock(&t.m);
        bool seen[N] = {0};
        for (int j = 0; j < N; j++) {
            int g = -1;
            CHECK_EQ(wyn_chan_recv(t.awake, &g, watchdog()), 0);
            CHECK(g >= 0 && g < N);
            CHECK(!seen[g]); /* "goroutine woke up twice" */
            seen[g] = true;
        }
    }
    for (int i = 0; i < N; i++)
        join_ok(h[i]);
    CHECK_EQ(wyn_chan_recv(t.running, NULL, 0), -ETIMEDOUT); /* "goroutine did not exit" */
    wyn_cond_broadcast(&t.c);
    wyn_chan_free(t.running);
    wyn_chan_free(t.awake);
}

/* ---- Go: TestRace --------------------------------------------------------- */

struct race {
    wyn_mutex l;
    wyn_cond c;
    int x; /* plain, under l */
    wyn_chan *done;
};

static void race1(void *arg)
{
    struct race *r = arg;
    lock(&r->l);
    r->x = 1;
    CHECK_EQ(wyn_cond_wait(&r->c, &r->l, WYN_FOREVER), 0);
    CHECK_EQ(r->x, 2); /* "want 2" */
    r->x = 3;
    wyn_cond_signal(&r->c);
    unlock(&r->l);
    CHECK_EQ(wyn_chan_send(r->done, NULL, WYN_FOREVER), 0);
}

static void race2(void *arg)
{
    struct race *r = arg;
    lock(&r->l);
    for (;;) {
        if (r->x == 1) {
            r->x = 2;
            wyn_cond_signal(&r->c);
            break;
        }
        unlock(&r->l);
        wyn_yield();
        lock(&r->l);
    }
    unlock(&r->l);
    CHECK_EQ(wyn_chan_send(r->done, NULL, WYN_FOREVER), 0);
}

static void race3(void *arg)
{
    struct race *r = arg;
    lock(&r->l);
    for (;;) {
        if (r->x == 2) {
            CHECK_EQ(wyn_cond_wait(&r->c, &r->l, WYN_FOREVER), 0);
            CHECK_EQ(r->x, 3); /* "want 3" */
            break;
        }
        if (r->x == 3)
            break;
        unlock(&r->l);
        wyn_yield();
        lock(&r->l);
    }
    unlock(&r->l);
    CHECK_EQ(wyn_chan_send(r->done, NULL, WYN_FOREVER), 0);
}

static void test_race(void)
{
    for (int rep = 0; rep < 100; rep++) {
        struct race r = {0};
        r.done = chan_make(0, 0);
        wyn_co *h[3] = {go_join(race1, &r), go_join(race2, &r), go_join(race3, &r)};
        for (int i = 0; i < 3; i++)
            CHECK_EQ(wyn_chan_recv(r.done, NULL, watchdog()), 0);
        for (int i = 0; i < 3; i++)
            join_ok(h[i]);
        wyn_chan_free(r.done);
    }
}

/* ---- Go: TestCondSignalStealing ------------------------------------------- */

struct steal {
    wyn_mutex m;
    wyn_cond cond;
    wyn_chan *ch;
    bool done; /* plain, under m */
};

static void steal_first(void *arg)
{
    struct steal *s = arg;
    lock(&s->m);
    CHECK_EQ(wyn_chan_send(s->ch, NULL, WYN_FOREVER), 0);
    CHECK_EQ(wyn_cond_wait(&s->cond, &s->m, WYN_FOREVER), 0);
    unlock(&s->m);
    CHECK_EQ(wyn_chan_send(s->ch, NULL, WYN_FOREVER), 0);
}

static void steal_broadcast(void *arg) { wyn_cond_broadcast(&((struct steal *)arg)->cond); }

static void steal_second(void *arg)
{
    struct steal *s = arg;
    lock(&s->m);
    while (!s->done)
        CHECK_EQ(wyn_cond_wait(&s->cond, &s->m, WYN_FOREVER), 0);
    unlock(&s->m);
}

static void test_cond_signal_stealing(void)
{
    long iters = scaled(1000, 50);
    for (long it = 0; it < iters; it++) {
        struct steal s = {0};
        s.ch = chan_make(0, 0);
        /* Start a waiter. */
        wyn_co *first = go_join(steal_first, &s);
        CHECK_EQ(wyn_chan_recv(s.ch, NULL, watchdog()), 0);
        lock(&s.m);
        unlock(&s.m);
        /* The waiter is in wyn_cond_wait. Race a broadcaster against a new
         * waiter: the new one may or may not be woken, the first must be. */
        wyn_co *b = go_join(steal_broadcast, &s);
        wyn_co *second = go_join(steal_second, &s);
        /* "First waiter didn't get broadcast." */
        CHECK_EQ(wyn_chan_recv(s.ch, NULL, watchdog()), 0);
        /* Release the second waiter in case it didn't get the broadcast. */
        lock(&s.m);
        s.done = true;
        unlock(&s.m);
        wyn_cond_broadcast(&s.cond);
        join_ok(first);
        join_ok(b);
        join_ok(second);
        wyn_chan_free(s.ch);
    }
}

/* ---- deadlines and no spurious wake-ups ----------------------------------- */

struct noise {
    wyn_mutex *m;
    wyn_cond other;
    atomic_int stop;
};

static void noise_body(void *arg)
{
    struct noise *n = arg;
    while (!atomic_load(&n->stop)) {
        lock(n->m);
        wyn_cond_signal(&n->other);
        wyn_cond_broadcast(&n->other);
        int rc = wyn_cond_wait(&n->other, n->m, wyn_deadline(50 * US));
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        unlock(n->m);
        wyn_yield();
    }
}

/* cond_deadlines: a wait that nobody signals returns -ETIMEDOUT, no earlier
 * than its deadline and holding the mutex; signals sent before the wait are
 * not remembered; signals on another cond sharing the mutex, and heavy
 * traffic on that mutex, do not wake it (a spurious 0 fails). */
static void test_cond_deadlines(void)
{
    wyn_mutex m = {0};
    wyn_cond c = {0};
    lock(&m);
    CHECK_EQ(wyn_cond_wait(&c, &m, 0), -ETIMEDOUT);
    check_held(&m);
    CHECK_EQ(wyn_cond_wait(&c, &m, -2), -EINVAL);
    check_held(&m);
    int64_t d = wyn_deadline(5 * MS);
    CHECK_EQ(wyn_cond_wait(&c, &m, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    check_held(&m);
    wyn_cond_signal(&c); /* nobody waits: lost, as in Go */
    wyn_cond_broadcast(&c);
    CHECK_EQ(wyn_cond_wait(&c, &m, wyn_deadline(5 * MS)), -ETIMEDOUT);
    check_held(&m);
    unlock(&m);

    struct noise n = {&m, {{0}}, 0};
    wyn_co *h[4];
    for (int i = 0; i < 4; i++)
        h[i] = go_join(noise_body, &n);
    for (int i = 0; i < 20; i++) {
        lock(&m);
        CHECK_EQ(wyn_cond_wait(&c, &m, wyn_deadline(1 * MS)), -ETIMEDOUT);
        unlock(&m);
    }
    atomic_store(&n.stop, 1);
    for (int i = 0; i < 4; i++)
        join_ok(h[i]);
    CHECK_EQ(wyn_mutex_lock(&m, 0), 0);
    unlock(&m);
}

/* ---- cancellation --------------------------------------------------------- */

struct ccancel {
    wyn_mutex m;
    wyn_cond c;
    atomic_int stage;
    int rc_blocked, rc_again;
};

static void ccancel_victim(void *arg)
{
    struct ccancel *v = arg;
    lock(&v->m);
    atomic_store(&v->stage, 1);
    v->rc_blocked = wyn_cond_wait(&v->c, &v->m, WYN_FOREVER);
    atomic_store(&v->stage, 2); /* holding m (checked by the main coroutine) */
    while (atomic_load(&v->stage) < 3)
        wyn_yield();
    v->rc_again = wyn_cond_wait(&v->c, &v->m, WYN_FOREVER); /* would wait: -ECANCELED at once */
    atomic_store(&v->stage, 4);
    while (atomic_load(&v->stage) < 5)
        wyn_yield();
    unlock(&v->m);
}

/* cond_cancel: the victim waits; we take the mutex, cancel it and keep the
 * mutex for a while: the victim must not return before it has the mutex back
 * (re-locking ignores cancellation), then returns -ECANCELED holding it. */
static void test_cond_cancel(void)
{
    struct ccancel v = {0};
    wyn_co *h = go_join(ccancel_victim, &v);
    await_flag(&v.stage, 1);
    lock(&v.m); /* the victim is inside wyn_cond_wait now */
    CHECK_EQ(wyn_cancel(h), 0);
    wyn_sleep(5 * MS);
    CHECK_EQ(atomic_load(&v.stage), 1); /* still re-locking */
    unlock(&v.m);
    await_flag(&v.stage, 2);
    CHECK_EQ(v.rc_blocked, -ECANCELED);
    check_held(&v.m);
    atomic_store(&v.stage, 3);
    await_flag(&v.stage, 4);
    CHECK_EQ(v.rc_again, -ECANCELED);
    check_held(&v.m);
    atomic_store(&v.stage, 5);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
    CHECK_EQ(wyn_mutex_lock(&v.m, 0), 0);
    unlock(&v.m);
}

/* ---- a failed wait consumes no signal ------------------------------------- */

struct pair {
    wyn_mutex m;
    wyn_cond c;
    int64_t a_deadline;
    int a_rc, b_rc;
    atomic_int a_in, b_in, b_done;
};

static void pair_a(void *arg)
{
    struct pair *p = arg;
    lock(&p->m);
    atomic_store(&p->a_in, 1);
    p->a_rc = wyn_cond_wait(&p->c, &p->m, p->a_deadline);
    unlock(&p->m);
}

static void pair_b(void *arg)
{
    struct pair *p = arg;
    lock(&p->m);
    atomic_store(&p->b_in, 1);
    p->b_rc = wyn_cond_wait(&p->c, &p->m, watchdog());
    atomic_store(&p->b_done, 1);
    unlock(&p->m);
}

/* Spawn A and B (in either order) and return once both are inside the wait. */
static void pair_start(struct pair *p, int a_first, wyn_co **a, wyn_co **b)
{
    if (a_first) {
        *a = go_join(pair_a, p);
        await_flag(&p->a_in, 1);
        *b = go_join(pair_b, p);
        await_flag(&p->b_in, 1);
    } else {
        *b = go_join(pair_b, p);
        await_flag(&p->b_in, 1);
        *a = go_join(pair_a, p);
        await_flag(&p->a_in, 1);
    }
    lock(&p->m); /* each holds m from setting its flag until it waits */
    unlock(&p->m);
}

/* timed_out_waiter_keeps_no_signal: A's deadline passes while we hold the
 * mutex (so A cannot return yet); then we signal. A must report -ETIMEDOUT
 * and the signal must reach B. A runtime that leaves A on the cond's queue
 * after its timeout (or lets the re-lock wait swallow the signal) gives the
 * signal to A and B sleeps until its deadline: b_rc is -ETIMEDOUT. The cancel
 * variant does the same with wyn_cancel(A) just before the signal. */
static void test_cond_failed_wait_consumes_no_signal(void)
{
    for (int variant = 0; variant < 4; variant++) {
        struct pair p = {0};
        int cancel = variant >= 2;
        p.a_deadline = cancel ? WYN_FOREVER : wyn_deadline(10 * MS);
        wyn_co *a, *b;
        pair_start(&p, variant % 2 == 0, &a, &b);
        lock(&p.m);
        if (cancel)
            CHECK_EQ(wyn_cancel(a), 0);
        else
            wyn_sleep_until(p.a_deadline + 10 * MS);
        wyn_cond_signal(&p.c);
        unlock(&p.m);
        join_ok(a);
        join_ok(b);
        CHECK_EQ(p.a_rc, cancel ? -ECANCELED : -ETIMEDOUT);
        CHECK_EQ(p.b_rc, 0);
        CHECK_EQ(wyn_mutex_lock(&p.m, 0), 0);
        unlock(&p.m);
    }
}

/* signal_vs_deadline_lost_signal (stress): A waits with a deadline (or gets
 * cancelled) at about the moment one signal is sent; B waits with no limit.
 * Exactly one of them may consume the signal: if A reports -ETIMEDOUT or
 * -ECANCELED, B must wake from that very signal (else its watchdog fails:
 * the signal was lost); if A reports 0, B must still be asleep until the
 * final broadcast (a double wake-up from one signal). */
static void test_cond_signal_vs_deadline_lost_signal(void)
{
    long iters = scaled(2000, 100);
    uint64_t seed = 7;
    long a_got = 0, a_failed = 0;
    for (long i = 0; i < iters; i++) {
        struct pair p = {0};
        int mode = (int)(i % 4);
        p.a_deadline = mode == 0 ? wyn_deadline(300 * US) : WYN_FOREVER;
        wyn_co *a, *b;
        pair_start(&p, (int)(rng_next(&seed) & 1), &a, &b);
        switch (mode) {
        case 0: { /* signal within +-100 us of A's deadline */
            int64_t jitter = (int64_t)(rng_next(&seed) % (200 * US)) - 100 * US;
            wyn_sleep_until(p.a_deadline + jitter);
            lock(&p.m);
            wyn_cond_signal(&p.c);
            unlock(&p.m);
            break;
        }
        case 1: /* cancel, then signal, under the mutex */
            lock(&p.m);
            CHECK_EQ(wyn_cancel(a), 0);
            wyn_cond_signal(&p.c);
            unlock(&p.m);
            break;
        case 2: /* signal, then cancel, under the mutex */
            lock(&p.m);
            wyn_cond_signal(&p.c);
            CHECK_EQ(wyn_cancel(a), 0);
            unlock(&p.m);
            break;
        case 3: /* cancel and signal without the mutex, racing A's wake-up */
            if (rng_next(&seed) & 1)
                wyn_yield();
            CHECK_EQ(wyn_cancel(a), 0);
            wyn_cond_signal(&p.c);
            break;
        }
        join_ok(a);
        if (p.a_rc == 0) {
            a_got++;
            for (int k = 0; k < 3; k++)
                wyn_yield();
            CHECK_EQ(atomic_load(&p.b_done), 0);
            lock(&p.m);
            wyn_cond_broadcast(&p.c);
            unlock(&p.m);
        } else {
            a_failed++;
            CHECK_EQ(p.a_rc, mode == 0 ? -ETIMEDOUT : -ECANCELED);
        }
        /* When wyn_cancel returned before the signal was sent, the cancel won
         * A's wait, so the signal is B's. */
        if (mode == 1 || mode == 3)
            CHECK_EQ(p.a_rc, -ECANCELED);
        join_ok(b);
        CHECK_EQ(p.b_rc, 0);
        CHECK_EQ(wyn_mutex_lock(&p.m, 0), 0);
        unlock(&p.m);
    }
    fprintf(stderr, "   %ld iterations: A consumed the signal %ld times, failed %ld times\n", iters,
            a_got, a_failed);
}

/* ---- stress: lost wake-ups ------------------------------------------------ */

/* bounded_buffer_lost_wakeup: 8 producers and 8 consumers share a ring of 4
 * slots guarded by one mutex and two conds, each side waking the other with
 * wyn_cond_signal only. A signal lost between "unlock the mutex" and "park"
 * inside wyn_cond_wait leaves someone asleep while the condition holds, and
 * with single signals that stalls the pipeline: the joins' watchdog (or, at
 * one worker, the deadlock detector) fails. Sums check that nothing was
 * duplicated or dropped. */
enum { RING = 4 };

struct bb {
    wyn_mutex m;
    wyn_cond notfull, notempty;
    long ring[RING];
    int head, count;
    bool closed;
    long per_producer;
    long sum_out; /* plain, under m */
    long n_out;
};

static void bb_producer(void *arg)
{
    struct bb *q = arg;
    for (long i = 1; i <= q->per_producer; i++) {
        lock(&q->m);
        while (q->count == RING)
            CHECK_EQ(wyn_cond_wait(&q->notfull, &q->m, WYN_FOREVER), 0);
        q->ring[(q->head + q->count) % RING] = i;
        q->count++;
        wyn_cond_signal(&q->notempty);
        unlock(&q->m);
        if (i % 7 == 0)
            wyn_yield();
    }
}

static void bb_consumer(void *arg)
{
    struct bb *q = arg;
    for (;;) {
        lock(&q->m);
        while (q->count == 0 && !q->closed)
            CHECK_EQ(wyn_cond_wait(&q->notempty, &q->m, WYN_FOREVER), 0);
        if (q->count == 0) {
            unlock(&q->m);
            return;
        }
        q->sum_out += q->ring[q->head];
        q->n_out++;
        q->head = (q->head + 1) % RING;
        q->count--;
        wyn_cond_signal(&q->notfull);
        unlock(&q->m);
    }
}

static void test_cond_bounded_buffer_lost_wakeup(void)
{
    enum { P = 8, C = 8 };
    struct bb q = {0};
    q.per_producer = scaled(5000, 100);
    wyn_co *ph[P], *ch[C];
    for (int i = 0; i < C; i++)
        ch[i] = go_join(bb_consumer, &q);
    for (int i = 0; i < P; i++)
        ph[i] = go_join(bb_producer, &q);
    for (int i = 0; i < P; i++)
        CHECK_EQ(wyn_join(ph[i], wyn_deadline(60 * SEC)), 0);
    lock(&q.m);
    q.closed = true;
    wyn_cond_broadcast(&q.notempty);
    unlock(&q.m);
    for (int i = 0; i < C; i++)
        CHECK_EQ(wyn_join(ch[i], wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(q.n_out, P * q.per_producer);
    CHECK_EQ(q.sum_out, P * (q.per_producer * (q.per_producer + 1) / 2));
}

/* pingpong_lost_wakeup: 16 pairs pass a turn back and forth through one cond
 * each; every hand-off is a signal racing the other side's way into the wait. */
struct pp {
    wyn_mutex m;
    wyn_cond c;
    int turn; /* plain, under m */
    long rounds;
};

struct pp_arg {
    struct pp *p;
    int me;
};

static void pp_body(void *arg)
{
    struct pp_arg *a = arg;
    struct pp *p = a->p;
    for (long i = 0; i < p->rounds; i++) {
        lock(&p->m);
        while (p->turn != a->me)
            CHECK_EQ(wyn_cond_wait(&p->c, &p->m, WYN_FOREVER), 0);
        p->turn = 1 - a->me;
        wyn_cond_signal(&p->c);
        unlock(&p->m);
    }
}

static void test_cond_pingpong_lost_wakeup(void)
{
    enum { PAIRS = 16 };
    struct pp *pairs = calloc(PAIRS, sizeof *pairs);
    CHECK(pairs != NULL);
    wyn_co *h[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        pairs[i].rounds = scaled(2000, 50);
        for (int me = 0; me < 2; me++) {
            struct pp_arg a = {&pairs[i], me};
            h[2 * i + me] = go_join_copy(pp_body, &a, sizeof a);
        }
    }
    for (int i = 0; i < 2 * PAIRS; i++)
        CHECK_EQ(wyn_join(h[i], wyn_deadline(60 * SEC)), 0);
    for (int i = 0; i < PAIRS; i++)
        CHECK_EQ(pairs[i].turn, 0);
    free(pairs);
}

/* ---- driver --------------------------------------------------------------- */


static void all(void *arg)
{
    (void)arg;
    RUN(test_cond_signal);
    RUN(test_cond_signal_generations);
    RUN(test_cond_broadcast);
    RUN(test_race);
    RUN(test_cond_signal_stealing);
    RUN(test_cond_deadlines);
    RUN(test_cond_cancel);
    RUN(test_cond_failed_wait_consumes_no_signal);
    RUN(test_cond_signal_vs_deadline_lost_signal);
    RUN(test_cond_bounded_buffer_lost_wakeup);
    RUN(test_cond_pingpong_lost_wakeup);
}

int main(void)
{
    test_run(all, NULL);
    fprintf(stderr, "cond_test: ok\n");
    return 0;
}
