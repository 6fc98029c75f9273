/* once_test.c — wyn_once.
 *
 * Port of Go's src/sync/once_test.go (go1.19): TestOnce. (TestOncePanic has no
 * C counterpart: there are no panics to recover from.)
 *
 * Beyond Go, the contract of docs/api.md: concurrent callers all return only
 * after fn has returned, also when fn switches (sleeps, yields, blocks on a
 * channel) while they wait; fn's writes are visible to every caller (the
 * return of fn -> every wyn_once_do returning); waiting in wyn_once_do ignores
 * cancellation; and a stress test over many once objects and workers. */
#include <stdatomic.h>

#include "test.h"






/* ---- Go: TestOnce --------------------------------------------------------- */

struct one_case {
    wyn_once once;
    int o; /* type one int; plain, written only by fn */
    wyn_chan *c;
};

static void increment(void *arg) { ((struct one_case *)arg)->o++; }

static void run(void *arg)
{
    struct one_case *t = arg;
    wyn_once_do(&t->once, increment, t);
    CHECK_EQ(t->o, 1); /* "once failed inside run" */
    CHECK_EQ(wyn_chan_send(t->c, NULL, WYN_FOREVER), 0);
}

static void test_once(void)
{
    struct one_case t = {0};
    t.c = wyn_chan_make(0, 0);
    CHECK(t.c != NULL);
    enum { N = 10 };
    for (int i = 0; i < N; i++)
        CHECK_EQ(wyn_spawn(run, &t), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(wyn_chan_recv(t.c, NULL, watchdog()), 0);
    CHECK_EQ(t.o, 1); /* "once failed outside run" */
    wyn_chan_free(t.c);
}

/* ---- fn switches while others wait ---------------------------------------- */

/* once_early_return: fn sleeps, yields and blocks on a channel before it sets
 * its results and returns, while 32 callers pile up on the same once. Every
 * caller must see the results and a finish time no later than its own
 * return. A runtime that lets waiters through when fn starts (or on its first
 * switch), or runs fn twice, fails the checks; one that loses a waiter's
 * wake-up hangs it until the join watchdog fires. */
struct slow {
    wyn_once once;
    atomic_int calls;
    atomic_int entered;
    long value;          /* plain, written by fn */
    int64_t finished_at; /* plain, written by fn */
    wyn_chan *gate;
    int mode;
};

static void slow_fn(void *arg)
{
    struct slow *s = arg;
    CHECK_EQ(atomic_fetch_add(&s->calls, 1), 0);
    atomic_store(&s->entered, 1);
    switch (s->mode) {
    case 0:
        CHECK_EQ(wyn_sleep(20 * MS), 0);
        break;
    case 1:
        for (int i = 0; i < 1000; i++)
            wyn_yield();
        break;
    case 2: /* blocks until the main coroutine sends */
        CHECK_EQ(wyn_chan_recv(s->gate, NULL, WYN_FOREVER), 0);
        break;
    }
    s->value = 12345;
    s->finished_at = wyn_now();
}

static void slow_caller(void *arg)
{
    struct slow *s = arg;
    wyn_once_do(&s->once, slow_fn, s);
    int64_t now = wyn_now();
    CHECK_EQ(s->value, 12345);
    CHECK(s->finished_at > 0 && s->finished_at <= now);
    CHECK_EQ(atomic_load(&s->calls), 1);
}

static void test_once_fn_switches(void)
{
    enum { N = 32 };
    for (int mode = 0; mode < 3; mode++) {
        struct slow s = {0};
        s.mode = mode;
        s.gate = wyn_chan_make(0, 0);
        CHECK(s.gate != NULL);
        wyn_co *h[N];
        for (int i = 0; i < N; i++)
            h[i] = go_join(slow_caller, &s);
        await_flag(&s.entered, 1);
        if (mode == 2) {
            wyn_sleep(5 * MS);
            CHECK_EQ(s.value, 0);
            CHECK_EQ(wyn_chan_send(s.gate, NULL, watchdog()), 0);
        }
        for (int i = 0; i < N; i++)
            join_ok(h[i]);
        /* and a late caller returns at once without calling fn */
        wyn_once_do(&s.once, slow_fn, &s);
        CHECK_EQ(atomic_load(&s.calls), 1);
        wyn_chan_free(s.gate);
    }
}

/* ---- waiting in once ignores cancellation --------------------------------- */

struct oc {
    wyn_once once;
    wyn_chan *gate;
    atomic_int entered, returned;
    int done; /* plain, written by fn */
};

static void oc_fn(void *arg)
{
    struct oc *o = arg;
    atomic_store(&o->entered, 1);
    CHECK_EQ(wyn_chan_recv(o->gate, NULL, WYN_FOREVER), 0);
    o->done = 1;
}

static void oc_caller(void *arg)
{
    struct oc *o = arg;
    wyn_once_do(&o->once, oc_fn, o);
    CHECK_EQ(o->done, 1);
    atomic_store(&o->returned, 1);
}

/* once_cancelled_waiter: a caller cancelled while it waits for another's fn
 * must keep waiting until fn returns (the contract: waiting in wyn_once_do
 * ignores cancellation), since it has no way to report failure. */
static void test_once_cancelled_waiter(void)
{
    struct oc o = {0};
    o.gate = wyn_chan_make(0, 0);
    CHECK(o.gate != NULL);
    wyn_co *first = go_join(oc_caller, &o);
    await_flag(&o.entered, 1);
    wyn_co *second = go_join(oc_caller, &o);
    wyn_sleep(2 * MS);
    CHECK_EQ(wyn_cancel(second), 0);
    wyn_sleep(5 * MS);
    CHECK_EQ(atomic_load(&o.returned), 0);
    CHECK_EQ(wyn_chan_send(o.gate, NULL, watchdog()), 0);
    join_ok(first);
    CHECK_EQ(wyn_join(second, watchdog()), 0);
    CHECK_EQ(o.done, 1);
    wyn_chan_free(o.gate);
}

/* ---- nested once objects -------------------------------------------------- */

struct nest {
    wyn_once outer, inner;
    int inner_runs, outer_runs;
};

static void inner_fn(void *arg) { ((struct nest *)arg)->inner_runs++; }

static void outer_fn(void *arg)
{
    struct nest *n = arg;
    wyn_once_do(&n->inner, inner_fn, n); /* a different object: fine */
    wyn_yield();
    n->outer_runs++;
}

static void nest_caller(void *arg)
{
    struct nest *n = arg;
    wyn_once_do(&n->outer, outer_fn, n);
    CHECK_EQ(n->outer_runs, 1);
    CHECK_EQ(n->inner_runs, 1);
    wyn_once_do(&n->inner, inner_fn, n);
    CHECK_EQ(n->inner_runs, 1);
}

static void test_once_nested(void)
{
    struct nest n = {0};
    wyn_co *h[8];
    for (int i = 0; i < 8; i++)
        h[i] = go_join(nest_caller, &n);
    for (int i = 0; i < 8; i++)
        join_ok(h[i]);
}

/* ---- stress --------------------------------------------------------------- */

/* once_many_objects: 16 coroutines race through the same array of 500 once
 * objects in different orders; each fn writes a plain value and counts its
 * calls. A lost publication shows as a caller reading 0, a double run as a
 * count above 1, a lost wake-up as a join timeout. */
enum { OBJS = 500 };

struct many {
    wyn_once once[OBJS];
    long value[OBJS];
    atomic_int calls[OBJS];
};

struct many_fn_arg {
    struct many *m;
    int i;
};

static void many_fn(void *arg)
{
    struct many_fn_arg *a = arg;
    CHECK_EQ(atomic_fetch_add(&a->m->calls[a->i], 1), 0);
    if (a->i % 7 == 0)
        wyn_yield();
    a->m->value[a->i] = a->i + 1;
}

struct many_caller_arg {
    struct many *m;
    int start;
};

static void many_caller(void *arg)
{
    struct many_caller_arg *c = arg;
    for (int k = 0; k < OBJS; k++) {
        int i = (c->start + k * 7) % OBJS;
        struct many_fn_arg a = {c->m, i};
        wyn_once_do(&c->m->once[i], many_fn, &a);
        CHECK_EQ(c->m->value[i], i + 1);
    }
}

static void test_once_many_objects(void)
{
    long rounds = scaled(10, 2);
    for (long r = 0; r < rounds; r++) {
        struct many *m = calloc(1, sizeof *m);
        CHECK(m != NULL);
        enum { N = 16 };
        wyn_co *h[N];
        for (int i = 0; i < N; i++) {
            struct many_caller_arg c = {m, (i * 31) % OBJS};
            wyn_co *co = NULL;
            wyn_spawn_opts o = {0};
            o.arg_copy = &c;
            o.arg_size = sizeof c;
            o.join = &co;
            CHECK_EQ(wyn_spawn_ex(many_caller, NULL, &o), 0);
            h[i] = co;
        }
        for (int i = 0; i < N; i++)
            CHECK_EQ(wyn_join(h[i], wyn_deadline(60 * SEC)), 0);
        for (int i = 0; i < OBJS; i++)
            CHECK_EQ(atomic_load(&m->calls[i]), 1);
        free(m);
    }
}

/* ---- driver --------------------------------------------------------------- */


static void all(void *arg)
{
    (void)arg;
    RUN(test_once);
    RUN(test_once_fn_switches);
    RUN(test_once_cancelled_waiter);
    RUN(test_once_nested);
    RUN(test_once_many_objects);
}

int main(void)
{
    test_run(all, NULL);
    fprintf(stderr, "once_test: ok\n");
    return 0;
}
