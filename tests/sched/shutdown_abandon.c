/* shutdown_abandon: what returning from main leaves behind.
 *
 * - nothing_started_after_main: at one worker, a coroutine spawned by main
 *   that main never yielded to must not start once main has returned (a bug
 *   let the exiting main switch to it, and wyn_run then waited for it).
 * - woken_not_resumed: a receiver whose wait was claimed (here by a cancel)
 *   but which never ran again when main returned must still be unlinked from
 *   the channel, so the channel can be freed and reused in a later runtime
 *   (a bug left its node, pointing into an unmapped stack, in the queue).
 * - many_stack_sizes: more distinct stack sizes than the pool has built-in
 *   classes still spawn (a bug returned -ENOMEM for the 33rd size).
 * - parked_on_sync: coroutines parked on a mutex, an rwmutex (a reader and a
 *   writer), a WaitGroup, a cond and a semaphore when main returns are
 *   unlinked by each object's abandon hook, so a later runtime can use the
 *   objects: an unlock, done, signal or release that found a stale waiter
 *   would wake a node on an unmapped stack (a crash) or hand it the state
 *   (the checks after it fail). */
#include "test.h"

#include <stdatomic.h>

static atomic_int child_started;

static void child(void *arg)
{
    (void)arg;
    atomic_store(&child_started, 1);
}

static void main_spawns_and_returns(void *arg)
{
    (void)arg;
    CHECK_EQ(wyn_spawn(child, NULL), 0);
}

static wyn_chan *shared;
static atomic_int receiver_parked;

static void receiver(void *arg)
{
    (void)arg;
    atomic_store(&receiver_parked, 1);
    int v;
    wyn_chan_recv(shared, &v, WYN_FOREVER);   /* cancelled; never resumed */
}

static void main_cancels_and_returns(void *arg)
{
    (void)arg;
    wyn_co *h;
    CHECK_EQ(wyn_spawn_ex(receiver, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    while (!atomic_load(&receiver_parked))
        wyn_yield();
    /* Let it park (a few switches), then claim its wait without letting it run. */
    for (int i = 0; i < 100; i++)
        wyn_yield();
    CHECK_EQ(wyn_cancel(h), 0);
    /* return at once: the receiver is RUNNABLE with its node still linked */
}

static void main_reuses_channel(void *arg)
{
    (void)arg;
    int v = 7;
    /* No stale receiver: a send with no wait finds nobody. */
    CHECK_EQ(wyn_chan_send(shared, &v, 0), -ETIMEDOUT);
}

static atomic_int sized_ran;

static void sized(void *arg)
{
    (void)arg;
    volatile char buf[8192];
    buf[0] = 1;
    (void)buf[0];
    atomic_fetch_add(&sized_ran, 1);
}

static void main_many_sizes(void *arg)
{
    (void)arg;
    enum { N = 48 };
    wyn_co *h[N];
    for (int i = 0; i < N; i++)
        CHECK_EQ(wyn_spawn_ex(sized, NULL,
                              &(wyn_spawn_opts){.stack_size = (size_t)(20 + i) * 4096, .join = &h[i]}),
                 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(wyn_join(h[i], WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&sized_ran), N);
}

static wyn_mutex   mu, cm;
static wyn_rwmutex rw;
static wyn_wg      wg;
static wyn_cond    cv;
static wyn_sem     sem;
static atomic_int  sync_blocked;

static void mu_waiter(void *arg)
{
    (void)arg;
    atomic_fetch_add(&sync_blocked, 1);
    wyn_mutex_lock(&mu, WYN_FOREVER);
}

static void rw_reader(void *arg)
{
    (void)arg;
    atomic_fetch_add(&sync_blocked, 1);
    wyn_rwmutex_rlock(&rw, WYN_FOREVER);
}

static void rw_writer(void *arg)
{
    (void)arg;
    atomic_fetch_add(&sync_blocked, 1);
    wyn_rwmutex_lock(&rw, WYN_FOREVER);
}

static void wg_waiter(void *arg)
{
    (void)arg;
    atomic_fetch_add(&sync_blocked, 1);
    wyn_wg_wait(&wg, WYN_FOREVER);
}

static void cond_waiter(void *arg)
{
    (void)arg;
    CHECK_EQ(wyn_mutex_lock(&cm, WYN_FOREVER), 0);
    atomic_fetch_add(&sync_blocked, 1);
    wyn_cond_wait(&cv, &cm, WYN_FOREVER);
}

static void sem_waiter(void *arg)
{
    (void)arg;
    atomic_fetch_add(&sync_blocked, 1);
    wyn_sem_acquire(&sem, WYN_FOREVER);
}

static void main_parks_on_sync(void *arg)
{
    (void)arg;
    CHECK_EQ(wyn_mutex_lock(&mu, WYN_FOREVER), 0);
    CHECK_EQ(wyn_rwmutex_lock(&rw, WYN_FOREVER), 0);
    wyn_wg_add(&wg, 1);
    void (*waiters[])(void *) = {mu_waiter, rw_reader, rw_writer, wg_waiter, cond_waiter,
                                 sem_waiter};
    int n = (int)(sizeof waiters / sizeof waiters[0]);
    for (int i = 0; i < n; i++)
        CHECK_EQ(wyn_spawn(waiters[i], NULL), 0);
    while (atomic_load(&sync_blocked) < n)
        wyn_yield();
    for (int i = 0; i < 100; i++)   /* let them park */
        wyn_yield();
    /* return holding mu and rw: every waiter is abandoned, still parked */
}

static void main_reuses_sync(void *arg)
{
    (void)arg;
    wyn_mutex_unlock(&mu);   /* a stale waiter would be handed the mutex */
    CHECK_EQ(wyn_mutex_lock(&mu, 0), 0);
    wyn_mutex_unlock(&mu);
    wyn_rwmutex_unlock(&rw);   /* ... or the rwmutex */
    CHECK_EQ(wyn_rwmutex_lock(&rw, 0), 0);
    wyn_rwmutex_unlock(&rw);
    CHECK_EQ(wyn_rwmutex_rlock(&rw, 0), 0);
    wyn_rwmutex_runlock(&rw);
    wyn_wg_done(&wg);   /* the zero wakes every queued waiter */
    CHECK_EQ(wyn_wg_wait(&wg, 0), 0);
    wyn_cond_broadcast(&cv);
    CHECK_EQ(wyn_mutex_lock(&cm, 0), 0);   /* the cond waiter gave cm up while waiting */
    CHECK_EQ(wyn_cond_wait(&cv, &cm, wyn_deadline(1000 * 1000)), -ETIMEDOUT);
    wyn_mutex_unlock(&cm);
    wyn_sem_release(&sem);   /* a stale waiter would be handed the permit */
    CHECK_EQ(wyn_sem_acquire(&sem, 0), 0);
    CHECK_EQ(wyn_sem_acquire(&sem, 0), -ETIMEDOUT);
}

int main(void)
{
    unsigned w = test_workers();
    test_run(main_spawns_and_returns, NULL);
    if (w == 1)
        CHECK_EQ(atomic_load(&child_started), 0);

    shared = wyn_chan_make(sizeof(int), 0);
    CHECK(shared != NULL);
    test_run(main_cancels_and_returns, NULL);
    wyn_stats st;
    wyn_stats_get(&st);
    if (w == 1)   /* with more, another worker may finish the receiver first */
        CHECK(st.abandoned >= 1);
    test_run(main_reuses_channel, NULL);
    wyn_chan_free(shared);   /* fatal if a waiter were still linked */

    test_run(main_many_sizes, NULL);

    test_run(main_parks_on_sync, NULL);
    wyn_stats_get(&st);
    CHECK_EQ(st.abandoned, 6);
    test_run(main_reuses_sync, NULL);
    printf("ok\n");
    return 0;
}
