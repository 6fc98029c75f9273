/* fifo.c — port of Go's test/chan/fifo.go.
 *
 * Checks that channels act as pure FIFOs:
 * - AsynchFifo: N values sent into a buffered channel of capacity N come out in
 *   the order they went in;
 * - SynchFifo: N coroutines, released one after the other through a daisy chain
 *   of unbuffered channels, each receive once from a shared unbuffered channel;
 *   since waiting receivers are served first-come first-served, the i-th
 *   coroutine in the chain must receive value i. */
#include "test.h"

#define N 10

static void asynch_fifo(void)
{
    wyn_chan *ch = wyn_chan_make(sizeof(int), N);
    CHECK(ch != NULL);
    for (int i = 0; i < N; i++)
        CHECK_EQ(wyn_chan_send(ch, &i, WYN_FOREVER), 0);
    for (int i = 0; i < N; i++) {
        int v = -1;
        CHECK_EQ(wyn_chan_recv(ch, &v, WYN_FOREVER), 0);
        CHECK_EQ(v, i); /* "bad receive" */
    }
    wyn_chan_free(ch);
}

/* Every chain coroutine is done (its references dropped) before main
 * returns: returning from main abandons unfinished coroutines, as in Go. */
static wyn_wg chain_done;

struct chain_args {
    wyn_chan *ch, *in, *out;
    int val;
};

static void chain(void *arg)
{
    struct chain_args *a = arg;
    int v;
    CHECK_EQ(wyn_chan_recv(a->in, NULL, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_recv(a->ch, &v, WYN_FOREVER), 0);
    CHECK_EQ(v, a->val); /* panic(val) */
    int one = 1;
    CHECK_EQ(wyn_chan_send(a->out, &one, WYN_FOREVER), 0);
    wyn_chan_free(a->ch);
    wyn_chan_free(a->in);
    wyn_chan_free(a->out);
    wyn_wg_done(&chain_done);
}

/* Thread together a daisy chain to read the elements in sequence. */
static void synch_fifo(void)
{
    wyn_chan *ch = wyn_chan_make(sizeof(int), 0);
    wyn_chan *in = wyn_chan_make(sizeof(int), 0);
    CHECK(ch != NULL && in != NULL);
    wyn_chan *start = wyn_chan_ref(in);
    for (int i = 0; i < N; i++) {
        wyn_chan *out = wyn_chan_make(sizeof(int), 0);
        CHECK(out != NULL);
        /* Each coroutine holds its own reference to each channel it uses. */
        struct chain_args a = {wyn_chan_ref(ch), in, wyn_chan_ref(out), i};
        wyn_wg_add(&chain_done, 1);
        CHECK_EQ(wyn_spawn_ex(chain, NULL,
                              &(wyn_spawn_opts){.arg_copy = &a, .arg_size = sizeof a}),
                 0);
        in = out; /* our reference to `in` went to the coroutine */
    }
    int zero = 0;
    CHECK_EQ(wyn_chan_send(start, &zero, WYN_FOREVER), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(wyn_chan_send(ch, &i, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_recv(in, NULL, WYN_FOREVER), 0);
    wyn_chan_free(start);
    wyn_chan_free(ch);
    wyn_chan_free(in);
}

static void test_main(void *arg)
{
    (void)arg;
    asynch_fifo();
    synch_fifo();
    CHECK_EQ(wyn_wg_wait(&chain_done, WYN_FOREVER), 0);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
