/* zerosize.c — port of Go's test/chan/zerosize.go.
 *
 * Checks that channels of a zero-sized element type (Go's chan [0]byte and
 * chan struct{}) can be made, unbuffered and buffered. Beyond the original
 * (which only makes them), each one is used once, since an elem_size of 0 is
 * an easy special case to get wrong: a buffered one holds a value, an
 * unbuffered one hands one over, with NULL elements both ways. */
#include "test.h"

static void recv_one(void *arg)
{
    CHECK_EQ(wyn_chan_recv(arg, NULL, WYN_FOREVER), 0);
    wyn_chan_free(arg);
}

static void test_main(void *arg)
{
    (void)arg;
    for (int kind = 0; kind < 2; kind++) { /* [0]byte, then struct{} */
        wyn_chan *c0 = wyn_chan_make(0, 0); /* make(chan T) */
        CHECK(c0 != NULL);
        wyn_chan *c1 = wyn_chan_make(0, 1); /* make(chan T, 1) */
        CHECK(c1 != NULL);
        CHECK_EQ(wyn_chan_cap(c0), 0);
        CHECK_EQ(wyn_chan_cap(c1), 1);

        CHECK_EQ(wyn_chan_send(c1, NULL, WYN_FOREVER), 0);
        CHECK_EQ(wyn_chan_len(c1), 1);
        CHECK_EQ(wyn_chan_send(c1, NULL, 0), -ETIMEDOUT); /* full */
        CHECK_EQ(wyn_chan_recv(c1, NULL, WYN_FOREVER), 0);
        CHECK_EQ(wyn_chan_len(c1), 0);

        wyn_co *receiver;
        CHECK_EQ(wyn_spawn_ex(recv_one, wyn_chan_ref(c0), &(wyn_spawn_opts){.join = &receiver}), 0);
        CHECK_EQ(wyn_chan_send(c0, NULL, WYN_FOREVER), 0);
        /* Join it: returning from main abandons coroutines not yet finished
         * (as in Go), and its reference would leak. */
        CHECK_EQ(wyn_join(receiver, WYN_FOREVER), 0);

        wyn_chan_free(c0);
        wyn_chan_free(c1);
    }
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
