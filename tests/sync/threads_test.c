/* threads_test.c — sync objects shared by coroutines and plain OS threads.
 *
 * No Go original (every Go caller is a goroutine). The contract of
 * docs/api.md: after wyn_start any OS thread may use the sync objects, and a
 * non-coroutine thread that blocks in one blocks itself. Here main() is a
 * plain thread: it starts the runtime with wyn_start(NULL) ($WYN_WORKERS
 * workers), mixes pthreads and coroutines on the same mutex, rwmutex, wg,
 * once, cond and sem (waking each side from the other), checks deadlines
 * from a thread, and ends with wyn_stop(WYN_FOREVER). Plain counters check
 * the memory model across the two kinds of caller. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#define WYN_TEST_WATCHDOG_SEC 20
#include "test.h"





static pthread_t thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, fn, arg), 0);
    return t;
}

static void thread_join(pthread_t t) { CHECK_EQ(pthread_join(t, NULL), 0); }

/* Give way the right way for whoever calls. */
static void pause_a_little(void)
{
    if (wyn_self() != 0)
        wyn_yield();
    else
        sched_yield();
}

static void nap(int64_t ns)
{
    if (wyn_self() != 0) {
        CHECK_EQ(wyn_sleep(ns), 0);
    } else {
        struct timespec ts = {(time_t)(ns / SEC), (long)(ns % SEC)};
        nanosleep(&ts, NULL);
    }
}

/* ---- mutex and wg: one counter, both kinds of caller ---------------------- */

/* mixed_mutex_lost_update: 2 threads and 8 coroutines add to a plain long
 * under one wyn_mutex, sometimes pausing inside the critical section; a
 * thread blocked in the lock is woken by a coroutine's unlock and the other
 * way round. Coroutines report through a wg that the main thread waits on.
 * A wake-up lost across the two kinds hangs (watchdog), missing ordering or
 * exclusion loses increments. */
struct shared {
    wyn_mutex m;
    wyn_wg wg;
    long n; /* plain, under m */
    long iters;
    atomic_int in_cs;
};

static void add_loop(struct shared *s)
{
    for (long i = 0; i < s->iters; i++) {
        CHECK_EQ(wyn_mutex_lock(&s->m, WYN_FOREVER), 0);
        CHECK_EQ(atomic_fetch_add(&s->in_cs, 1), 0);
        long v = s->n;
        if (i % 32 == 0)
            pause_a_little();
        s->n = v + 1;
        atomic_fetch_sub(&s->in_cs, 1);
        wyn_mutex_unlock(&s->m);
        if (i % 3 == 0)
            pause_a_little();
    }
}

static void add_co(void *arg)
{
    struct shared *s = arg;
    add_loop(s);
    wyn_wg_done(&s->wg);
}

static void *add_thread(void *arg)
{
    struct shared *s = arg;
    add_loop(s);
    wyn_wg_done(&s->wg);
    return NULL;
}

static void test_mixed_mutex_lost_update(void)
{
    enum { T = 2, C = 8 };
    struct shared s = {0};
    s.iters = scaled(5000, 200);
    wyn_wg_add(&s.wg, T + C);
    pthread_t t[T];
    for (int i = 0; i < T; i++)
        t[i] = thread(add_thread, &s);
    for (int i = 0; i < C; i++)
        CHECK_EQ(wyn_spawn(add_co, &s), 0);
    CHECK_EQ(wyn_wg_wait(&s.wg, wyn_deadline(60 * SEC)), 0); /* a plain thread waits */
    for (int i = 0; i < T; i++)
        thread_join(t[i]);
    CHECK_EQ(s.n, (T + C) * s.iters);
    CHECK_EQ(wyn_mutex_lock(&s.m, 0), 0);
    wyn_mutex_unlock(&s.m);
}

/* ---- deadlines from a thread ---------------------------------------------- */

struct holdarg {
    wyn_mutex m;
    wyn_sem go;
};

static void hold_until_told(void *arg)
{
    struct holdarg *h = arg;
    CHECK_EQ(wyn_mutex_lock(&h->m, WYN_FOREVER), 0);
    CHECK_EQ(wyn_sem_acquire(&h->go, WYN_FOREVER), 0);
    wyn_mutex_unlock(&h->m);
}

static void test_thread_deadlines(void)
{
    struct holdarg h = {0};
    wyn_co *co = go_join(hold_until_told, &h);
    int64_t end = watchdog();
    while (wyn_mutex_lock(&h.m, 0) == 0) { /* until the coroutine has it */
        wyn_mutex_unlock(&h.m);
        CHECK(wyn_now() < end);
        sched_yield();
    }
    int64_t d = wyn_deadline(5 * MS);
    CHECK_EQ(wyn_mutex_lock(&h.m, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    wyn_sem s = {0};
    d = wyn_deadline(5 * MS);
    CHECK_EQ(wyn_sem_acquire(&s, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    wyn_wg wg = {0};
    wyn_wg_add(&wg, 1);
    CHECK_EQ(wyn_wg_wait(&wg, wyn_deadline(2 * MS)), -ETIMEDOUT);
    wyn_wg_done(&wg);
    CHECK_EQ(wyn_wg_wait(&wg, 0), 0);
    wyn_sem_release(&h.go); /* a thread's release wakes the coroutine */
    CHECK_EQ(wyn_mutex_lock(&h.m, watchdog()), 0); /* and its unlock wakes us */
    wyn_mutex_unlock(&h.m);
    join_ok(co);
}

/* ---- sem ping-pong: thread <-> coroutine ---------------------------------- */

struct pingpong {
    wyn_sem to_co, to_thread;
    long rounds;
    long ball; /* plain: passed back and forth */
};

static void *pp_thread(void *arg)
{
    struct pingpong *p = arg;
    for (long i = 0; i < p->rounds; i++) {
        CHECK_EQ(p->ball, 2 * i);
        p->ball++;
        wyn_sem_release(&p->to_co);
        CHECK_EQ(wyn_sem_acquire(&p->to_thread, watchdog()), 0);
    }
    return NULL;
}

static void pp_co(void *arg)
{
    struct pingpong *p = arg;
    for (long i = 0; i < p->rounds; i++) {
        CHECK_EQ(wyn_sem_acquire(&p->to_co, watchdog()), 0);
        CHECK_EQ(p->ball, 2 * i + 1);
        p->ball++;
        wyn_sem_release(&p->to_thread);
    }
}

/* sem_pingpong_lost_wakeup: each side parks (coroutine) or blocks (thread)
 * every round and is woken by the other kind; a lost wake-up stalls both. */
static void test_sem_pingpong(void)
{
    struct pingpong p = {0};
    p.rounds = scaled(5000, 200);
    wyn_co *co = go_join(pp_co, &p);
    pthread_t t = thread(pp_thread, &p);
    thread_join(t);
    CHECK_EQ(wyn_join(co, wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(p.ball, 2 * p.rounds);
}

/* ---- cond ping-pong: thread <-> coroutine --------------------------------- */

struct cpp {
    wyn_mutex m;
    wyn_cond c;
    int turn; /* plain, under m */
    long rounds;
};

static void cpp_loop(struct cpp *p, int me)
{
    for (long i = 0; i < p->rounds; i++) {
        CHECK_EQ(wyn_mutex_lock(&p->m, WYN_FOREVER), 0);
        while (p->turn != me)
            CHECK_EQ(wyn_cond_wait(&p->c, &p->m, WYN_FOREVER), 0);
        p->turn = 1 - me;
        wyn_cond_signal(&p->c);
        wyn_mutex_unlock(&p->m);
    }
}

static void cpp_co(void *arg) { cpp_loop(arg, 1); }

static void *cpp_thread(void *arg)
{
    cpp_loop(arg, 0);
    return NULL;
}

static void test_cond_pingpong(void)
{
    struct cpp p = {0};
    p.rounds = scaled(3000, 100);
    wyn_co *co = go_join(cpp_co, &p);
    pthread_t t = thread(cpp_thread, &p);
    thread_join(t);
    CHECK_EQ(wyn_join(co, wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(p.turn, 0);

    /* a timed-out cond wait in a thread returns holding the mutex */
    CHECK_EQ(wyn_mutex_lock(&p.m, WYN_FOREVER), 0);
    int64_t d = wyn_deadline(3 * MS);
    CHECK_EQ(wyn_cond_wait(&p.c, &p.m, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    CHECK_EQ(wyn_mutex_lock(&p.m, 0), -ETIMEDOUT);
    wyn_mutex_unlock(&p.m);
}

/* ---- wg: threads release a waiting coroutine ------------------------------ */

struct wgt {
    wyn_wg wg;
    atomic_int done_count;
};

static void *wgt_thread(void *arg)
{
    struct wgt *w = arg;
    nap(1 * MS);
    atomic_fetch_add(&w->done_count, 1);
    wyn_wg_done(&w->wg);
    return NULL;
}

static void wgt_waiter(void *arg)
{
    struct wgt *w = arg;
    CHECK_EQ(wyn_wg_wait(&w->wg, watchdog()), 0);
    CHECK_EQ(atomic_load(&w->done_count), 4);
}

static void test_wg_threads_wake_coroutines(void)
{
    for (int round = 0; round < 20; round++) {
        struct wgt w = {0};
        wyn_wg_add(&w.wg, 4);
        wyn_co *h[4];
        for (int i = 0; i < 4; i++)
            h[i] = go_join(wgt_waiter, &w);
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            t[i] = thread(wgt_thread, &w);
        for (int i = 0; i < 4; i++)
            thread_join(t[i]);
        for (int i = 0; i < 4; i++)
            join_ok(h[i]);
    }
}

/* ---- rwmutex: thread writer, coroutine and thread readers ----------------- */

struct rwx {
    wyn_rwmutex rw;
    atomic_int readers, writers;
    long a, b; /* plain, written by writers under rw */
    long iters;
};

static void rwx_read_loop(struct rwx *x)
{
    for (long i = 0; i < x->iters; i++) {
        CHECK_EQ(wyn_rwmutex_rlock(&x->rw, WYN_FOREVER), 0);
        atomic_fetch_add(&x->readers, 1);
        CHECK_EQ(atomic_load(&x->writers), 0);
        long a = x->a;
        if (i % 8 == 0)
            pause_a_little();
        CHECK_EQ(x->b, a);
        atomic_fetch_sub(&x->readers, 1);
        wyn_rwmutex_runlock(&x->rw);
        if (i % 3 == 0)
            pause_a_little();
    }
}

static void rwx_write_loop(struct rwx *x)
{
    for (long i = 0; i < x->iters; i++) {
        CHECK_EQ(wyn_rwmutex_lock(&x->rw, WYN_FOREVER), 0);
        CHECK_EQ(atomic_fetch_add(&x->writers, 1), 0);
        CHECK_EQ(atomic_load(&x->readers), 0);
        x->a++;
        if (i % 8 == 0)
            pause_a_little();
        x->b++;
        atomic_fetch_sub(&x->writers, 1);
        wyn_rwmutex_unlock(&x->rw);
        pause_a_little();
    }
}

static void rwx_reader_co(void *arg) { rwx_read_loop(arg); }
static void rwx_writer_co(void *arg) { rwx_write_loop(arg); }

static void *rwx_reader_thread(void *arg)
{
    rwx_read_loop(arg);
    return NULL;
}

static void *rwx_writer_thread(void *arg)
{
    rwx_write_loop(arg);
    return NULL;
}

static void test_rwmutex_mixed(void)
{
    struct rwx x = {0};
    x.iters = scaled(2000, 100);
    pthread_t tw = thread(rwx_writer_thread, &x);
    pthread_t tr = thread(rwx_reader_thread, &x);
    wyn_co *h[7];
    for (int i = 0; i < 6; i++)
        h[i] = go_join(rwx_reader_co, &x);
    h[6] = go_join(rwx_writer_co, &x);
    thread_join(tw);
    thread_join(tr);
    for (int i = 0; i < 7; i++)
        CHECK_EQ(wyn_join(h[i], wyn_deadline(60 * SEC)), 0);
    CHECK_EQ(x.a, 2 * x.iters);
    CHECK_EQ(x.b, 2 * x.iters);
    CHECK_EQ(wyn_rwmutex_lock(&x.rw, 0), 0);
    wyn_rwmutex_unlock(&x.rw);
}

/* ---- once: threads and coroutines on one object --------------------------- */

struct oncex {
    wyn_once once;
    atomic_int calls;
    long value; /* plain, written by fn */
};

static void oncex_fn(void *arg)
{
    struct oncex *o = arg;
    CHECK_EQ(atomic_fetch_add(&o->calls, 1), 0);
    nap(10 * MS);
    o->value = 777;
}

static void oncex_caller(struct oncex *o)
{
    wyn_once_do(&o->once, oncex_fn, o);
    CHECK_EQ(o->value, 777);
}

static void oncex_co(void *arg) { oncex_caller(arg); }

static void *oncex_thread(void *arg)
{
    oncex_caller(arg);
    return NULL;
}

static void test_once_mixed(void)
{
    for (int round = 0; round < 4; round++) {
        struct oncex o = {0};
        pthread_t t[2];
        wyn_co *h[8];
        if (round % 2 == 0) /* a thread likely runs fn */
            t[0] = thread(oncex_thread, &o);
        for (int i = 0; i < 8; i++)
            h[i] = go_join(oncex_co, &o);
        if (round % 2 != 0) /* a coroutine likely runs fn */
            t[0] = thread(oncex_thread, &o);
        t[1] = thread(oncex_thread, &o);
        oncex_caller(&o); /* and the main thread */
        for (int i = 0; i < 2; i++)
            thread_join(t[i]);
        for (int i = 0; i < 8; i++)
            join_ok(h[i]);
        CHECK_EQ(atomic_load(&o.calls), 1);
    }
}

/* ---- driver --------------------------------------------------------------- */


int main(void)
{
    CHECK_EQ(wyn_start(NULL), 0);
    CHECK_EQ(wyn_self(), 0); /* main is a plain thread */
    RUN(test_mixed_mutex_lost_update);
    RUN(test_thread_deadlines);
    RUN(test_sem_pingpong);
    RUN(test_cond_pingpong);
    RUN(test_wg_threads_wake_coroutines);
    RUN(test_rwmutex_mixed);
    RUN(test_once_mixed);
    CHECK_EQ(wyn_stop(WYN_FOREVER), 0);
    fprintf(stderr, "threads_test: ok\n");
    return 0;
}
