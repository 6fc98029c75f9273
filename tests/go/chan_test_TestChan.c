/* chan_test_TestChan.c — port of TestChan from Go's runtime/chan_test.go.
 *
 * For every capacity 0 .. N-1 (N = 200, scaled by $WYN_TEST_SCALE, min 20):
 * - a receive from an empty channel blocks (two receivers, one discarding the
 *   value, have not returned 1 ms later), and a non-blocking receive (select
 *   with default) does not block and takes the default;
 * - a send to a full channel blocks, and a non-blocking send takes the default;
 * - a closed channel yields its buffered values in order, then the zero value
 *   with ok == false (-EPIPE, elem zeroed);
 * - close unblocks a waiting receiver, which gets the zero value and !ok;
 * - 100 integers sent by one coroutine arrive uncorrupted in FIFO order (twice,
 *   as Go tests both receive forms);
 * - 4 senders x 1000 integers and 4 receivers x 1000: every value 0..999 is
 *   received exactly 4 times in all;
 * - len/cap are 0/cap on a new channel and cap/cap once it is full.
 * Go's GOMAXPROCS(4) is the ctest worker count here. */
#include "test.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

static void sleep_ms(int ms)
{
    CHECK_EQ(wyn_sleep((int64_t)ms * 1000 * 1000), 0);
}

struct flag_args {
    wyn_chan *c;
    atomic_bool *flag;
    bool discard;
};

static void recv_then_set(void *arg) /* go func() { _ = <-c; recv1 = true }() */
{
    struct flag_args *a = arg;
    int v;
    CHECK_EQ(wyn_chan_recv(a->c, a->discard ? NULL : &v, WYN_FOREVER), 0);
    atomic_store(a->flag, true);
    wyn_chan_free(a->c);
}

static void send_then_set(void *arg) /* go func() { c <- 0; sent = 1 }() */
{
    struct flag_args *a = arg;
    int zero = 0;
    CHECK_EQ(wyn_chan_send(a->c, &zero, WYN_FOREVER), 0);
    atomic_store(a->flag, true);
    wyn_chan_free(a->c);
}

struct done_args {
    wyn_chan *c, *done;
};

static void recv_closed(void *arg)
{
    struct done_args *a = arg;
    int v = 12345;
    int rc = wyn_chan_recv(a->c, &v, WYN_FOREVER);
    bool ok = rc == 0;
    CHECK(rc == 0 || rc == -EPIPE);
    bool res = v == 0 && ok == false;
    CHECK_EQ(wyn_chan_send(a->done, &res, WYN_FOREVER), 0);
    wyn_chan_free(a->c);
    wyn_chan_free(a->done);
}

static void send_100(void *arg)
{
    wyn_chan *c = arg;
    for (int i = 0; i < 100; i++)
        CHECK_EQ(wyn_chan_send(c, &i, WYN_FOREVER), 0);
    wyn_chan_free(c);
}

enum { P = 4, L = 1000 };

static void send_L(void *arg)
{
    wyn_chan *c = arg;
    for (int i = 0; i < L; i++)
        CHECK_EQ(wyn_chan_send(c, &i, WYN_FOREVER), 0);
    wyn_chan_free(c);
}

static void recv_L(void *arg)
{
    struct done_args *a = arg;
    int *recv = calloc(L, sizeof *recv); /* recv := make(map[int]int) */
    CHECK(recv != NULL);
    for (int i = 0; i < L; i++) {
        int v = -1;
        CHECK_EQ(wyn_chan_recv(a->c, &v, WYN_FOREVER), 0);
        CHECK(v >= 0 && v < L); /* a value nobody sent */
        recv[v]++;
    }
    CHECK_EQ(wyn_chan_send(a->done, &recv, WYN_FOREVER), 0);
    wyn_chan_free(a->c);
    wyn_chan_free(a->done);
}

/* A spawn with a copy of the helper's arguments, tracked like test_go: the
 * helpers drop their channel references as their last act, so main must wait
 * for them (test_wait_all) or returning abandons them and leaks the channels. */
struct copied_args {
    void (*fn)(void *);
    union {
        struct flag_args flag;
        struct done_args done;
    } u;
};

static void copied_entry(void *p)
{
    struct copied_args *a = p;
    a->fn(&a->u);
    wyn_wg_done(&test_tracked);
}

static void spawn_copy(void (*fn)(void *), const void *arg, size_t size)
{
    struct copied_args a = {.fn = fn};
    CHECK(size <= sizeof a.u);
    memcpy(&a.u, arg, size);
    wyn_wg_add(&test_tracked, 1);
    CHECK_EQ(wyn_spawn_ex(copied_entry, NULL, &(wyn_spawn_opts){.arg_copy = &a, .arg_size = sizeof a}),
             0);
}

static void test_main(void *arg)
{
    (void)arg;
    int N = (int)scaled(200, 20);
    for (int chanCap = 0; chanCap < N; chanCap++) {
        size_t cap = (size_t)chanCap;
        {
            /* Ensure that receive from empty chan blocks. */
            wyn_chan *c = wyn_chan_make(sizeof(int), cap);
            CHECK(c != NULL);
            atomic_bool recv1 = false, recv2 = false;
            struct flag_args a1 = {wyn_chan_ref(c), &recv1, true};
            spawn_copy(recv_then_set, &a1, sizeof a1);
            struct flag_args a2 = {wyn_chan_ref(c), &recv2, false};
            spawn_copy(recv_then_set, &a2, sizeof a2);
            sleep_ms(1);
            if (atomic_load(&recv1) || atomic_load(&recv2)) {
                fprintf(stderr, "chan[%d]: receive from empty chan\n", chanCap);
                abort();
            }
            /* Ensure that non-blocking receive does not block. */
            int v = 0;
            wyn_case cs = {c, WYN_RECV, &v, 0};
            if (wyn_select(&cs, 1, 0) != -ETIMEDOUT) {
                fprintf(stderr, "chan[%d]: receive from empty chan\n", chanCap);
                abort();
            }
            cs = (wyn_case){c, WYN_RECV, NULL, 0};
            if (wyn_select(&cs, 1, 0) != -ETIMEDOUT) {
                fprintf(stderr, "chan[%d]: receive from empty chan\n", chanCap);
                abort();
            }
            int zero = 0;
            CHECK_EQ(wyn_chan_send(c, &zero, WYN_FOREVER), 0);
            CHECK_EQ(wyn_chan_send(c, &zero, WYN_FOREVER), 0);
            /* recv1 and recv2 live on the stack: wait for both receivers. */
            while (!atomic_load(&recv1) || !atomic_load(&recv2))
                wyn_sleep(100 * 1000);
            wyn_chan_free(c);
        }

        {
            /* Ensure that send to full chan blocks. */
            wyn_chan *c = wyn_chan_make(sizeof(int), cap);
            CHECK(c != NULL);
            for (int i = 0; i < chanCap; i++)
                CHECK_EQ(wyn_chan_send(c, &i, WYN_FOREVER), 0);
            atomic_bool sent = false;
            struct flag_args a = {wyn_chan_ref(c), &sent, false};
            spawn_copy(send_then_set, &a, sizeof a);
            sleep_ms(1);
            if (atomic_load(&sent)) {
                fprintf(stderr, "chan[%d]: send to full chan\n", chanCap);
                abort();
            }
            /* Ensure that non-blocking send does not block. */
            int zero = 0;
            wyn_case cs = {c, WYN_SEND, &zero, 0};
            if (wyn_select(&cs, 1, 0) != -ETIMEDOUT) {
                fprintf(stderr, "chan[%d]: send to full chan\n", chanCap);
                abort();
            }
            int v;
            CHECK_EQ(wyn_chan_recv(c, &v, WYN_FOREVER), 0);
            while (!atomic_load(&sent))
                wyn_sleep(100 * 1000);
            wyn_chan_free(c);
        }

        {
            /* Ensure that we receive 0 from closed chan. */
            wyn_chan *c = wyn_chan_make(sizeof(int), cap);
            CHECK(c != NULL);
            for (int i = 0; i < chanCap; i++)
                CHECK_EQ(wyn_chan_send(c, &i, WYN_FOREVER), 0);
            CHECK_EQ(wyn_chan_close(c), 0);
            for (int i = 0; i < chanCap; i++) {
                int v = -1;
                CHECK_EQ(wyn_chan_recv(c, &v, WYN_FOREVER), 0);
                if (v != i) {
                    fprintf(stderr, "chan[%d]: received %d, expected %d\n", chanCap, v, i);
                    abort();
                }
            }
            int v = -1;
            CHECK_EQ(wyn_chan_recv(c, &v, WYN_FOREVER), -EPIPE);
            if (v != 0) {
                fprintf(stderr, "chan[%d]: received %d, expected %d\n", chanCap, v, 0);
                abort();
            }
            v = -1;
            int rc = wyn_chan_recv(c, &v, WYN_FOREVER);
            bool ok = rc == 0;
            if (v != 0 || ok) {
                fprintf(stderr, "chan[%d]: received %d/%d, expected 0/0\n", chanCap, v, ok);
                abort();
            }
            CHECK_EQ(rc, -EPIPE);
            wyn_chan_free(c);
        }

        {
            /* Ensure that close unblocks receive. */
            wyn_chan *c = wyn_chan_make(sizeof(int), cap);
            wyn_chan *done = wyn_chan_make(sizeof(bool), 0);
            CHECK(c != NULL && done != NULL);
            struct done_args a = {wyn_chan_ref(c), wyn_chan_ref(done)};
            spawn_copy(recv_closed, &a, sizeof a);
            sleep_ms(1);
            CHECK_EQ(wyn_chan_close(c), 0);
            bool res = false;
            CHECK_EQ(wyn_chan_recv(done, &res, WYN_FOREVER), 0);
            if (!res) {
                fprintf(stderr, "chan[%d]: received non zero from closed chan\n", chanCap);
                abort();
            }
            wyn_chan_free(c);
            wyn_chan_free(done);
        }

        {
            /* Send 100 integers, ensure that we receive them non-corrupted in
             * FIFO order. */
            wyn_chan *c = wyn_chan_make(sizeof(int), cap);
            CHECK(c != NULL);
            CHECK_EQ(test_go(send_100, wyn_chan_ref(c)), 0);
            for (int i = 0; i < 100; i++) {
                int v = -1;
                CHECK_EQ(wyn_chan_recv(c, &v, WYN_FOREVER), 0);
                if (v != i) {
                    fprintf(stderr, "chan[%d]: received %d, expected %d\n", chanCap, v, i);
                    abort();
                }
            }

            /* Same, but using recv2. */
            CHECK_EQ(test_go(send_100, wyn_chan_ref(c)), 0);
            for (int i = 0; i < 100; i++) {
                int v = -1;
                int rc = wyn_chan_recv(c, &v, WYN_FOREVER);
                if (rc != 0) {
                    fprintf(stderr, "chan[%d]: receive failed, expected %d\n", chanCap, i);
                    abort();
                }
                if (v != i) {
                    fprintf(stderr, "chan[%d]: received %d, expected %d\n", chanCap, v, i);
                    abort();
                }
            }

            /* Send 1000 integers in 4 coroutines, ensure that we receive what
             * we send. */
            for (int p = 0; p < P; p++)
                CHECK_EQ(test_go(send_L, wyn_chan_ref(c)), 0);
            wyn_chan *done = wyn_chan_make(sizeof(int *), 0);
            CHECK(done != NULL);
            for (int p = 0; p < P; p++) {
                struct done_args a = {wyn_chan_ref(c), wyn_chan_ref(done)};
                spawn_copy(recv_L, &a, sizeof a);
            }
            int recv[L] = {0};
            for (int p = 0; p < P; p++) {
                int *r = NULL;
                CHECK_EQ(wyn_chan_recv(done, &r, WYN_FOREVER), 0);
                for (int k = 0; k < L; k++)
                    recv[k] += r[k];
                free(r);
            }
            for (int k = 0; k < L; k++) {
                if (recv[k] != P) {
                    fprintf(stderr, "chan[%d]: received %d values, expected %d\n", chanCap,
                            recv[k], P);
                    abort();
                }
            }
            wyn_chan_free(done);
            wyn_chan_free(c);
        }

        {
            /* Test len/cap. */
            wyn_chan *c = wyn_chan_make(sizeof(int), cap);
            CHECK(c != NULL);
            if (wyn_chan_len(c) != 0 || wyn_chan_cap(c) != cap) {
                fprintf(stderr, "chan[%d]: bad len/cap, expect %d/%d, got %zu/%zu\n", chanCap,
                        0, chanCap, wyn_chan_len(c), wyn_chan_cap(c));
                abort();
            }
            for (int i = 0; i < chanCap; i++)
                CHECK_EQ(wyn_chan_send(c, &i, WYN_FOREVER), 0);
            if (wyn_chan_len(c) != cap || wyn_chan_cap(c) != cap) {
                fprintf(stderr, "chan[%d]: bad len/cap, expect %d/%d, got %zu/%zu\n", chanCap,
                        chanCap, chanCap, wyn_chan_len(c), wyn_chan_cap(c));
                abort();
            }
            wyn_chan_free(c);
        }
    }
    test_wait_all();   /* helpers drop their references as their last act */
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
