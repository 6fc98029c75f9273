/* nonblock.c — port of Go's test/chan/nonblock.go.
 *
 * Channel operations that test for blocking (select with default, here
 * wyn_select with a passed deadline), with several element sizes and types
 * (int32, int64, bool, string), on unbuffered and 1-buffered channels:
 * - a non-blocking receive from an empty channel takes the default;
 * - a non-blocking send retried (with short sleeps) eventually hands its value
 *   to a receiver coroutine, which gets the right value;
 * - a non-blocking receive retried eventually gets a sender coroutine's value.
 * Go's panics become CHECKs. */
#include "test.h"

#include <stdbool.h>

struct ty {
    const char *name;
    size_t size;
    const void *to_receiver; /* what main sends (123, 123456, true, "hello") */
    const void *from_sender; /* what the sender sends (234, 234567, true, "hello again") */
    bool is_string;
};

static bool equal(const struct ty *t, const void *a, const void *b)
{
    if (t->is_string)
        return strcmp(*(const char *const *)a, *(const char *const *)b) == 0;
    return memcmp(a, b, t->size) == 0;
}

struct args {
    const struct ty *t;
    wyn_chan *c, *strobe;
};

static void receiver(void *arg) /* i32receiver, i64receiver, breceiver, sreceiver */
{
    struct args *a = arg;
    char buf[16] = {0};
    CHECK_EQ(wyn_chan_recv(a->c, buf, WYN_FOREVER), 0);
    if (!equal(a->t, buf, a->t->to_receiver)) {
        fprintf(stderr, "%s value\n", a->t->name);
        CHECK(0);
    }
    bool yes = true;
    CHECK_EQ(wyn_chan_send(a->strobe, &yes, WYN_FOREVER), 0);
}

static void sender(void *arg) /* i32sender, i64sender, bsender, ssender */
{
    struct args *a = arg;
    CHECK_EQ(wyn_chan_send(a->c, a->t->from_sender, WYN_FOREVER), 0);
    bool yes = true;
    CHECK_EQ(wyn_chan_send(a->strobe, &yes, WYN_FOREVER), 0);
}

/* Go: var ticker = time.Tick(10 µs); sleep() { <-ticker; <-ticker; 3x Gosched } */
static void sleep_a_bit(void)
{
    CHECK_EQ(wyn_sleep(10 * 1000), 0);
    CHECK_EQ(wyn_sleep(10 * 1000), 0);
    wyn_yield();
    wyn_yield();
    wyn_yield();
}

enum { MAX_TRIES = 10000 }; /* Up to 100ms per test. */

static void spawn_args(void (*fn)(void *), const struct ty *t, wyn_chan *c, wyn_chan *strobe)
{
    struct args a = {t, c, strobe};
    CHECK_EQ(wyn_spawn_ex(fn, NULL, &(wyn_spawn_opts){.arg_copy = &a, .arg_size = sizeof a}), 0);
}

static void test_main(void *arg)
{
    (void)arg;
    static const int32_t i32_123 = 123, i32_234 = 234;
    static const int64_t i64_123456 = 123456, i64_234567 = 234567;
    static const bool b_true = true;
    static const char *const s_hello = "hello", *const s_hello_again = "hello again";
    const struct ty types[4] = {
        {"i32", sizeof(int32_t), &i32_123, &i32_234, false},
        {"i64", sizeof(int64_t), &i64_123456, &i64_234567, false},
        {"b", sizeof(bool), &b_true, &b_true, false},
        {"s", sizeof(const char *), &s_hello, &s_hello_again, true},
    };

    wyn_chan *sync = wyn_chan_make(sizeof(bool), 0);
    CHECK(sync != NULL);

    for (int buffer = 0; buffer < 2; buffer++) {
        wyn_chan *c[4];
        for (int k = 0; k < 4; k++) {
            c[k] = wyn_chan_make(types[k].size, (size_t)buffer);
            CHECK(c[k] != NULL);
        }

        /* select { case x = <-c: panic("blocked ...sender"); default: } */
        for (int k = 0; k < 4; k++) {
            char buf[16];
            memset(buf, 0x5a, sizeof buf);
            wyn_case cs = {c[k], WYN_RECV, buf, 777};
            CHECK_EQ(wyn_select(&cs, 1, 0), -ETIMEDOUT);
            CHECK_EQ(cs.err, 777); /* a select that takes the default writes nothing */
            CHECK_EQ(buf[0], 0x5a);
        }

        for (int k = 0; k < 4; k++) {
            const struct ty *t = &types[k];
            char buf[16] = {0};
            bool b;

            /* go xreceiver(c, sync); Send: for { select { case c <- v: break; default: sleep() } } */
            spawn_args(receiver, t, c[k], sync);
            int try = 0;
            for (;;) {
                wyn_case cs = {c[k], WYN_SEND, (void *)t->to_receiver, 0};
                int rc = wyn_select(&cs, 1, 0);
                if (rc == 0) {
                    CHECK_EQ(cs.err, 0);
                    break;
                }
                CHECK_EQ(rc, -ETIMEDOUT);
                if (++try > MAX_TRIES) {
                    fprintf(stderr, "%sreceiver buffer=%d\n", t->name, buffer);
                    CHECK(0);
                }
                sleep_a_bit();
            }
            CHECK_EQ(wyn_chan_recv(sync, &b, WYN_FOREVER), 0);

            /* go xsender(c, sync); Recv: for { select { case x = <-c: break; default: sleep() } } */
            spawn_args(sender, t, c[k], sync);
            if (buffer > 0)
                CHECK_EQ(wyn_chan_recv(sync, &b, WYN_FOREVER), 0);
            try = 0;
            for (;;) {
                wyn_case cs = {c[k], WYN_RECV, buf, 0};
                int rc = wyn_select(&cs, 1, 0);
                if (rc == 0) {
                    CHECK_EQ(cs.err, 0);
                    break;
                }
                CHECK_EQ(rc, -ETIMEDOUT);
                if (++try > MAX_TRIES) {
                    fprintf(stderr, "%ssender buffer=%d\n", t->name, buffer);
                    CHECK(0);
                }
                sleep_a_bit();
            }
            if (!equal(t, buf, t->from_sender)) {
                fprintf(stderr, "%ssender value\n", t->name);
                CHECK(0);
            }
            if (buffer == 0)
                CHECK_EQ(wyn_chan_recv(sync, &b, WYN_FOREVER), 0);
        }
        /* Every coroutine that used c[] has sent on sync since its last use. */
        for (int k = 0; k < 4; k++)
            wyn_chan_free(c[k]);
    }
    wyn_chan_free(sync);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
