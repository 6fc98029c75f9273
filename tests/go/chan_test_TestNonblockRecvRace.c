/* chan_test_TestNonblockRecvRace.c — port of TestNonblockRecvRace from Go's
 * runtime/chan_test.go.
 *
 * A 1-buffered channel holding a value is closed while another coroutine does
 * a non-blocking receive (select with default) on it; the main coroutine then
 * receives too. From the spawn on, the channel is always ready for receiving
 * (first it holds a value, then it is closed), so the non-blocking select must
 * never take the default ("chan is not ready"): it either gets the value or
 * sees the close. Repeated 10000 times (scaled by $WYN_TEST_SCALE). Beyond
 * Go, checks that each round's value is received exactly once (by the select or
 * by the main coroutine) and that the other side sees -EPIPE with a zero. */
#include "test.h"

#include <stdatomic.h>

static atomic_long got_value;
static wyn_wg wg;

static void nb_recv(void *arg)
{
    wyn_chan *c = arg;
    int v;
    wyn_case cs = {c, WYN_RECV, &v, 0};
    int rc = wyn_select(&cs, 1, 0);
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "chan is not ready\n");
        abort();
    }
    CHECK_EQ(rc, 0);
    CHECK(cs.err == 0 || cs.err == -EPIPE);
    CHECK_EQ(v, cs.err == 0 ? 1 : 0);
    if (cs.err == 0)
        atomic_fetch_add(&got_value, 1);
    wyn_chan_free(c);
    wyn_wg_done(&wg);
}

static void test_main(void *arg)
{
    (void)arg;
    long n = scaled(10000, 100);
    for (long i = 0; i < n; i++) {
        wyn_chan *c = wyn_chan_make(sizeof(int), 1);
        CHECK(c != NULL);
        int one = 1;
        CHECK_EQ(wyn_chan_send(c, &one, WYN_FOREVER), 0);
        wyn_wg_add(&wg, 1);
        CHECK_EQ(wyn_spawn(nb_recv, wyn_chan_ref(c)), 0);
        CHECK_EQ(wyn_chan_close(c), 0);
        int v = -1;
        int rc = wyn_chan_recv(c, &v, WYN_FOREVER);
        CHECK(rc == 0 || rc == -EPIPE);
        CHECK_EQ(v, rc == 0 ? 1 : 0);
        if (rc == 0)
            atomic_fetch_add(&got_value, 1);
        wyn_chan_free(c);
    }
    CHECK_EQ(wyn_wg_wait(&wg, WYN_FOREVER), 0);
    CHECK_EQ(atomic_load(&got_value), n);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
