/* stress_close_race.c — hunts close racing with blocked and arriving senders,
 * receivers and selects.
 *
 * Each round makes a channel (capacity 0..3) and runs, across the workers:
 * senders (plain blocking sends of unique ids), receivers (receiving until
 * -EPIPE), selectors (blocking selects with a send case, a receive case on the
 * same channel, a receive case on a never-ready channel and a NULL case), and
 * two closers that close the channel after a random short delay.
 *
 * What would fail: a send that returned 0 whose value is never received (lost
 * in the buffer or in a waiter's slot at close), or received twice; a send that
 * returned -EPIPE (or a select send case with err -EPIPE) whose value is
 * received anyway (it was half-delivered before the close woke it); a receive
 * that returned -EPIPE while values were still buffered (the drain rule;
 * the value then shows up as lost) or without zeroing its elem; a closed
 * channel that does not stay closed (a later send or a deadline-0 send,
 * receive or select that does not report -EPIPE at once); two closes that
 * both succeed; anything left buffered after the receivers have seen -EPIPE;
 * a lost wake-up at close (a hang: the deadlock detector reports it). */
#include "test.h"

#include <stdatomic.h>

enum { NSEND = 3, NSEL = 2, NRECV = 2, K = 4 };
enum { IDS = (NSEND + NSEL) * K };
enum { PENDING = 0, SENT = 1, REFUSED = 2 };

struct item {
    uint32_t round, id;
};

static wyn_chan *ch, *never; /* this round's channel; one nobody sends on */
static uint32_t round_no;
static atomic_int status[IDS];
static atomic_int recv_count[IDS];
static atomic_int closes_ok;
static atomic_int closer_rc[2]; /* 1: has not closed yet */
static wyn_wg wg;

static void got(const struct item *it)
{
    CHECK_EQ(it->round, round_no);
    CHECK(it->id < IDS);
    if (atomic_fetch_add(&recv_count[it->id], 1) != 0) {
        fprintf(stderr, "round %u: id %u received twice\n", round_no, it->id);
        abort();
    }
}

/* Called once the caller has seen the close; `drained`: it saw a receive
 * report -EPIPE, so nothing can be buffered any more. */
static void check_closed_now(int drained)
{
    /* A closed channel is ready, also at a passed deadline. */
    struct item it = {round_no, 0};
    CHECK_EQ(wyn_chan_send(ch, &it, 0), -EPIPE);
    struct item z = {77, 77};
    int rc = wyn_chan_recv(ch, &z, 0);
    if (rc == 0 && !drained) {
        got(&z); /* still draining */
    } else {
        CHECK_EQ(rc, -EPIPE);
        CHECK_EQ(z.round, 0);
        CHECK_EQ(z.id, 0);
    }
    z = (struct item){77, 77};
    wyn_case cs = {ch, WYN_RECV, &z, 1};
    CHECK_EQ(wyn_select(&cs, 1, 0), 0);
    if (cs.err == 0 && !drained) {
        got(&z);
    } else {
        CHECK_EQ(cs.err, -EPIPE);
        CHECK_EQ(z.round, 0);
    }
}

static void sender(void *arg)
{
    uint32_t base = (uint32_t)(intptr_t)arg * K;
    for (uint32_t k = 0; k < K; k++) {
        struct item it = {round_no, base + k};
        int rc = wyn_chan_send(ch, &it, WYN_FOREVER);
        if (rc == 0) {
            atomic_store(&status[it.id], SENT);
        } else {
            CHECK_EQ(rc, -EPIPE);
            atomic_store(&status[it.id], REFUSED);
            /* Closed stays closed: every later send fails at once. */
            for (k++; k < K; k++) {
                it.id = base + k;
                CHECK_EQ(wyn_chan_send(ch, &it, k % 2 ? 0 : WYN_FOREVER), -EPIPE);
                atomic_store(&status[it.id], REFUSED);
            }
            check_closed_now(0);
        }
    }
    wyn_wg_done(&wg);
}

static void selector(void *arg)
{
    uint32_t base = (uint32_t)(intptr_t)arg * K;
    uint32_t k = 0;
    int closed = 0;
    while (k < K && !closed) {
        struct item out = {round_no, base + k};
        struct item in = {55, 55}, in2 = {55, 55};
        wyn_case cs[4] = {
            {never, WYN_RECV, &in2, 1},
            {ch, WYN_SEND, &out, 1},
            {NULL, WYN_SEND, &out, 1},
            {ch, WYN_RECV, &in, 1},
        };
        int rc = wyn_select(cs, 4, WYN_FOREVER);
        CHECK(rc == 1 || rc == 3);
        CHECK_EQ(cs[0].err, 1);
        CHECK_EQ(cs[2].err, 1);
        CHECK_EQ(cs[rc == 1 ? 3 : 1].err, 1);
        CHECK_EQ(in2.round, 55);
        if (rc == 1) {
            CHECK_EQ(in.round, 55);
            if (cs[1].err == 0) {
                atomic_store(&status[out.id], SENT);
                k++;
            } else {
                CHECK_EQ(cs[1].err, -EPIPE);
                atomic_store(&status[out.id], REFUSED);
                k++;
                closed = 1;
            }
        } else if (cs[3].err == 0) {
            got(&in);
        } else {
            CHECK_EQ(cs[3].err, -EPIPE);
            CHECK_EQ(in.round, 0); /* zeroed */
            CHECK_EQ(in.id, 0);
            closed = 1;
        }
    }
    if (closed) {
        for (; k < K; k++) {
            struct item out = {round_no, base + k};
            wyn_case cs = {ch, WYN_SEND, &out, 1};
            CHECK_EQ(wyn_select(&cs, 1, 0), 0);
            CHECK_EQ(cs.err, -EPIPE);
            atomic_store(&status[out.id], REFUSED);
        }
        check_closed_now(0);
    }
    wyn_wg_done(&wg);
}

static void receiver(void *arg)
{
    (void)arg;
    for (;;) {
        struct item it = {66, 66};
        int rc = wyn_chan_recv(ch, &it, WYN_FOREVER);
        if (rc == -EPIPE) {
            CHECK_EQ(it.round, 0);
            CHECK_EQ(it.id, 0);
            break;
        }
        CHECK_EQ(rc, 0);
        got(&it);
    }
    check_closed_now(1);
    wyn_wg_done(&wg);
}

static void closer(void *arg)
{
    int who = (int)((uintptr_t)arg & 1);
    uint64_t rs = (uint64_t)(uintptr_t)arg >> 1; /* odd: a valid xorshift seed */
    uint64_t r = rng_next(&rs);
    if (r % 3 == 0)
        wyn_sleep((int64_t)(r >> 8) % 20000);
    else
        for (uint64_t i = 0; i < (r >> 8) % 8; i++)
            wyn_yield();
    int rc = wyn_chan_close(ch);
    atomic_store(&closer_rc[who], rc);
    if (rc == 0)
        atomic_fetch_add(&closes_ok, 1);
    else
        CHECK_EQ(rc, -EPIPE);
    wyn_wg_done(&wg);
}

static void test_main(void *arg)
{
    (void)arg;
    never = wyn_chan_make(sizeof(struct item), 0);
    CHECK(never != NULL);
    uint64_t rs = 0x2545f4914f6cdd1dull;
    long rounds = scaled(20000, 100);
    for (long r = 0; r < rounds; r++) {
        round_no = (uint32_t)r + 1;
        ch = wyn_chan_make(sizeof(struct item), (size_t)(rng_next(&rs) % 4));
        CHECK(ch != NULL);
        for (int i = 0; i < IDS; i++) {
            atomic_store(&status[i], PENDING);
            atomic_store(&recv_count[i], 0);
        }
        atomic_store(&closes_ok, 0);

        /* Spawn in a random order so that close lands at every stage. */
        void (*fns[NSEND + NSEL + NRECV + 2])(void *);
        void *args[NSEND + NSEL + NRECV + 2];
        int n = 0;
        for (int i = 0; i < NSEND; i++)
            fns[n] = sender, args[n++] = (void *)(intptr_t)i;
        for (int i = 0; i < NSEL; i++)
            fns[n] = selector, args[n++] = (void *)(intptr_t)(NSEND + i);
        for (int i = 0; i < NRECV; i++)
            fns[n] = receiver, args[n++] = NULL;
        for (int i = 0; i < 2; i++) { /* the low bit of the seed says which closer it is */
            atomic_store(&closer_rc[i], 1);
            fns[n] = closer, args[n++] = (void *)(uintptr_t)((rng_next(&rs) << 1 | 1) << 1 | (uint64_t)i);
        }
        for (int i = n - 1; i > 0; i--) {
            int j = (int)(rng_next(&rs) % (uint64_t)(i + 1));
            void (*tf)(void *) = fns[i];
            void *ta = args[i];
            fns[i] = fns[j], args[i] = args[j];
            fns[j] = tf, args[j] = ta;
        }
        wyn_wg_add(&wg, n);
        for (int i = 0; i < n; i++)
            CHECK_EQ(wyn_spawn(fns[i], args[i]), 0);
        CHECK_EQ(wyn_wg_wait(&wg, WYN_FOREVER), 0);

        if (atomic_load(&closes_ok) != 1) {
            fprintf(stderr, "round %ld cap %zu: %d of the 2 closes returned 0 (rcs %d %d)\n", r,
                    wyn_chan_cap(ch), atomic_load(&closes_ok), atomic_load(&closer_rc[0]),
                    atomic_load(&closer_rc[1]));
            abort();
        }
        CHECK_EQ(wyn_chan_len(ch), 0);
        for (int i = 0; i < IDS; i++) {
            int st = atomic_load(&status[i]);
            int rc = atomic_load(&recv_count[i]);
            if (!((st == SENT && rc == 1) || (st == REFUSED && rc == 0))) {
                fprintf(stderr, "round %ld cap %zu: id %d: send %s, received %d times\n", r,
                        wyn_chan_cap(ch), i,
                        st == SENT ? "returned 0" : st == REFUSED ? "returned -EPIPE" : "pending",
                        rc);
                abort();
            }
        }
        wyn_chan_free(ch);
    }
    wyn_chan_free(never);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
