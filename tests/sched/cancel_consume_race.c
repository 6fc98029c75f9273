/* cancel_consume_race.c — a wyn_cancel that has passed its handle check
 * while another thread consumes the handle (wyn_detach, or wyn_join
 * returning 0). The runtime stalls the cancel right after its check
 * ($WYN_DEBUG_CANCEL_DELAY_US), and the test consumes the handle inside
 * that window (white box: it waits for wyn__rt.debug_cancel_stalls).
 *
 * What would fail:
 * - busy: the target receives forever from a busy sender when it is
 *   detached. Its next waits are lock_claims waits unless they see the
 *   cancel in flight (wyn__cancellable); if not, the cancel and the sender
 *   both claim one wait: a double ready ("readying coroutine ... in state")
 *   or a value the sender counted as delivered that nobody received.
 * - reuse: the target exits and its record is freed while the cancel
 *   still stalls; a handle-less spawn takes the record and waits on a
 *   channel. Unless the free waits for the cancel (free_handle_record),
 *   the cancel reaches that stranger: -ECANCELED for a coroutine nobody
 *   cancelled, or a double claim of its lock_claims wait. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "sched/sched.h"

enum { BY_DETACH, BY_JOIN };

static wyn_co *victim;

static void *canceller(void *arg)
{
    (void)arg;
    CHECK_EQ(wyn_cancel(victim), 0);
    return NULL;
}

/* Start a wyn_cancel(victim) on a plain thread; return once it is stalled
 * past its handle check. */
static pthread_t start_cancel(void)
{
    uint64_t before = atomic_load(&wyn__rt.debug_cancel_stalls);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, canceller, NULL) == 0);
    int64_t give_up = watchdog();
    while (atomic_load(&wyn__rt.debug_cancel_stalls) == before) {
        CHECK(wyn_now() < give_up);
        wyn_yield();
    }
    return t;
}

/* ---- busy: consumed while the target keeps receiving ---- */
static wyn_chan *ch;
static atomic_long sent, got;
static wyn_wg wg;

static void busy_target(void *arg)
{
    (void)arg;
    for (;;) {
        long v = -1;
        int rc = wyn_chan_recv(ch, &v, WYN_FOREVER);
        if (rc == 0) {
            atomic_fetch_add(&got, 1);
            continue;
        }
        /* Cancelled by now; a receive that need not wait still completes,
         * so after the close it may see -EPIPE instead (API.md). */
        CHECK(wyn_cancelled());
        if (rc == -ECANCELED)
            CHECK_EQ(v, -1);   /* no effect */
        else
            CHECK_EQ(rc, -EPIPE);
        break;
    }
    wyn_wg_done(&wg);
}

static void busy_sender(void *arg)
{
    (void)arg;
    for (long i = 0;; i++) {
        int rc = wyn_chan_send(ch, &i, WYN_FOREVER);
        if (rc == -EPIPE)
            break;
        CHECK_EQ(rc, 0);
        atomic_fetch_add(&sent, 1);
    }
    wyn_wg_done(&wg);
}

static void busy_round(int how, size_t cap)
{
    ch = wyn_chan_make(sizeof(long), cap);
    CHECK(ch != NULL);
    atomic_store(&sent, 0);
    atomic_store(&got, 0);
    wyn_wg_add(&wg, 2);
    victim = go_join(busy_target, NULL);
    CHECK_EQ(wyn_spawn(busy_sender, NULL), 0);
    wyn_sleep(100 * US);
    pthread_t t = start_cancel();
    if (how == BY_DETACH)
        wyn_detach(victim);
    else
        CHECK_EQ(wyn_join(victim, watchdog()), 0);   /* returns once the cancel ends it */
    pthread_join(t, NULL);
    CHECK_EQ(wyn_wg_wait(&wg, wyn_deadline(1)), -ETIMEDOUT);   /* the sender still runs */
    CHECK_EQ(wyn_chan_close(ch), 0);
    CHECK_EQ(wyn_wg_wait(&wg, watchdog()), 0);
    /* Every send that returned 0 was received exactly once, or is still
     * in the buffer. */
    CHECK_EQ(atomic_load(&sent), atomic_load(&got) + (long)wyn_chan_len(ch));
    wyn_chan_free(ch);
}

/* ---- reuse: consumed, exited, and the record taken by a stranger ---- */
static wyn_chan *ch1, *ch2;
static atomic_int stranger_rc;

static void exiting_target(void *arg)
{
    (void)arg;
    int v;
    int rc = wyn_chan_recv(ch1, &v, WYN_FOREVER);
    CHECK(rc == 0 || rc == -ECANCELED);
}

static void stranger(void *arg)
{
    (void)arg;
    int v = 0;
    int rc = wyn_chan_recv(ch2, &v, WYN_FOREVER);
    CHECK_EQ(rc, 0);
    CHECK_EQ(v, 2);
    CHECK(!wyn_cancelled());
    atomic_store(&stranger_rc, rc);
}

static void reuse_round(int how)
{
    ch1 = wyn_chan_make(sizeof(int), 0);
    ch2 = wyn_chan_make(sizeof(int), 0);
    CHECK(ch1 && ch2);
    atomic_store(&stranger_rc, 99);
    victim = go_join(exiting_target, NULL);
    wyn_sleep(100 * US);
    pthread_t t = start_cancel();
    int v = 1;
    if (how == BY_DETACH) {
        wyn_detach(victim);
        /* The target takes the value and exits (its record is freed once
         * the cancel is over), unless the cancel is over already. */
        int rc = wyn_chan_send(ch1, &v, wyn_deadline(20 * MS));
        CHECK(rc == 0 || rc == -ETIMEDOUT);
    } else {
        int rc = wyn_chan_send(ch1, &v, wyn_deadline(20 * MS));
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        CHECK_EQ(wyn_join(victim, watchdog()), 0);
    }
    /* On this worker the stranger likely gets the target's record. */
    CHECK_EQ(wyn_spawn(stranger, NULL), 0);
    wyn_sleep(100 * US);
    pthread_join(t, NULL);
    v = 2;
    CHECK_EQ(wyn_chan_send(ch2, &v, watchdog()), 0);
    while (atomic_load(&stranger_rc) == 99)
        wyn_sleep(50 * US);
    CHECK_EQ(atomic_load(&stranger_rc), 0);
    wyn_chan_free(ch1);
    wyn_chan_free(ch2);
}

static void body(void *arg)
{
    (void)arg;
    long rounds = scaled(20, 3);
    for (long r = 0; r < rounds; r++) {
        busy_round(BY_DETACH, (size_t)(r % 2));
        busy_round(BY_JOIN, (size_t)(r % 2));
        reuse_round(BY_DETACH);
        reuse_round(BY_JOIN);
    }
    printf("cancel_consume_race: %ld rounds ok\n", rounds);
}

int main(void)
{
    setenv("WYN_DEBUG_CANCEL_DELAY_US", "2000", 1);
    test_run(body, NULL);
    return 0;
}
