/* chan_test_TestSelectStress.c — port of TestSelectStress from Go's
 * runtime/chan_test.go.
 *
 * Four channels (two unbuffered, capacities 2 and 3). For each channel one
 * coroutine sends N values and one receives N; plus one coroutine sends N
 * values on each channel from a single 4-case send select, and one receives N
 * from each through a 4-case receive select, dropping a channel from its select
 * (setting the case's channel to NULL, Go's nil) once it has done N on it. All
 * of it interacts chaotically across the workers; the check is that the whole
 * construct completes (no lost wake-up, no deadlock: a hang is reported by the
 * deadlock detector or the ctest timeout). Beyond Go, the count of receptions
 * per channel is checked to be 2N.
 *
 * N is 100000 as in Go (10000 with -short), scaled by $WYN_TEST_SCALE (min
 * 1000). */
#include "test.h"

#include <stdatomic.h>

static wyn_chan *c[4];
static long N;
static wyn_wg wg;
static atomic_long received[4];

static void sender(void *arg)
{
    int k = (int)(intptr_t)arg;
    int zero = 0;
    for (long i = 0; i < N; i++)
        CHECK_EQ(wyn_chan_send(c[k], &zero, WYN_FOREVER), 0);
    wyn_wg_done(&wg);
}

static void receiver(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (long i = 0; i < N; i++)
        CHECK_EQ(wyn_chan_recv(c[k], NULL, WYN_FOREVER), 0);
    atomic_fetch_add(&received[k], N);
    wyn_wg_done(&wg);
}

static void select_sender(void *arg)
{
    (void)arg;
    long n[4] = {0};
    int zero = 0;
    /* Go's case order: c1[3], c1[2], c1[0], c1[1] */
    static const int order[4] = {3, 2, 0, 1};
    wyn_case cs[4];
    for (int j = 0; j < 4; j++)
        cs[j] = (wyn_case){c[order[j]], WYN_SEND, &zero, 0};
    for (long i = 0; i < 4 * N; i++) {
        int rc = wyn_select(cs, 4, WYN_FOREVER);
        CHECK(rc >= 0 && rc < 4);
        CHECK_EQ(cs[rc].err, 0);
        int k = order[rc];
        n[k]++;
        if (n[k] == N)
            cs[rc].chan = NULL;
    }
    wyn_wg_done(&wg);
}

static void select_receiver(void *arg)
{
    (void)arg;
    long n[4] = {0};
    int v;
    wyn_case cs[4];
    for (int k = 0; k < 4; k++)
        cs[k] = (wyn_case){c[k], WYN_RECV, &v, 0};
    for (long i = 0; i < 4 * N; i++) {
        int rc = wyn_select(cs, 4, WYN_FOREVER);
        CHECK(rc >= 0 && rc < 4);
        CHECK_EQ(cs[rc].err, 0);
        n[rc]++;
        if (n[rc] == N)
            cs[rc].chan = NULL;
    }
    for (int k = 0; k < 4; k++)
        atomic_fetch_add(&received[k], n[k]);
    wyn_wg_done(&wg);
}

static void test_main(void *arg)
{
    (void)arg;
    c[0] = wyn_chan_make(sizeof(int), 0);
    c[1] = wyn_chan_make(sizeof(int), 0);
    c[2] = wyn_chan_make(sizeof(int), 2);
    c[3] = wyn_chan_make(sizeof(int), 3);
    for (int k = 0; k < 4; k++)
        CHECK(c[k] != NULL);
    N = scaled(100000, 1000);
    wyn_wg_add(&wg, 10);
    for (int k = 0; k < 4; k++) {
        CHECK_EQ(wyn_spawn(sender, (void *)(intptr_t)k), 0);
        CHECK_EQ(wyn_spawn(receiver, (void *)(intptr_t)k), 0);
    }
    CHECK_EQ(wyn_spawn(select_sender, NULL), 0);
    CHECK_EQ(wyn_spawn(select_receiver, NULL), 0);
    CHECK_EQ(wyn_wg_wait(&wg, WYN_FOREVER), 0);
    for (int k = 0; k < 4; k++) {
        CHECK_EQ(atomic_load(&received[k]), 2 * N);
        CHECK_EQ(wyn_chan_len(c[k]), 0);
        wyn_chan_free(c[k]);
    }
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
