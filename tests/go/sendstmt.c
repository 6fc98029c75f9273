/* sendstmt.c — port of Go's test/chan/sendstmt.go.
 *
 * Go's test is about parsing send statements; its run-time checks are ported:
 * - chanchan: a channel of channels: `case <-cc <- 2:` in a select with
 *   default receives a channel from cc (when the select is entered, as Go
 *   evaluates the operand) and must then be able to send 2 on it without
 *   blocking (it has buffer room), never taking the default; 2 is then
 *   received from c;
 * - sendprec: a bool channel carries `false || true` as true. */
#include "test.h"

#include <stdbool.h>

static void chanchan(void)
{
    wyn_chan *cc = wyn_chan_make(sizeof(wyn_chan *), 1);
    wyn_chan *c = wyn_chan_make(sizeof(int), 1);
    CHECK(cc != NULL && c != NULL);
    CHECK_EQ(wyn_chan_send(cc, &c, WYN_FOREVER), 0);

    wyn_chan *got = NULL; /* <-cc, evaluated on entry to the select */
    CHECK_EQ(wyn_chan_recv(cc, &got, WYN_FOREVER), 0);
    CHECK(got == c);
    int two = 2;
    wyn_case cs = {got, WYN_SEND, &two, 0};
    int rc = wyn_select(&cs, 1, 0);
    if (rc == -ETIMEDOUT) {
        fprintf(stderr, "nonblock\n");
        abort();
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(cs.err, 0);

    int v = 0;
    CHECK_EQ(wyn_chan_recv(c, &v, WYN_FOREVER), 0);
    CHECK_EQ(v, 2); /* bad receive */
    wyn_chan_free(cc);
    wyn_chan_free(c);
}

static void sendprec(void)
{
    wyn_chan *c = wyn_chan_make(sizeof(bool), 1);
    CHECK(c != NULL);
    bool v = false || true; /* c <- false || true */
    CHECK_EQ(wyn_chan_send(c, &v, WYN_FOREVER), 0);
    bool got = false;
    CHECK_EQ(wyn_chan_recv(c, &got, WYN_FOREVER), 0);
    CHECK(got); /* sent false */
    wyn_chan_free(c);
}

static void test_main(void *arg)
{
    (void)arg;
    chanchan();
    sendprec();
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
