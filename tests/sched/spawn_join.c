/* spawn_join: spawns, joins, detaches, argument copies and errors of the
 * coroutine API, at the worker count ctest gives. A lost or doubled run shows
 * up as a wrong count; a bad join as a hang (caught by the timeout). */
#include "test.h"

#include <stdatomic.h>

static _Atomic long counter;

static void add_one(void *arg)
{
    (void)arg;
    atomic_fetch_add(&counter, 1);
}

struct big {
    long   values[100];
    long   sum;
};

static void check_copy(void *arg)
{
    struct big *b = arg;
    CHECK(((uintptr_t)b % _Alignof(max_align_t)) == 0);
    long s = 0;
    for (int i = 0; i < 100; i++)
        s += b->values[i];
    CHECK_EQ(s, b->sum);
    atomic_fetch_add(&counter, 1);
}

static void sleeper(void *arg)
{
    wyn_sleep(*(int64_t *)arg);
    atomic_fetch_add(&counter, 1);
}

static void self_join(void *arg)
{
    wyn_co **h = arg;
    while (!*(wyn_co *volatile *)h)
        wyn_yield();
    CHECK_EQ(wyn_join(*h, WYN_FOREVER), -EDEADLK);
}

static void body(void *arg)
{
    (void)arg;
    atomic_store(&counter, 0);
    CHECK(wyn_self() != 0);
    /* errors, with no effect */
    wyn_co *h = NULL;
    CHECK_EQ(wyn_spawn(NULL, NULL), -EINVAL);
    CHECK_EQ(wyn_spawn_ex(add_one, NULL, &(wyn_spawn_opts){.arg_size = 8}), -EINVAL);
    long x = 1;
    CHECK_EQ(wyn_spawn_ex(add_one, &x, &(wyn_spawn_opts){.arg_copy = &x, .arg_size = 8}), -EINVAL);
    CHECK_EQ(wyn_spawn_ex(add_one, NULL,
                          &(wyn_spawn_opts){.arg_copy = &x, .arg_size = WYN_ARG_MAX + 1}),
             -EINVAL);
    CHECK_EQ(wyn_spawn_ex(add_one, NULL, &(wyn_spawn_opts){.stack_size = (size_t)1 << 50}),
             -ENOMEM);
    CHECK_EQ(wyn_join(NULL, 0), -EINVAL);

    /* many detached spawns */
    long n = scaled(100000, 1000);
    for (long i = 0; i < n; i++)
        CHECK_EQ(wyn_spawn(add_one, NULL), 0);
    while (atomic_load(&counter) < n)
        wyn_yield();
    CHECK_EQ(atomic_load(&counter), n);

    /* joins, with argument copies and custom stacks */
    atomic_store(&counter, 0);
    enum { J = 200 };
    wyn_co *hs[J];
    for (int i = 0; i < J; i++) {
        struct big b;
        b.sum = 0;
        for (int k = 0; k < 100; k++)
            b.sum += b.values[k] = i * 1000 + k;
        CHECK_EQ(wyn_spawn_ex(check_copy, NULL,
                              &(wyn_spawn_opts){.arg_copy = &b, .arg_size = sizeof b,
                                                .join = &hs[i],
                                                .stack_size = i % 2 ? 20000 : 0}),
                 0);
    }
    for (int i = 0; i < J; i++)
        CHECK_EQ(wyn_join(hs[i], WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&counter), J);

    /* join with a deadline: times out, keeps the handle, then succeeds */
    int64_t long_sleep = 50 * 1000 * 1000;
    CHECK_EQ(wyn_spawn_ex(sleeper, &long_sleep, &(wyn_spawn_opts){.join = &h}), 0);
    CHECK_EQ(wyn_join(h, 0), -ETIMEDOUT);
    CHECK_EQ(wyn_join(h, wyn_deadline(1000 * 1000)), -ETIMEDOUT);
    CHECK_EQ(wyn_join(h, -5), -EINVAL);
    CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);

    /* detach of a running and of a finished coroutine */
    CHECK_EQ(wyn_spawn_ex(add_one, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    wyn_detach(h);
    CHECK_EQ(wyn_spawn_ex(add_one, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    wyn_sleep(1000 * 1000);
    wyn_detach(h);

    /* self join */
    static wyn_co *selfh;
    selfh = NULL;
    CHECK_EQ(wyn_spawn_ex(self_join, &selfh, &(wyn_spawn_opts){.join = &selfh}), 0);
    wyn_co *sh = selfh;
    CHECK_EQ(wyn_join(sh, WYN_FOREVER), 0);

    wyn_stats st;
    wyn_stats_get(&st);
    CHECK(st.spawned >= (uint64_t)n + J);
    CHECK(st.workers >= 1);
}

/* Using a handle after wyn_detach is fatal (API.md), and must be: a detached
 * coroutine's channel waits are claimed without a CAS, on the promise that
 * nobody can cancel it (chan.h). */
static void park_forever(void *arg)
{
    (void)arg;
    wyn_sleep(60 * SEC);
}

static void cancel_after_detach(void *arg)
{
    (void)arg;
    wyn_co *h = go_join(park_forever, NULL);
    wyn_detach(h);
    wyn_cancel(h);
}

static void join_after_detach(void *arg)
{
    (void)arg;
    wyn_co *h = go_join(park_forever, NULL);
    wyn_detach(h);
    wyn_join(h, WYN_FOREVER);
}

static void death_cancel_after_detach(void) { test_run(cancel_after_detach, NULL); }
static void death_join_after_detach(void) { test_run(join_after_detach, NULL); }

int main(void)
{
    /* Death tests fork, so they run before any runtime exists here. */
    test_expect_death(death_cancel_after_detach, "wyn_cancel: coroutine #");
    test_expect_death(death_join_after_detach, "wyn_join: coroutine #");
    CHECK_EQ(wyn_spawn(add_one, NULL), -ESRCH);
    test_run(body, NULL);
    wyn_stats st;
    wyn_stats_get(&st);
    CHECK_EQ(st.alive, 0);
    CHECK_EQ(st.spawned, st.finished + st.abandoned);
    CHECK_EQ(wyn_spawn(add_one, NULL), -ESRCH);
    /* a runtime can start again */
    test_run(body, NULL);
    printf("ok\n");
    return 0;
}
