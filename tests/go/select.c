/* select.c — port of Go's test/chan/select.go.
 *
 * Simple select with send cases and a default. Send() repeatedly selects a send
 * on a and on b (1-buffered) until the default is taken, setting a channel to
 * nil once its case fired. Checks: both sends happen exactly once (Send returns
 * 2) and deliver distinct bits (av|bv == 3); with b nil only a fires (1);
 * and, as Go evaluates every send operand on entry to a select (also for nil
 * channels), GetValue is called 10 times in all — here the operands are
 * evaluated before wyn_select, as Go does, so this checks the port. A fired
 * send case must deliver the operand evaluated for that very select call. */
#include "test.h"

static unsigned counter;
static unsigned shift;

static unsigned get_value(void)
{
    counter++;
    return 1u << shift;
}

static int send_ab(wyn_chan *a, wyn_chan *b)
{
    int i = 0;
    for (;;) {
        unsigned va = get_value(), vb = get_value();
        wyn_case cs[2] = {{a, WYN_SEND, &va, 0}, {b, WYN_SEND, &vb, 0}};
        int rc = wyn_select(cs, 2, 0);
        if (rc == -ETIMEDOUT) /* default: break LOOP */
            break;
        CHECK(rc == 0 || rc == 1);
        CHECK_EQ(cs[rc].err, 0);
        i++;
        if (rc == 0)
            a = NULL;
        else
            b = NULL;
        shift++;
    }
    return i;
}

static void test_main(void *arg)
{
    (void)arg;
    wyn_chan *a = wyn_chan_make(sizeof(unsigned), 1);
    wyn_chan *b = wyn_chan_make(sizeof(unsigned), 1);
    CHECK(a != NULL && b != NULL);
    int v = send_ab(a, b);
    CHECK_EQ(v, 2);
    unsigned av = 0, bv = 0;
    CHECK_EQ(wyn_chan_recv(a, &av, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_recv(b, &bv, WYN_FOREVER), 0);
    CHECK_EQ(av | bv, 3); /* bad values */
    v = send_ab(a, NULL);
    CHECK_EQ(v, 1);
    CHECK_EQ(counter, 10);
    wyn_chan_free(a);
    wyn_chan_free(b);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
