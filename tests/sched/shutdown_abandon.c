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
 *   classes still spawn (a bug returned -ENOMEM for the 33rd size). */
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
    printf("ok\n");
    return 0;
}
