/* rwmutex_test.c — wyn_rwmutex.
 *
 * Port of Go's src/sync/rwmutex_test.go (go1.19): TestParallelReaders,
 * TestRWMutex with HammerRWMutex (TryLock/TryRLock are locks at deadline 0;
 * GOMAXPROCS is $WYN_WORKERS, set by ctest), TestRLocker (RLocker is rlock),
 * and the RWMutex cases of mutex_test.go's TestMutexMisuse as death tests.
 *
 * Beyond Go, the contract of docs/api.md: writer preference (a blocked writer
 * keeps new readers out) tested directly; a writer that times out or is
 * cancelled must let the readers queued behind it in; readers and writers
 * woken by cancel or deadline have had no effect; a steady stream of readers
 * cannot starve a writer; the exclusion invariant and the memory model under
 * stress, with timed-out calls mixed in. */
#include <stdatomic.h>

#include "test.h"






static wyn_chan *chan0(size_t cap)
{
    wyn_chan *c = wyn_chan_make(0, cap);
    CHECK(c != NULL);
    return c;
}

/* The rwmutex is free: a writer gets it at once (so no reader or writer was
 * left behind by a call that failed). */
static void check_free(wyn_rwmutex *rw)
{
    CHECK_EQ(wyn_rwmutex_lock(rw, 0), 0);
    wyn_rwmutex_unlock(rw);
}

/* ---- Go: TestParallelReaders ---------------------------------------------- */

struct par {
    wyn_rwmutex m;
    wyn_chan *clocked, *cunlock, *cdone;
};

static void parallel_reader(void *arg)
{
    struct par *p = arg;
    CHECK_EQ(wyn_rwmutex_rlock(&p->m, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_send(p->clocked, NULL, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_recv(p->cunlock, NULL, WYN_FOREVER), 0);
    wyn_rwmutex_runlock(&p->m);
    CHECK_EQ(wyn_chan_send(p->cdone, NULL, WYN_FOREVER), 0);
}

static void do_test_parallel_readers(int num_readers)
{
    struct par p = {0};
    p.clocked = chan0(0);
    p.cunlock = chan0(0);
    p.cdone = chan0(0);
    for (int i = 0; i < num_readers; i++)
        CHECK_EQ(wyn_spawn(parallel_reader, &p), 0);
    /* Wait for all parallel RLock()s to succeed. */
    for (int i = 0; i < num_readers; i++)
        CHECK_EQ(wyn_chan_recv(p.clocked, NULL, watchdog()), 0);
    for (int i = 0; i < num_readers; i++)
        CHECK_EQ(wyn_chan_send(p.cunlock, NULL, watchdog()), 0);
    /* Wait for the goroutines to finish. */
    for (int i = 0; i < num_readers; i++)
        CHECK_EQ(wyn_chan_recv(p.cdone, NULL, watchdog()), 0);
    wyn_chan_free(p.clocked);
    wyn_chan_free(p.cunlock);
    wyn_chan_free(p.cdone);
    check_free(&p.m);
}

static void test_parallel_readers(void)
{
    do_test_parallel_readers(1);
    do_test_parallel_readers(3);
    do_test_parallel_readers(4);
    do_test_parallel_readers(100);
}

/* ---- Go: TestRWMutex / HammerRWMutex -------------------------------------- */

struct hammer {
    wyn_rwmutex rwm;
    atomic_int activity; /* active readers + 10000 * active writers */
    long iterations;
    wyn_chan *cdone;
};

static void reader(void *arg)
{
    struct hammer *h = arg;
    for (long i = 0; i < h->iterations; i++) {
        CHECK_EQ(wyn_rwmutex_rlock(&h->rwm, WYN_FOREVER), 0);
        int n = atomic_fetch_add(&h->activity, 1) + 1;
        if (n < 1 || n >= 10000) {
            fprintf(stderr, "wlock(%d)\n", n);
            CHECK(0);
        }
        for (volatile int k = 0; k < 100; k++) {
        }
        atomic_fetch_sub(&h->activity, 1);
        wyn_rwmutex_runlock(&h->rwm);
    }
    CHECK_EQ(wyn_chan_send(h->cdone, NULL, WYN_FOREVER), 0);
}

static void writer(void *arg)
{
    struct hammer *h = arg;
    for (long i = 0; i < h->iterations; i++) {
        CHECK_EQ(wyn_rwmutex_lock(&h->rwm, WYN_FOREVER), 0);
        int n = atomic_fetch_add(&h->activity, 10000) + 10000;
        if (n != 10000) {
            fprintf(stderr, "wlock(%d)\n", n);
            CHECK(0);
        }
        for (volatile int k = 0; k < 100; k++) {
        }
        atomic_fetch_sub(&h->activity, 10000);
        wyn_rwmutex_unlock(&h->rwm);
    }
    CHECK_EQ(wyn_chan_send(h->cdone, NULL, WYN_FOREVER), 0);
}

static void hammer_rwmutex(int num_readers, long num_iterations)
{
    struct hammer h = {0};
    h.iterations = num_iterations;
    h.cdone = chan0(0);
    CHECK_EQ(wyn_spawn(writer, &h), 0);
    int i;
    for (i = 0; i < num_readers / 2; i++)
        CHECK_EQ(wyn_spawn(reader, &h), 0);
    CHECK_EQ(wyn_spawn(writer, &h), 0);
    for (; i < num_readers; i++)
        CHECK_EQ(wyn_spawn(reader, &h), 0);
    /* Wait for the 2 writers and all readers to finish. */
    for (i = 0; i < 2 + num_readers; i++)
        CHECK_EQ(wyn_chan_recv(h.cdone, NULL, wyn_deadline(60 * SEC)), 0);
    wyn_chan_free(h.cdone);
    check_free(&h.rwm);
}

static void test_rwmutex(void)
{
    wyn_rwmutex m = {0};

    CHECK_EQ(wyn_rwmutex_lock(&m, WYN_FOREVER), 0);
    CHECK_EQ(wyn_rwmutex_lock(&m, 0), -ETIMEDOUT);  /* TryLock succeeded with mutex locked */
    CHECK_EQ(wyn_rwmutex_rlock(&m, 0), -ETIMEDOUT); /* TryRLock succeeded with mutex locked */
    wyn_rwmutex_unlock(&m);

    CHECK_EQ(wyn_rwmutex_lock(&m, 0), 0); /* TryLock failed with mutex unlocked */
    wyn_rwmutex_unlock(&m);

    CHECK_EQ(wyn_rwmutex_rlock(&m, 0), 0);          /* TryRLock failed with mutex unlocked */
    CHECK_EQ(wyn_rwmutex_rlock(&m, 0), 0);          /* TryRLock failed with mutex rlocked */
    CHECK_EQ(wyn_rwmutex_lock(&m, 0), -ETIMEDOUT);  /* TryLock succeeded with mutex rlocked */
    wyn_rwmutex_runlock(&m);
    wyn_rwmutex_runlock(&m);
    check_free(&m);

    long n = scaled(1000, 5);
    static const int readers[] = {1, 3, 10, 1, 3, 10, 1, 3, 10, 5};
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++)
        hammer_rwmutex(readers[i], n);
}

/* ---- Go: TestRLocker ------------------------------------------------------ */

struct rlocker {
    wyn_rwmutex wl;
    wyn_chan *wlocked, *rlocked;
    int n;
};

static void rlocker_body(void *arg)
{
    struct rlocker *r = arg;
    for (int i = 0; i < r->n; i++) {
        CHECK_EQ(wyn_rwmutex_rlock(&r->wl, WYN_FOREVER), 0); /* rl.Lock() */
        CHECK_EQ(wyn_rwmutex_rlock(&r->wl, WYN_FOREVER), 0); /* rl.Lock() */
        CHECK_EQ(wyn_chan_send(r->rlocked, NULL, WYN_FOREVER), 0);
        CHECK_EQ(wyn_rwmutex_lock(&r->wl, WYN_FOREVER), 0);
        CHECK_EQ(wyn_chan_send(r->wlocked, NULL, WYN_FOREVER), 0);
    }
}

static void test_rlocker(void)
{
    struct rlocker r = {0};
    r.wlocked = chan0(1);
    r.rlocked = chan0(1);
    r.n = 10;
    wyn_co *h = go_join(rlocker_body, &r);
    for (int i = 0; i < r.n; i++) {
        CHECK_EQ(wyn_chan_recv(r.rlocked, NULL, watchdog()), 0);
        wyn_rwmutex_runlock(&r.wl); /* rl.Unlock() */
        /* "RLocker() didn't read-lock it" */
        CHECK_EQ(wyn_chan_recv(r.wlocked, NULL, 0), -ETIMEDOUT);
        wyn_rwmutex_runlock(&r.wl);
        CHECK_EQ(wyn_chan_recv(r.wlocked, NULL, watchdog()), 0);
        /* "RLocker() didn't respect the write lock" */
        CHECK_EQ(wyn_chan_recv(r.rlocked, NULL, 0), -ETIMEDOUT);
        wyn_rwmutex_unlock(&r.wl);
    }
    join_ok(h);
    wyn_chan_free(r.wlocked);
    wyn_chan_free(r.rlocked);
    check_free(&r.wl);
}

/* ---- writer preference ---------------------------------------------------- */

struct pref {
    wyn_rwmutex rw;
    int64_t w_deadline;
    int w_rc, r2_rc;
    atomic_int w_started, w_has, w_release, r2_started, r2_has;
};

static void pref_writer(void *arg)
{
    struct pref *p = arg;
    atomic_store(&p->w_started, 1);
    p->w_rc = wyn_rwmutex_lock(&p->rw, p->w_deadline);
    if (p->w_rc != 0)
        return;
    atomic_store(&p->w_has, 1);
    await_flag(&p->w_release, 1);
    atomic_store(&p->w_has, 2);
    wyn_rwmutex_unlock(&p->rw);
}

static void pref_reader2(void *arg)
{
    struct pref *p = arg;
    atomic_store(&p->r2_started, 1);
    p->r2_rc = wyn_rwmutex_rlock(&p->rw, watchdog());
    if (p->r2_rc != 0)
        return;
    /* A pending writer came first: it must have had and released the lock. */
    int w = atomic_load(&p->w_has);
    CHECK(w == 0 || w == 2);
    atomic_store(&p->r2_has, 1);
    wyn_rwmutex_runlock(&p->rw);
}

/* Poll with deadline-0 read locks until one fails: the writer is now pending. */
static void await_writer_pending(wyn_rwmutex *rw)
{
    int64_t end = watchdog();
    for (;;) {
        int rc = wyn_rwmutex_rlock(rw, 0);
        if (rc == -ETIMEDOUT)
            return;
        CHECK_EQ(rc, 0);
        wyn_rwmutex_runlock(rw);
        CHECK(wyn_now() < end);
        wyn_yield();
    }
}

/* writer_preference: with a reader R1 holding the lock and a writer W blocked,
 * a new reader must wait (at deadline 0 it gets -ETIMEDOUT, every time, and a
 * blocking one gets in only after W has had the lock). A runtime without
 * writer preference lets new readers overlap R1 forever, and W starves. */
static void test_rwmutex_writer_preference(void)
{
    struct pref p = {0};
    p.w_deadline = WYN_FOREVER;
    CHECK_EQ(wyn_rwmutex_rlock(&p.rw, WYN_FOREVER), 0); /* we are R1 */
    wyn_co *w = go_join(pref_writer, &p);
    await_flag(&p.w_started, 1);
    await_writer_pending(&p.rw);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(wyn_rwmutex_rlock(&p.rw, 0), -ETIMEDOUT);
        if (i % 10 == 0)
            wyn_yield();
    }
    CHECK_EQ(wyn_rwmutex_rlock(&p.rw, wyn_deadline(2 * MS)), -ETIMEDOUT);
    wyn_co *r2 = go_join(pref_reader2, &p);
    await_flag(&p.r2_started, 1);
    wyn_sleep(5 * MS);
    CHECK_EQ(atomic_load(&p.r2_has), 0);
    CHECK_EQ(atomic_load(&p.w_has), 0); /* R1 still reads */
    wyn_rwmutex_runlock(&p.rw);
    await_flag(&p.w_has, 1);
    CHECK_EQ(wyn_rwmutex_rlock(&p.rw, 0), -ETIMEDOUT);
    CHECK_EQ(atomic_load(&p.r2_has), 0);
    atomic_store(&p.w_release, 1);
    join_ok(w);
    join_ok(r2);
    CHECK_EQ(p.w_rc, 0);
    CHECK_EQ(p.r2_rc, 0);
    CHECK_EQ(atomic_load(&p.r2_has), 1);
    check_free(&p.rw);
}

/* pending_writer_timeout_strands_readers: R1 reads; W waits with a deadline;
 * R2 queues behind W (writer preference). W times out while R1 still reads.
 * Only readers are left, so R2 must get in at once, and W's failed attempt
 * must leave nothing behind. A runtime that forgets to release the readers
 * it held back for W leaves R2 parked until its watchdog fails the test. */
static void test_rwmutex_pending_writer_timeout_strands_readers(void)
{
    struct pref p = {0};
    p.w_deadline = wyn_deadline(30 * MS);
    CHECK_EQ(wyn_rwmutex_rlock(&p.rw, WYN_FOREVER), 0);
    wyn_co *w = go_join(pref_writer, &p);
    await_flag(&p.w_started, 1);
    await_writer_pending(&p.rw);
    wyn_co *r2 = go_join(pref_reader2, &p);
    join_ok(w);
    CHECK_EQ(p.w_rc, -ETIMEDOUT);
    join_ok(r2); /* R2 got in while we (R1) still read */
    CHECK_EQ(p.r2_rc, 0);
    CHECK_EQ(wyn_rwmutex_rlock(&p.rw, 0), 0); /* new readers are welcome again */
    wyn_rwmutex_runlock(&p.rw);
    CHECK_EQ(wyn_rwmutex_lock(&p.rw, 0), -ETIMEDOUT); /* R1 still holds */
    wyn_rwmutex_runlock(&p.rw);
    check_free(&p.rw);
}

/* pending_writer_cancel_strands_readers: the same, W woken by wyn_cancel. */
static void test_rwmutex_pending_writer_cancel_strands_readers(void)
{
    struct pref p = {0};
    p.w_deadline = WYN_FOREVER;
    CHECK_EQ(wyn_rwmutex_rlock(&p.rw, WYN_FOREVER), 0);
    wyn_co *w = go_join(pref_writer, &p);
    await_flag(&p.w_started, 1);
    await_writer_pending(&p.rw);
    wyn_co *r2 = go_join(pref_reader2, &p);
    await_flag(&p.r2_started, 1);
    wyn_sleep(2 * MS);
    CHECK_EQ(wyn_cancel(w), 0);
    CHECK_EQ(wyn_join(w, WYN_FOREVER), 0);
    CHECK_EQ(p.w_rc, -ECANCELED);
    join_ok(r2);
    CHECK_EQ(p.r2_rc, 0);
    wyn_rwmutex_runlock(&p.rw);
    check_free(&p.rw);
}

/* ---- deadlines and cancellation of readers -------------------------------- */

struct rcancel {
    wyn_rwmutex rw;
    atomic_int stage;
    int rc_blocked, rc_try, rc_free, rc_wfree;
};

static void rcancel_victim(void *arg)
{
    struct rcancel *c = arg;
    atomic_store(&c->stage, 1);
    c->rc_blocked = wyn_rwmutex_rlock(&c->rw, WYN_FOREVER);
    c->rc_try = wyn_rwmutex_rlock(&c->rw, 0); /* would wait: -ECANCELED even at deadline 0 */
    atomic_store(&c->stage, 2);
    while (atomic_load(&c->stage) < 3)
        wyn_yield();
    c->rc_free = wyn_rwmutex_rlock(&c->rw, WYN_FOREVER); /* free: completes */
    if (c->rc_free == 0)
        wyn_rwmutex_runlock(&c->rw);
    c->rc_wfree = wyn_rwmutex_lock(&c->rw, WYN_FOREVER);
    if (c->rc_wfree == 0)
        wyn_rwmutex_unlock(&c->rw);
}

static void test_rwmutex_deadlines_and_cancel(void)
{
    wyn_rwmutex rw = {0};
    CHECK_EQ(wyn_rwmutex_lock(&rw, -2), -EINVAL);
    CHECK_EQ(wyn_rwmutex_rlock(&rw, -2), -EINVAL);
    CHECK_EQ(wyn_rwmutex_lock(&rw, WYN_FOREVER), 0);
    int64_t d = wyn_deadline(3 * MS);
    CHECK_EQ(wyn_rwmutex_rlock(&rw, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    d = wyn_deadline(3 * MS);
    CHECK_EQ(wyn_rwmutex_lock(&rw, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    wyn_rwmutex_unlock(&rw);
    check_free(&rw);

    struct rcancel c = {0};
    CHECK_EQ(wyn_rwmutex_lock(&c.rw, WYN_FOREVER), 0);
    wyn_co *h = go_join(rcancel_victim, &c);
    await_flag(&c.stage, 1);
    wyn_sleep(2 * MS);
    CHECK_EQ(wyn_cancel(h), 0);
    await_flag(&c.stage, 2);
    CHECK_EQ(c.rc_blocked, -ECANCELED);
    CHECK_EQ(c.rc_try, -ECANCELED);
    wyn_rwmutex_unlock(&c.rw);
    check_free(&c.rw); /* the cancelled reader left no reader count behind */
    atomic_store(&c.stage, 3);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
    CHECK_EQ(c.rc_free, 0);
    CHECK_EQ(c.rc_wfree, 0);
    check_free(&c.rw);
}

/* ---- readers must not starve a writer ------------------------------------- */

struct stream {
    wyn_rwmutex rw;
    atomic_int stop;
    atomic_int active;
    long reads;
};

static void stream_reader(void *arg)
{
    struct stream *s = arg;
    while (!atomic_load(&s->stop)) {
        CHECK_EQ(wyn_rwmutex_rlock(&s->rw, watchdog()), 0);
        atomic_fetch_add(&s->active, 1);
        wyn_yield(); /* hold the read lock across a switch: readers overlap */
        atomic_fetch_sub(&s->active, 1);
        wyn_rwmutex_runlock(&s->rw);
    }
}

/* writer_starvation: 8 readers whose read sections always overlap, so the
 * rwmutex is never free of readers; a writer must still get in (repeatedly),
 * because once it waits no new reader enters. */
static void test_rwmutex_writer_not_starved(void)
{
    enum { R = 8 };
    struct stream s = {0};
    wyn_co *h[R];
    for (int i = 0; i < R; i++)
        h[i] = go_join(stream_reader, &s);
    wyn_sleep(2 * MS);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(wyn_rwmutex_lock(&s.rw, watchdog()), 0);
        CHECK_EQ(atomic_load(&s.active), 0);
        wyn_rwmutex_unlock(&s.rw);
        wyn_sleep(100 * US);
    }
    atomic_store(&s.stop, 1);
    for (int i = 0; i < R; i++)
        join_ok(h[i]);
    check_free(&s.rw);
}

/* ---- all readers released by one unlock ----------------------------------- */

struct herd {
    wyn_rwmutex rw;
    atomic_int inside;
    int n;
};

static void herd_reader(void *arg)
{
    struct herd *hd = arg;
    CHECK_EQ(wyn_rwmutex_rlock(&hd->rw, watchdog()), 0);
    atomic_fetch_add(&hd->inside, 1);
    /* Every reader holds the read lock at once: each waits for all. */
    await_flag(&hd->inside, hd->n);
    wyn_rwmutex_runlock(&hd->rw);
}

/* readers_lost_wakeup: 200 readers queue behind a writer; its one unlock must
 * admit all of them together. A runtime that wakes only the first reader, or
 * loses some, leaves readers parked: the rest wait for them forever (caught by
 * the watchdogs). */
static void test_rwmutex_readers_lost_wakeup(void)
{
    for (int round = 0; round < 5; round++) {
        struct herd hd = {0};
        hd.n = 200;
        CHECK_EQ(wyn_rwmutex_lock(&hd.rw, WYN_FOREVER), 0);
        wyn_co *h[200];
        for (int i = 0; i < hd.n; i++)
            h[i] = go_join(herd_reader, &hd);
        if (round & 1)
            wyn_sleep(1 * MS);
        else
            wyn_yield();
        wyn_rwmutex_unlock(&hd.rw);
        for (int i = 0; i < hd.n; i++)
            join_ok(h[i]);
        check_free(&hd.rw);
    }
}

/* ---- stress: exclusion invariant and memory model ------------------------- */

/* exclusion_invariant: readers and writers hammer one rwmutex, some calls with
 * deadlines short enough to time out. A writer holds `writers == 1` and
 * `readers == 0`; a reader sees `writers == 0`. Writers also keep two plain
 * (non-atomic) fields equal and count their critical sections in a plain
 * long; readers check the two fields agree. Broken exclusion trips a counter
 * check or tears the pair; a missing unlock -> lock edge shows as a torn pair
 * or a short total; a timed-out call that left a trace leaves the rwmutex
 * locked (the final check) or hangs the others (the watchdog). */
struct excl {
    wyn_rwmutex rw;
    atomic_int readers, writers;
    long a, b, writes; /* plain, protected by rw */
    long iters;
    atomic_long timeouts;
    atomic_long wsucc;
};

static void excl_reader(void *arg)
{
    struct excl *e = arg;
    for (long i = 0; i < e->iters; i++) {
        int64_t d = (i % 4 == 0) ? wyn_deadline((int64_t)(i % 50) * US) : WYN_FOREVER;
        int rc = wyn_rwmutex_rlock(&e->rw, d);
        if (rc == -ETIMEDOUT) {
            atomic_fetch_add(&e->timeouts, 1);
            continue;
        }
        CHECK_EQ(rc, 0);
        atomic_fetch_add(&e->readers, 1);
        CHECK_EQ(atomic_load(&e->writers), 0);
        long a = e->a;
        if (i % 8 == 0)
            wyn_yield();
        long b = e->b;
        CHECK_EQ(a, b);
        atomic_fetch_sub(&e->readers, 1);
        wyn_rwmutex_runlock(&e->rw);
        if (i % 3 == 0)
            wyn_yield();
    }
}

static void excl_writer(void *arg)
{
    struct excl *e = arg;
    for (long i = 0; i < e->iters; i++) {
        int64_t d = (i % 4 == 1) ? wyn_deadline((int64_t)(i % 50) * US) : WYN_FOREVER;
        int rc = wyn_rwmutex_lock(&e->rw, d);
        if (rc == -ETIMEDOUT) {
            atomic_fetch_add(&e->timeouts, 1);
            continue;
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(atomic_fetch_add(&e->writers, 1), 0);
        CHECK_EQ(atomic_load(&e->readers), 0);
        long v = e->a;
        e->a = v + 1;
        if (i % 8 == 0)
            wyn_yield();
        e->b = v + 1;
        e->writes++;
        atomic_fetch_add(&e->wsucc, 1);
        atomic_fetch_sub(&e->writers, 1);
        wyn_rwmutex_unlock(&e->rw);
        if (i % 2 == 0)
            wyn_yield();
    }
}

static void test_rwmutex_exclusion_invariant(void)
{
    enum { R = 24, W = 4 };
    struct excl e = {0};
    e.iters = scaled(2000, 50);
    wyn_co *h[R + W];
    int k = 0;
    for (int i = 0; i < R + W; i++)
        h[k++] = go_join(i % 7 == 3 ? excl_writer : excl_reader, &e);
    for (int i = 0; i < k; i++)
        CHECK_EQ(wyn_join(h[i], wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(e.writes, atomic_load(&e.wsucc));
    CHECK_EQ(e.a, e.writes);
    CHECK_EQ(e.b, e.writes);
    check_free(&e.rw);
    fprintf(stderr, "   %ld writes, %ld timeouts\n", e.writes, (long)atomic_load(&e.timeouts));
}

/* ---- misuse (Go: TestMutexMisuse, the RWMutex cases) --------------------- */

static void misuse_unlock(void *arg) /* RWMutex.Unlock */
{
    (void)arg;
    wyn_rwmutex mu = {0};
    wyn_rwmutex_unlock(&mu);
}

static void misuse_unlock2(void *arg) /* RWMutex.Unlock2 */
{
    (void)arg;
    wyn_rwmutex mu = {0};
    CHECK_EQ(wyn_rwmutex_rlock(&mu, WYN_FOREVER), 0);
    wyn_rwmutex_unlock(&mu);
}

static void misuse_unlock3(void *arg) /* RWMutex.Unlock3 */
{
    (void)arg;
    wyn_rwmutex mu = {0};
    CHECK_EQ(wyn_rwmutex_lock(&mu, WYN_FOREVER), 0);
    wyn_rwmutex_unlock(&mu);
    wyn_rwmutex_unlock(&mu);
}

static void misuse_runlock(void *arg) /* RWMutex.RUnlock */
{
    (void)arg;
    wyn_rwmutex mu = {0};
    wyn_rwmutex_runlock(&mu);
}

static void misuse_runlock2(void *arg) /* RWMutex.RUnlock2 */
{
    (void)arg;
    wyn_rwmutex mu = {0};
    CHECK_EQ(wyn_rwmutex_lock(&mu, WYN_FOREVER), 0);
    wyn_rwmutex_runlock(&mu);
}

static void misuse_runlock3(void *arg) /* RWMutex.RUnlock3 */
{
    (void)arg;
    wyn_rwmutex mu = {0};
    CHECK_EQ(wyn_rwmutex_rlock(&mu, WYN_FOREVER), 0);
    wyn_rwmutex_runlock(&mu);
    wyn_rwmutex_runlock(&mu);
}

static void death_unlock(void) { test_run(misuse_unlock, NULL); }
static void death_unlock2(void) { test_run(misuse_unlock2, NULL); }
static void death_unlock3(void) { test_run(misuse_unlock3, NULL); }
static void death_runlock(void) { test_run(misuse_runlock, NULL); }
static void death_runlock2(void) { test_run(misuse_runlock2, NULL); }
static void death_runlock3(void) { test_run(misuse_runlock3, NULL); }

/* ---- driver --------------------------------------------------------------- */


static void all(void *arg)
{
    (void)arg;
    RUN(test_parallel_readers);
    RUN(test_rwmutex);
    RUN(test_rlocker);
    RUN(test_rwmutex_writer_preference);
    RUN(test_rwmutex_pending_writer_timeout_strands_readers);
    RUN(test_rwmutex_pending_writer_cancel_strands_readers);
    RUN(test_rwmutex_deadlines_and_cancel);
    RUN(test_rwmutex_writer_not_starved);
    RUN(test_rwmutex_readers_lost_wakeup);
    RUN(test_rwmutex_exclusion_invariant);
}

int main(void)
{
    /* Go's words: "sync: Unlock of unlocked RWMutex", "sync: RUnlock of unlocked RWMutex". */
    test_expect_death(death_unlock, "Unlock of unlocked RWMutex");
    test_expect_death(death_unlock2, "Unlock of unlocked RWMutex");
    test_expect_death(death_unlock3, "Unlock of unlocked RWMutex");
    test_expect_death(death_runlock, "RUnlock of unlocked RWMutex");
    test_expect_death(death_runlock2, "RUnlock of unlocked RWMutex");
    test_expect_death(death_runlock3, "RUnlock of unlocked RWMutex");
    test_run(all, NULL);
    fprintf(stderr, "rwmutex_test: ok\n");
    return 0;
}
