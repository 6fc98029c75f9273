/* chan_api.c — edge cases of the channel and select API (API.md: Conventions,
 * Channels, Select), not from Go's tests.
 *
 * Checks: elem_size 0 channels (NULL elems, buffered count, hand-off, select);
 * wyn_chan_make refusing elem_size >= 65536 and an overflowing elem_size * cap
 * with NULL + EINVAL (65535 works); send and select send case with a NULL elem
 * and elem_size > 0 -> -EINVAL with no effect; wyn_chan_close(NULL) -> -EINVAL;
 * double close -> -EPIPE; len/cap; a receive with a NULL elem discards the
 * value (buffered and hand-off); wyn_chan_ref; select with n > 1024 or a bad op
 * -> -EINVAL with no effect (n == 1024 is fine); select with n == 0 waits until
 * its deadline and returns -ETIMEDOUT; a NULL channel blocks until the
 * deadline; a select with a send and a receive case on the same unbuffered
 * channel does not receive its own send (deadline 0 and a short wait:
 * -ETIMEDOUT, nothing written, nothing queued); a closed channel is ready at a
 * passed deadline (recv, send, select); a receive on a closed drained channel
 * zeroes its elem; select picks uniformly among ready cases (each of 4 ready
 * cases fires at least 15% of the time); wyn_deadline's saturation and its 0
 * for ns <= 0; negative deadlines other than WYN_FOREVER -> -EINVAL with no
 * effect. */
#include "test.h"

#include <stdatomic.h>


static void recv_discard(void *arg)
{
    wyn_chan *c = arg;
    CHECK_EQ(wyn_chan_recv(c, NULL, WYN_FOREVER), 0);
    wyn_chan_free(c);
}

static void send_42(void *arg)
{
    wyn_chan *c = arg;
    int v = 42;
    CHECK_EQ(wyn_chan_send(c, &v, WYN_FOREVER), 0);
    wyn_chan_free(c);
}

static void zero_size(void)
{
    wyn_chan *u = wyn_chan_make(0, 0);
    wyn_chan *b = wyn_chan_make(0, 3);
    CHECK(u != NULL && b != NULL);
    CHECK_EQ(wyn_chan_cap(u), 0);
    CHECK_EQ(wyn_chan_cap(b), 3);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(wyn_chan_send(b, NULL, 0), 0);
    CHECK_EQ(wyn_chan_len(b), 3);
    CHECK_EQ(wyn_chan_send(b, NULL, 0), -ETIMEDOUT);
    char dummy = 'x'; /* a non-NULL elem is fine too, and not written */
    CHECK_EQ(wyn_chan_recv(b, &dummy, 0), 0);
    CHECK_EQ(dummy, 'x');
    CHECK_EQ(wyn_chan_send(b, &dummy, 0), 0);
    CHECK_EQ(wyn_chan_len(b), 3);
    wyn_case cs[2] = {{u, WYN_RECV, NULL, 1}, {b, WYN_RECV, NULL, 1}};
    CHECK_EQ(wyn_select(cs, 2, 0), 1);
    CHECK_EQ(cs[1].err, 0);
    CHECK_EQ(wyn_chan_len(b), 2);
    CHECK_EQ(wyn_chan_send(u, NULL, 0), -ETIMEDOUT); /* nobody receiving */

    CHECK_EQ(wyn_spawn(recv_discard, wyn_chan_ref(u)), 0);
    CHECK_EQ(wyn_chan_send(u, NULL, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_close(b), 0);
    CHECK_EQ(wyn_chan_recv(b, NULL, 0), 0); /* drain */
    CHECK_EQ(wyn_chan_recv(b, NULL, 0), 0);
    CHECK_EQ(wyn_chan_recv(b, NULL, 0), -EPIPE);
    wyn_chan_free(u);
    wyn_chan_free(b);

    /* No buffer is needed for a zero-sized element, however large the cap. */
    wyn_chan *big = wyn_chan_make(0, (size_t)1 << 20);
    CHECK(big != NULL);
    CHECK_EQ(wyn_chan_cap(big), (size_t)1 << 20);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(wyn_chan_send(big, NULL, 0), 0);
    CHECK_EQ(wyn_chan_len(big), 1000);
    wyn_chan_free(big);
}

static void make_limits(void)
{
    errno = 0;
    CHECK(wyn_chan_make(65536, 0) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(wyn_chan_make(65536, 1) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(wyn_chan_make(SIZE_MAX, 0) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(wyn_chan_make(8, SIZE_MAX / 4) == NULL); /* 8 * cap overflows */
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(wyn_chan_make(16, SIZE_MAX) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(wyn_chan_make(65535, SIZE_MAX / 65535 + 1) == NULL); /* just overflows */
    CHECK_EQ(errno, EINVAL);

    /* The largest element size works, buffered and as a hand-off. */
    wyn_chan *c = wyn_chan_make(65535, 2);
    CHECK(c != NULL);
    unsigned char *a = malloc(65535), *b = malloc(65535);
    CHECK(a != NULL && b != NULL);
    for (int i = 0; i < 65535; i++)
        a[i] = (unsigned char)(i * 7 + 3);
    memset(b, 0, 65535);
    CHECK_EQ(wyn_chan_send(c, a, 0), 0);
    CHECK_EQ(wyn_chan_recv(c, b, 0), 0);
    CHECK(memcmp(a, b, 65535) == 0);
    wyn_chan_free(c);
    free(a);
    free(b);
}

static void einval_sends(void)
{
    wyn_chan *c = wyn_chan_make(sizeof(int), 2);
    CHECK(c != NULL);
    CHECK_EQ(wyn_chan_send(c, NULL, 0), -EINVAL);
    CHECK_EQ(wyn_chan_send(c, NULL, WYN_FOREVER), -EINVAL);
    CHECK_EQ(wyn_chan_len(c), 0);
    wyn_case cs = {c, WYN_SEND, NULL, 1};
    CHECK_EQ(wyn_select(&cs, 1, 0), -EINVAL);
    CHECK_EQ(wyn_chan_len(c), 0);
    CHECK_EQ(cs.err, 1);

    CHECK_EQ(wyn_chan_close(NULL), -EINVAL);
    CHECK_EQ(wyn_chan_close(c), 0);
    CHECK_EQ(wyn_chan_close(c), -EPIPE);
    CHECK_EQ(wyn_chan_close(c), -EPIPE);
    wyn_chan_free(c);
}

static void len_cap_discard(void)
{
    wyn_chan *c = wyn_chan_make(sizeof(int), 3);
    CHECK(c != NULL);
    CHECK_EQ(wyn_chan_len(c), 0);
    CHECK_EQ(wyn_chan_cap(c), 3);
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ(wyn_chan_send(c, &i, 0), 0);
        CHECK_EQ(wyn_chan_len(c), i);
    }
    CHECK_EQ(wyn_chan_send(c, &(int){4}, 0), -ETIMEDOUT);
    CHECK_EQ(wyn_chan_len(c), 3);
    CHECK_EQ(wyn_chan_recv(c, NULL, 0), 0); /* discards 1 */
    CHECK_EQ(wyn_chan_len(c), 2);
    int v = 0;
    CHECK_EQ(wyn_chan_recv(c, &v, 0), 0);
    CHECK_EQ(v, 2);
    wyn_case cs = {c, WYN_RECV, NULL, 1}; /* select receive discarding */
    CHECK_EQ(wyn_select(&cs, 1, 0), 0);
    CHECK_EQ(cs.err, 0);
    CHECK_EQ(wyn_chan_len(c), 0);
    CHECK_EQ(wyn_chan_cap(c), 3);

    /* wyn_chan_ref returns its argument and adds a reference. */
    CHECK(wyn_chan_ref(c) == c);
    wyn_chan_free(c);
    CHECK_EQ(wyn_chan_cap(c), 3); /* still alive */
    wyn_chan_free(c);

    /* Unbuffered hand-off into a NULL elem. */
    wyn_chan *u = wyn_chan_make(sizeof(int), 0);
    CHECK(u != NULL);
    CHECK_EQ(wyn_chan_cap(u), 0);
    CHECK_EQ(wyn_spawn(send_42, wyn_chan_ref(u)), 0);
    CHECK_EQ(wyn_chan_recv(u, NULL, WYN_FOREVER), 0);
    CHECK_EQ(wyn_chan_len(u), 0);
    wyn_chan_free(u);
}

static void select_einval(void)
{
    wyn_chan *c = wyn_chan_make(sizeof(int), 1);
    CHECK(c != NULL);
    int v = 9;
    CHECK_EQ(wyn_chan_send(c, &v, 0), 0);

    wyn_case *cs = calloc(1025, sizeof *cs);
    CHECK(cs != NULL);
    for (int i = 0; i < 1025; i++)
        cs[i] = (wyn_case){NULL, WYN_RECV, &v, 1};
    cs[1000].chan = c; /* ready */
    v = 0;
    CHECK_EQ(wyn_select(cs, 1025, 0), -EINVAL);
    CHECK_EQ(wyn_select(cs, 1025, WYN_FOREVER), -EINVAL);
    CHECK_EQ(wyn_chan_len(c), 1);
    CHECK_EQ(cs[1000].err, 1);
    CHECK_EQ(v, 0);
    CHECK_EQ(wyn_select(cs, 1024, 0), 1000); /* 1024 is allowed */
    CHECK_EQ(cs[1000].err, 0);
    CHECK_EQ(v, 9);
    CHECK_EQ(wyn_chan_len(c), 0);
    for (int i = 0; i < 1024; i++)
        if (i != 1000)
            CHECK_EQ(cs[i].err, 1);
    CHECK_EQ(wyn_select(cs, 1024, 0), -ETIMEDOUT);
    free(cs);

    /* A bad op, even beside a ready case, is refused with no effect. */
    CHECK_EQ(wyn_chan_send(c, &v, 0), 0);
    int w = 0;
    for (int bad = -1; bad <= 4; bad++) {
        if (bad == WYN_RECV || bad == WYN_SEND)
            continue;
        wyn_case two[2] = {{c, WYN_RECV, &w, 1}, {c, bad, &w, 1}};
        CHECK_EQ(wyn_select(two, 2, 0), -EINVAL);
        CHECK_EQ(wyn_select(two, 2, WYN_FOREVER), -EINVAL);
        CHECK_EQ(two[0].err, 1);
        CHECK_EQ(two[1].err, 1);
        wyn_case one = {c, bad, &w, 1};
        CHECK_EQ(wyn_select(&one, 1, 0), -EINVAL);
        wyn_case nil = {NULL, bad, &w, 1};
        CHECK_EQ(wyn_select(&nil, 1, 0), -EINVAL);
        CHECK_EQ(w, 0);
        CHECK_EQ(wyn_chan_len(c), 1);
    }
    wyn_chan_free(c);
}

static void waits_until_deadline(void)
{
    int64_t d = wyn_deadline(20 * MS);
    CHECK_EQ(wyn_select(NULL, 0, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    wyn_case none[1];
    CHECK_EQ(wyn_select(none, 0, 0), -ETIMEDOUT);
    d = wyn_deadline(10 * MS);
    CHECK_EQ(wyn_select(none, 0, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);

    /* A NULL channel blocks until the deadline. */
    int v = 3;
    CHECK_EQ(wyn_chan_recv(NULL, &v, 0), -ETIMEDOUT);
    CHECK_EQ(wyn_chan_send(NULL, &v, 0), -ETIMEDOUT);
    d = wyn_deadline(10 * MS);
    CHECK_EQ(wyn_chan_recv(NULL, &v, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    CHECK_EQ(v, 3);
    d = wyn_deadline(10 * MS);
    CHECK_EQ(wyn_chan_send(NULL, &v, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    /* A real empty channel too. */
    wyn_chan *c = wyn_chan_make(sizeof(int), 0);
    CHECK(c != NULL);
    d = wyn_deadline(10 * MS);
    CHECK_EQ(wyn_chan_recv(c, &v, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    CHECK_EQ(v, 3);
    wyn_chan_free(c);
}

static void self_select(void)
{
    wyn_chan *c = wyn_chan_make(sizeof(int), 0);
    CHECK(c != NULL);
    int out = 11, in = 22;
    wyn_case cs[2] = {{c, WYN_SEND, &out, 1}, {c, WYN_RECV, &in, 1}};
    CHECK_EQ(wyn_select(cs, 2, 0), -ETIMEDOUT);
    CHECK_EQ(cs[0].err, 1);
    CHECK_EQ(cs[1].err, 1);
    CHECK_EQ(in, 22);
    int64_t d = wyn_deadline(20 * MS);
    CHECK_EQ(wyn_select(cs, 2, d), -ETIMEDOUT);
    CHECK(wyn_now() >= d);
    CHECK_EQ(cs[0].err, 1);
    CHECK_EQ(cs[1].err, 1);
    CHECK_EQ(in, 22);
    /* Nothing was left queued: the channel has no sender and no receiver. */
    CHECK_EQ(wyn_chan_len(c), 0);
    CHECK_EQ(wyn_chan_recv(c, &in, 0), -ETIMEDOUT);
    CHECK_EQ(wyn_chan_send(c, &out, 0), -ETIMEDOUT);
    CHECK_EQ(in, 22);
    wyn_chan_free(c);
}

static void closed_ready(void)
{
    wyn_chan *c = wyn_chan_make(sizeof(int64_t), 1);
    CHECK(c != NULL);
    int64_t v = 77;
    CHECK_EQ(wyn_chan_send(c, &v, 0), 0);
    CHECK_EQ(wyn_chan_close(c), 0);
    int64_t past = wyn_now() - 1; /* a passed instant other than 0 */
    CHECK_EQ(wyn_chan_send(c, &v, 0), -EPIPE);
    CHECK_EQ(wyn_chan_send(c, &v, past), -EPIPE);
    v = 0;
    CHECK_EQ(wyn_chan_recv(c, &v, 0), 0); /* still drains */
    CHECK_EQ(v, 77);
    v = -1;
    CHECK_EQ(wyn_chan_recv(c, &v, 0), -EPIPE);
    CHECK_EQ(v, 0);
    v = -1;
    CHECK_EQ(wyn_chan_recv(c, &v, past), -EPIPE);
    CHECK_EQ(v, 0);
    CHECK_EQ(wyn_chan_recv(c, NULL, 0), -EPIPE);

    v = -1;
    wyn_case r = {c, WYN_RECV, &v, 1};
    CHECK_EQ(wyn_select(&r, 1, 0), 0);
    CHECK_EQ(r.err, -EPIPE);
    CHECK_EQ(v, 0);
    wyn_case s[2] = {{NULL, WYN_RECV, &v, 1}, {c, WYN_SEND, &v, 1}};
    CHECK_EQ(wyn_select(s, 2, past), 1);
    CHECK_EQ(s[1].err, -EPIPE);
    CHECK_EQ(s[0].err, 1);
    wyn_chan_free(c);

    /* Unbuffered closed channel too, and a closed signal channel. */
    wyn_chan *u = wyn_chan_make(sizeof(int64_t), 0);
    wyn_chan *z = wyn_chan_make(0, 0);
    CHECK(u != NULL && z != NULL);
    CHECK_EQ(wyn_chan_close(u), 0);
    CHECK_EQ(wyn_chan_close(z), 0);
    v = -1;
    CHECK_EQ(wyn_chan_recv(u, &v, 0), -EPIPE);
    CHECK_EQ(v, 0);
    CHECK_EQ(wyn_chan_recv(z, NULL, 0), -EPIPE);
    CHECK_EQ(wyn_chan_send(z, NULL, 0), -EPIPE);
    wyn_chan_free(u);
    wyn_chan_free(z);
}

static void select_uniform(void)
{
    wyn_chan *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = wyn_chan_make(sizeof(int), 1);
        CHECK(c[i] != NULL);
        CHECK_EQ(wyn_chan_send(c[i], &i, 0), 0);
    }
    long trials = scaled(4000, 400), hits[4] = {0};
    for (long t = 0; t < trials; t++) {
        int v = -1;
        wyn_case cs[4];
        for (int i = 0; i < 4; i++)
            cs[i] = (wyn_case){c[i], WYN_RECV, &v, 1};
        int rc = wyn_select(cs, 4, 0);
        CHECK(rc >= 0 && rc < 4);
        CHECK_EQ(v, rc);
        CHECK_EQ(cs[rc].err, 0);
        hits[rc]++;
        CHECK_EQ(wyn_chan_send(c[rc], &rc, 0), 0); /* ready again */
    }
    for (int i = 0; i < 4; i++) {
        if (hits[i] * 100 < trials * 15) {
            fprintf(stderr, "case %d fired %ld of %ld times\n", i, hits[i], trials);
            abort();
        }
        wyn_chan_free(c[i]);
    }

    /* The same for send cases with room. */
    wyn_chan *d = wyn_chan_make(sizeof(int), (size_t)trials);
    CHECK(d != NULL);
    long shits[4] = {0};
    int vals[4] = {0, 1, 2, 3};
    for (long t = 0; t < trials; t++) {
        wyn_case cs[4];
        for (int i = 0; i < 4; i++)
            cs[i] = (wyn_case){d, WYN_SEND, &vals[i], 1};
        int rc = wyn_select(cs, 4, 0);
        CHECK(rc >= 0 && rc < 4);
        shits[rc]++;
    }
    for (int i = 0; i < 4; i++)
        CHECK(shits[i] * 100 >= trials * 15);
    for (long t = 0; t < trials; t++) { /* and each send carried its own value */
        int v = -1;
        CHECK_EQ(wyn_chan_recv(d, &v, 0), 0);
        CHECK(v >= 0 && v < 4);
        shits[v]--;
    }
    for (int i = 0; i < 4; i++)
        CHECK_EQ(shits[i], 0);
    wyn_chan_free(d);
}

static void deadlines(void)
{
    CHECK_EQ(wyn_deadline(INT64_MAX), INT64_MAX);
    CHECK_EQ(wyn_deadline(INT64_MAX - 1), INT64_MAX);
    CHECK_EQ(wyn_deadline(0), 0);
    CHECK_EQ(wyn_deadline(-1), 0);
    CHECK_EQ(wyn_deadline(INT64_MIN), 0);
    int64_t before = wyn_now();
    int64_t d = wyn_deadline(1000);
    int64_t after = wyn_now();
    CHECK(d >= before + 1000 && d <= after + 1000);
    CHECK(before > 0);

    wyn_chan *c = wyn_chan_make(sizeof(int), 1);
    CHECK(c != NULL);
    int v = 5;
    static const int64_t bad[] = {-2, -3, -1000, INT64_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(wyn_chan_send(c, &v, bad[i]), -EINVAL); /* room, yet refused */
        CHECK_EQ(wyn_chan_len(c), 0);
    }
    CHECK_EQ(wyn_chan_send(c, &v, 0), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int w = 0;
        CHECK_EQ(wyn_chan_recv(c, &w, bad[i]), -EINVAL); /* ready, yet refused */
        CHECK_EQ(w, 0);
        CHECK_EQ(wyn_chan_len(c), 1);
        wyn_case cs = {c, WYN_RECV, &w, 1};
        CHECK_EQ(wyn_select(&cs, 1, bad[i]), -EINVAL);
        CHECK_EQ(cs.err, 1);
        CHECK_EQ(w, 0);
        CHECK_EQ(wyn_chan_len(c), 1);
        CHECK_EQ(wyn_select(NULL, 0, bad[i]), -EINVAL);
        CHECK_EQ(wyn_chan_recv(NULL, &w, bad[i]), -EINVAL);
    }
    /* A far deadline is a real deadline, not an error. */
    int w = 0;
    CHECK_EQ(wyn_chan_recv(c, &w, INT64_MAX), 0);
    CHECK_EQ(w, 5);
    wyn_chan_free(c);
}

static void test_main(void *arg)
{
    (void)arg;
    zero_size();
    make_limits();
    einval_sends();
    len_cap_discard();
    select_einval();
    waits_until_deadline();
    self_select();
    closed_ready();
    select_uniform();
    deadlines();
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
