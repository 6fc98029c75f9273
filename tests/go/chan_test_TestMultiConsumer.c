/* chan_test_TestMultiConsumer.c — port of TestMultiConsumer from Go's
 * runtime/chan_test.go.
 *
 * 23 worker coroutines range over a buffered work queue q (yielding now and
 * then to mess with the FIFO-ish nature of range) and forward every value to a
 * buffered result channel r; a feeder sends 271828 values (scaled by
 * $WYN_TEST_SCALE), closes q, waits for the workers (WaitGroup) and closes r.
 * The main coroutine ranges over r. Checks that exactly niter values arrive and
 * that their sum is the feeder's: nothing lost or duplicated, and ranging ends
 * only after close (and the feeder's plain writes to `expect` are visible to
 * the receive that reported the close). */
#include "test.h"

enum { NWORK = 23 };

static const int pn[] = {2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
#define NPN ((int)(sizeof pn / sizeof pn[0]))

static wyn_chan *q, *r;
static wyn_wg wg;
static long niter;
static long expect;

static void worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    int v;
    int rc;
    while ((rc = wyn_chan_recv(q, &v, WYN_FOREVER)) == 0) { /* for v := range q */
        /* mess with the fifo-ish nature of range */
        if (pn[w % NPN] == v)
            wyn_yield();
        CHECK_EQ(wyn_chan_send(r, &v, WYN_FOREVER), 0);
    }
    CHECK_EQ(rc, -EPIPE);
    CHECK_EQ(v, 0);
    wyn_wg_done(&wg);
}

static void feeder(void *arg) /* feeder & closer */
{
    (void)arg;
    for (long i = 0; i < niter; i++) {
        int v = pn[i % NPN];
        expect += v;
        CHECK_EQ(wyn_chan_send(q, &v, WYN_FOREVER), 0);
    }
    CHECK_EQ(wyn_chan_close(q), 0);             /* no more work */
    CHECK_EQ(wyn_wg_wait(&wg, WYN_FOREVER), 0); /* workers done */
    CHECK_EQ(wyn_chan_close(r), 0);             /* ... so there can be no more results */
}

static void test_main(void *arg)
{
    (void)arg;
    niter = scaled(271828, 1000);
    q = wyn_chan_make(sizeof(int), NWORK * 3);
    r = wyn_chan_make(sizeof(int), NWORK * 3);
    CHECK(q != NULL && r != NULL);

    /* workers */
    for (int i = 0; i < NWORK; i++) {
        wyn_wg_add(&wg, 1);
        CHECK_EQ(wyn_spawn(worker, (void *)(intptr_t)i), 0);
    }

    /* feeder & closer; joined, so that the channels can be freed after it */
    wyn_co *fc = NULL;
    CHECK_EQ(wyn_spawn_ex(feeder, NULL, &(wyn_spawn_opts){.join = &fc}), 0);

    /* consume & check */
    long n = 0, s = 0;
    int v, rc;
    while ((rc = wyn_chan_recv(r, &v, WYN_FOREVER)) == 0) {
        n++;
        s += v;
    }
    CHECK_EQ(rc, -EPIPE);
    if (n != niter || s != expect) {
        fprintf(stderr, "Expected sum %ld (got %ld) from %ld iter (saw %ld)\n", expect, s, niter,
                n);
        abort();
    }
    CHECK_EQ(wyn_join(fc, WYN_FOREVER), 0);
    wyn_chan_free(q);
    wyn_chan_free(r);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
