/* select4.c — port of Go's test/chan/select4.go.
 *
 * Checks that a (blocking) select proceeds when a value is ready: with 42
 * buffered in c and nothing on the unbuffered c1, selecting on both receives
 * 42 from c. In Go the receive destination of the c1 case (*f()) must not even
 * be evaluated; the C counterpart is that the destination of a case that did
 * not fire is never written (and its err is left alone). A 30 s deadline only
 * turns a hang into a failure. */
#include "test.h"

static void test_main(void *arg)
{
    (void)arg;
    struct {
        int a;
    } x = {0};
    wyn_chan *c = wyn_chan_make(sizeof(int), 1);
    wyn_chan *c1 = wyn_chan_make(sizeof(int), 0);
    CHECK(c != NULL && c1 != NULL);
    int v = 42;
    CHECK_EQ(wyn_chan_send(c, &v, WYN_FOREVER), 0);
    int never_written = 777;
    wyn_case cs[2] = {
        {c1, WYN_RECV, &never_written, 555}, /* case *f() = <-c1: */
        {c, WYN_RECV, &x.a, 555},            /* case x.a = <-c: */
    };
    int rc = wyn_select(cs, 2, wyn_deadline(30LL * 1000 * 1000 * 1000));
    CHECK_EQ(rc, 1);
    CHECK_EQ(cs[1].err, 0);
    CHECK_EQ(x.a, 42); /* BUG: x.a */
    CHECK_EQ(never_written, 777); /* BUG: called f */
    CHECK_EQ(cs[0].err, 555);
    wyn_chan_free(c);
    wyn_chan_free(c1);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
