/* select7.c — port of Go's test/chan/select7.go.
 *
 * Select when discarding a value: each of three receivers (plain receive,
 * single-case select, two-case select with a never-ready channel), all
 * discarding the value (NULL elem), is paired with each of three senders
 * (plain send, single-case select, two-case select with a never-ready
 * channel) on an unbuffered channel; the sender yields first so the receiver
 * is usually already waiting. Every pairing must complete (no hang, no crash
 * from the NULL destination). */
#include "test.h"

/* Each receiver gets its own reference to c and drops it when done; main
 * waits for them all (returning from main abandons unfinished coroutines). */
static wyn_wg receivers_done;

static void recv1(void *arg)
{
    wyn_chan *c = arg;
    CHECK_EQ(wyn_chan_recv(c, NULL, WYN_FOREVER), 0);
    wyn_chan_free(c);    wyn_wg_done(&receivers_done);
}

static void recv2(void *arg)
{
    wyn_chan *c = arg;
    wyn_case cs = {c, WYN_RECV, NULL, 0};
    CHECK_EQ(wyn_select(&cs, 1, WYN_FOREVER), 0);
    CHECK_EQ(cs.err, 0);
    wyn_chan_free(c);    wyn_wg_done(&receivers_done);
}

static void recv3(void *arg)
{
    wyn_chan *c = arg;
    wyn_chan *c2 = wyn_chan_make(sizeof(int), 0);
    CHECK(c2 != NULL);
    wyn_case cs[2] = {{c, WYN_RECV, NULL, 0}, {c2, WYN_RECV, NULL, 0}};
    CHECK_EQ(wyn_select(cs, 2, WYN_FOREVER), 0);
    CHECK_EQ(cs[0].err, 0);
    wyn_chan_free(c2);
    wyn_chan_free(c);    wyn_wg_done(&receivers_done);
}

static void send1(void (*recv)(void *))
{
    wyn_chan *c = wyn_chan_make(sizeof(int), 0);
    CHECK(c != NULL);
    wyn_wg_add(&receivers_done, 1);
    CHECK_EQ(wyn_spawn(recv, wyn_chan_ref(c)), 0);
    wyn_yield();
    int one = 1;
    CHECK_EQ(wyn_chan_send(c, &one, WYN_FOREVER), 0);
    wyn_chan_free(c);
}

static void send2(void (*recv)(void *))
{
    wyn_chan *c = wyn_chan_make(sizeof(int), 0);
    CHECK(c != NULL);
    wyn_wg_add(&receivers_done, 1);
    CHECK_EQ(wyn_spawn(recv, wyn_chan_ref(c)), 0);
    wyn_yield();
    int one = 1;
    wyn_case cs = {c, WYN_SEND, &one, 0};
    CHECK_EQ(wyn_select(&cs, 1, WYN_FOREVER), 0);
    CHECK_EQ(cs.err, 0);
    wyn_chan_free(c);
}

static void send3(void (*recv)(void *))
{
    wyn_chan *c = wyn_chan_make(sizeof(int), 0);
    CHECK(c != NULL);
    wyn_wg_add(&receivers_done, 1);
    CHECK_EQ(wyn_spawn(recv, wyn_chan_ref(c)), 0);
    wyn_yield();
    wyn_chan *c2 = wyn_chan_make(sizeof(int), 0);
    CHECK(c2 != NULL);
    int one = 1;
    wyn_case cs[2] = {{c, WYN_SEND, &one, 0}, {c2, WYN_SEND, &one, 0}};
    CHECK_EQ(wyn_select(cs, 2, WYN_FOREVER), 0);
    CHECK_EQ(cs[0].err, 0);
    wyn_chan_free(c2);
    wyn_chan_free(c);
}

static void test_main(void *arg)
{
    (void)arg;
    send1(recv1);
    send2(recv1);
    send3(recv1);
    send1(recv2);
    send2(recv2);
    send3(recv2);
    send1(recv3);
    send2(recv3);
    send3(recv3);
    CHECK_EQ(wyn_wg_wait(&receivers_done, WYN_FOREVER), 0);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
