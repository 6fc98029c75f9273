/* goroutines.c — port of Go's test/chan/goroutines.go.
 *
 * Torture test for coroutines: make a lot of them (10000, scaled by
 * $WYN_TEST_SCALE), threaded together by unbuffered channels, each doing
 * `left <- <-right`, then push one value in at the right end and check it
 * arrives at the left end, tearing every coroutine down cleanly. */
#include "test.h"

struct link {
    wyn_chan *left, *right;
};

static void f(void *arg)
{
    struct link *l = arg;
    int v = 0;
    CHECK_EQ(wyn_chan_recv(l->right, &v, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_send(l->left, &v, WYN_FOREVER), 0);
}

static void send_one(void *arg)
{
    int one = 1;
    CHECK_EQ(wyn_chan_send(arg, &one, WYN_FOREVER), 0);
}

static void test_main(void *arg)
{
    (void)arg;
    long n = scaled(10000, 100);
    wyn_chan **chans = calloc((size_t)n + 1, sizeof *chans);
    CHECK(chans != NULL);
    wyn_chan *leftmost = wyn_chan_make(sizeof(int), 0);
    CHECK(leftmost != NULL);
    chans[0] = leftmost;
    wyn_chan *right = leftmost, *left = leftmost;
    for (long i = 0; i < n; i++) {
        right = wyn_chan_make(sizeof(int), 0);
        CHECK(right != NULL);
        chans[i + 1] = right;
        struct link l = {left, right};
        CHECK_EQ(wyn_spawn_ex(f, NULL, &(wyn_spawn_opts){.arg_copy = &l, .arg_size = sizeof l}),
                 0);
        left = right;
    }
    CHECK_EQ(wyn_spawn(send_one, right), 0);
    int v = 0;
    CHECK_EQ(wyn_chan_recv(leftmost, &v, WYN_FOREVER), 0);
    CHECK_EQ(v, 1);
    /* Every coroutine has completed both of its channel operations once the
     * value reached the left end, so every channel is free of waiters. */
    for (long i = 0; i <= n; i++)
        wyn_chan_free(chans[i]);
    free(chans);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
