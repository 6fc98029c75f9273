/* select3.c — port of Go's test/chan/select3.go.
 *
 * The semantics of select (and of plain channel operations) for basic
 * empty/non-empty cases, each checked to always or never block (testBlock: f
 * runs in a coroutine that reports "never" when f returns; a timer coroutine
 * reports "always" after 10 ms, or after 10 s when f is expected to return) or
 * to always or never "panic" (testPanic: here an operation Go panics on
 * returns -EPIPE, or a select case reports err -EPIPE):
 * - send/receive on a nil (NULL) channel blocks, and is never selected in a
 *   select, with or without default;
 * - send to a channel with free buffer space never blocks;
 * - receive from a closed channel never blocks and yields the zero value with
 *   ok == false (-EPIPE, zeroed elem);
 * - send to a closed channel panics (-EPIPE), also as a select case;
 * - receive from a non-ready channel blocks; select {} blocks; selects with only
 *   nil channels or only non-ready channels block;
 * - selects with a default (passed deadline) never block; selects with a ready
 *   case do not block and do not take the default;
 * - a select with a send and a receive case on the same unbuffered channel does
 *   not pair with itself: it blocks.
 * As in Go, the coroutines left blocked are abandoned when the main coroutine
 * returns; every channel is freed after wyn_run has returned. */
#include "test.h"

#include <stdatomic.h>
#include <stdbool.h>

#define MAXCH 128
static wyn_chan *chans[MAXCH];
static atomic_int nchans;

static wyn_chan *mkchan(size_t elem_size, size_t cap)
{
    wyn_chan *c = wyn_chan_make(elem_size, cap);
    CHECK(c != NULL);
    int i = atomic_fetch_add(&nchans, 1);
    CHECK(i < MAXCH);
    chans[i] = c;
    return c;
}

static const char *const always = "function did not";
static const char *const never = "function did";

static wyn_chan *closedch;

static void unreachable(void)
{
    fprintf(stderr, "control flow shouldn't reach here\n");
    abort();
}

/* Calls f and checks that it always/never "panics" (f returns true if an
 * operation Go panics on returned -EPIPE). */
static void test_panic(const char *signal, bool (*f)(void))
{
    const char *s = f() ? always : never;
    if (s != signal) {
        fprintf(stderr, "%s panic\n", signal);
        abort();
    }
}

struct block_args {
    void (*f)(void);
    wyn_chan *c;
    const char *signal;
};

static void block_runner(void *arg)
{
    struct block_args *a = arg;
    a->f();
    CHECK_EQ(wyn_chan_send(a->c, &never, WYN_FOREVER), 0); /* f didn't block */
}

static void block_timer(void *arg)
{
    struct block_args *a = arg;
    if (a->signal == never)
        /* Wait a long time to make sure that we don't miss our window by
         * accident on a slow machine. */
        wyn_sleep(10LL * 1000 * 1000 * 1000);
    else
        /* Wait as short a time as we can without false negatives. */
        wyn_sleep(10LL * 1000 * 1000);
    CHECK_EQ(wyn_chan_send(a->c, &always, WYN_FOREVER), 0); /* f blocked always */
}

/* Calls f and empirically checks that f always/never blocks. */
static void test_block(const char *signal, void (*f)(void))
{
    struct block_args a = {f, mkchan(sizeof(const char *), 0), signal};
    wyn_spawn_opts o = {.arg_copy = &a, .arg_size = sizeof a};
    CHECK_EQ(wyn_spawn_ex(block_runner, NULL, &o), 0);
    CHECK_EQ(wyn_spawn_ex(block_timer, NULL, &o), 0);
    const char *got = NULL;
    CHECK_EQ(wyn_chan_recv(a.c, &got, WYN_FOREVER), 0);
    if (got != signal) {
        fprintf(stderr, "%s block\n", signal);
        abort();
    }
}

/* ---- the functions under test, in the original's order ---- */

static void nil_send(void) /* nilch <- 7 */
{
    int v = 7;
    wyn_chan_send(NULL, &v, WYN_FOREVER);
}

static void nil_recv(void) /* <-nilch */
{
    int v;
    wyn_chan_recv(NULL, &v, WYN_FOREVER);
}

static bool select_nil_send_default(void)
{
    int v = 7;
    wyn_case cs = {NULL, WYN_SEND, &v, 0};
    int rc = wyn_select(&cs, 1, 0);
    if (rc != -ETIMEDOUT)
        unreachable();
    return false;
}

static bool select_nil_recv_default(void)
{
    int v;
    wyn_case cs = {NULL, WYN_RECV, &v, 0};
    int rc = wyn_select(&cs, 1, 0);
    if (rc != -ETIMEDOUT)
        unreachable();
    return false;
}

static void async_send(void) /* sending to an async channel with free buffer space never blocks */
{
    wyn_chan *ch = mkchan(sizeof(int), 1);
    int v = 7;
    CHECK_EQ(wyn_chan_send(ch, &v, WYN_FOREVER), 0);
}

static void closed_recv(void) /* receiving from a closed channel never blocks */
{
    for (int i = 0; i < 10; i++) {
        int x = 12345;
        CHECK_EQ(wyn_chan_recv(closedch, &x, WYN_FOREVER), -EPIPE);
        if (x != 0) {
            fprintf(stderr, "expected zero value when reading from closed channel\n");
            abort();
        }
        x = 12345;
        int rc = wyn_chan_recv(closedch, &x, WYN_FOREVER);
        bool ok = rc == 0;
        if (x != 0 || ok) {
            fprintf(stderr, "closedch: %d %d\n", x, ok);
            abort();
        }
        CHECK_EQ(rc, -EPIPE);
    }
}

static bool closed_send(void) /* sending to a closed channel panics */
{
    int v = 7;
    int rc = wyn_chan_send(closedch, &v, WYN_FOREVER);
    CHECK(rc == 0 || rc == -EPIPE);
    return rc == -EPIPE;
}

static void nonready_recv(void) /* receiving from a non-ready channel always blocks */
{
    wyn_chan *ch = mkchan(sizeof(int), 0);
    int v;
    wyn_chan_recv(ch, &v, WYN_FOREVER);
}

static void empty_select(void) /* select {} */
{
    wyn_select(NULL, 0, WYN_FOREVER);
}

static void select_nil_recv(void)
{
    int v;
    wyn_case cs = {NULL, WYN_RECV, &v, 0};
    wyn_select(&cs, 1, WYN_FOREVER);
    unreachable();
}

static void select_nil_send(void)
{
    int v = 7;
    wyn_case cs = {NULL, WYN_SEND, &v, 0};
    wyn_select(&cs, 1, WYN_FOREVER);
    unreachable();
}

static void select_nil_recv_send(void)
{
    int v = 0, w = 7;
    wyn_case cs[2] = {{NULL, WYN_RECV, &v, 0}, {NULL, WYN_SEND, &w, 0}};
    wyn_select(cs, 2, WYN_FOREVER);
    unreachable();
}

static void select_nonready(void)
{
    wyn_chan *ch = mkchan(sizeof(int), 0);
    int v;
    wyn_case cs = {ch, WYN_RECV, &v, 0};
    wyn_select(&cs, 1, WYN_FOREVER);
    unreachable();
}

static void select_default(void) /* select { default: } */
{
    CHECK_EQ(wyn_select(NULL, 0, 0), -ETIMEDOUT);
}

static void select_nil_recv_default_nb(void)
{
    select_nil_recv_default();
}

static void select_nil_send_default_nb(void)
{
    select_nil_send_default();
}

static void select_ready_send(void)
{
    wyn_chan *ch = mkchan(sizeof(int), 1);
    int v = 7;
    wyn_case cs = {ch, WYN_SEND, &v, 0};
    int rc = wyn_select(&cs, 1, 0);
    if (rc == -ETIMEDOUT)
        unreachable();
    CHECK_EQ(rc, 0);
    CHECK_EQ(cs.err, 0);
}

static void select_ready_recv(void)
{
    wyn_chan *ch = mkchan(sizeof(int), 1);
    int v = 7;
    CHECK_EQ(wyn_chan_send(ch, &v, WYN_FOREVER), 0);
    int x = 0;
    wyn_case cs = {ch, WYN_RECV, &x, 0};
    int rc = wyn_select(&cs, 1, 0);
    if (rc == -ETIMEDOUT)
        unreachable();
    CHECK_EQ(rc, 0);
    CHECK_EQ(cs.err, 0);
    CHECK_EQ(x, 7);
}

static void select_closed_recv(void) /* case <-closedch: */
{
    wyn_case cs = {closedch, WYN_RECV, NULL, 1};
    CHECK_EQ(wyn_select(&cs, 1, WYN_FOREVER), 0);
    CHECK_EQ(cs.err, -EPIPE);
}

static void select_closed_recv_x(void) /* case x := <-closedch: */
{
    int x = 12345;
    wyn_case cs = {closedch, WYN_RECV, &x, 1};
    CHECK_EQ(wyn_select(&cs, 1, WYN_FOREVER), 0);
    CHECK_EQ(x, 0);
}

static void select_closed_recv_x_ok(void) /* case x, ok := <-closedch: */
{
    int x = 12345;
    wyn_case cs = {closedch, WYN_RECV, &x, 1};
    CHECK_EQ(wyn_select(&cs, 1, WYN_FOREVER), 0);
    bool ok = cs.err == 0;
    CHECK(!ok);
    CHECK_EQ(cs.err, -EPIPE);
    CHECK_EQ(x, 0);
}

static bool select_closed_send(void) /* case closedch <- 7: panics */
{
    int v = 7;
    wyn_case cs = {closedch, WYN_SEND, &v, 0};
    CHECK_EQ(wyn_select(&cs, 1, WYN_FOREVER), 0);
    CHECK(cs.err == 0 || cs.err == -EPIPE);
    return cs.err == -EPIPE;
}

static void select_self(void) /* select should not get confused if it sees itself */
{
    wyn_chan *c = mkchan(sizeof(int), 0);
    int one = 1, got = 0;
    wyn_case cs[2] = {{c, WYN_SEND, &one, 0}, {c, WYN_RECV, &got, 0}};
    wyn_select(cs, 2, WYN_FOREVER);
    unreachable();
}

static void test_main(void *arg)
{
    (void)arg;
    closedch = mkchan(sizeof(int), 0);
    CHECK_EQ(wyn_chan_close(closedch), 0);

    /* sending/receiving from a nil channel blocks */
    test_block(always, nil_send);
    test_block(always, nil_recv);

    /* sending/receiving from a nil channel inside a select is never selected */
    test_panic(never, select_nil_send_default);
    test_panic(never, select_nil_recv_default);

    /* sending to an async channel with free buffer space never blocks */
    test_block(never, async_send);

    /* receiving from a closed channel never blocks */
    test_block(never, closed_recv);

    /* sending to a closed channel panics */
    test_panic(always, closed_send);

    /* receiving from a non-ready channel always blocks */
    test_block(always, nonready_recv);

    /* empty selects always block */
    test_block(always, empty_select);

    /* selects with only nil channels always block */
    test_block(always, select_nil_recv);
    test_block(always, select_nil_send);
    test_block(always, select_nil_recv_send);

    /* selects with non-ready non-nil channels always block */
    test_block(always, select_nonready);

    /* selects with default cases don't block */
    test_block(never, select_default);
    test_block(never, select_nil_recv_default_nb);
    test_block(never, select_nil_send_default_nb);

    /* selects with ready channels don't block */
    test_block(never, select_ready_send);
    test_block(never, select_ready_recv);

    /* selects with closed channels behave like ordinary operations */
    test_block(never, select_closed_recv);
    test_block(never, select_closed_recv_x);
    test_block(never, select_closed_recv_x_ok);
    test_panic(always, select_closed_send);

    /* select should not get confused if it sees itself */
    test_block(always, select_self);
}

int main(void)
{
    test_run(test_main, NULL);
    int n = atomic_load(&nchans);
    for (int i = 0; i < n; i++)
        wyn_chan_free(chans[i]);
    return 0;
}
