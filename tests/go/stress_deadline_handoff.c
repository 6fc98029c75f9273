/* stress_deadline_handoff.c — hunts deadline expiry racing a hand-off.
 *
 * Senders, receivers and mixed selectors work 4 channels (three unbuffered,
 * one of capacity 1) with tiny deadlines: wyn_deadline(random 0..20 µs)
 * (0 µs is a passed deadline), one operation in 8 with up to 1 ms; senders
 * and receivers sleep 0..20 µs before half of their operations, so that
 * counterparts arrive while deadlines expire. Every value carries a unique id; each
 * sender records whether its send (or send case) returned 0 or -ETIMEDOUT,
 * each receiver counts the ids it gets. When every sender is done the channels
 * are closed and the receivers drain them.
 *
 * What would fail: a send that returned -ETIMEDOUT although its value was
 * taken (the timer fired while a receiver was completing the hand-off) — its
 * id is received although marked timed out; a send that returned 0 whose
 * value is never received, or received twice; a receive or select that
 * returned -ETIMEDOUT but wrote its destination or a case's err (or consumed a
 * value: then that value shows up as lost); a select that fired two cases. A
 * lost wake-up shows up as a hang (ctest timeout). */
#include "test.h"

#include <stdatomic.h>

enum { NCH = 4, NS = 4, NM = 2, NR = 4 };
enum { PENDING = 0, SENT = 1, TIMEDOUT = 2 };

struct item {
    uint32_t id, check;
};

static uint32_t check_of(uint32_t id)
{
    return id * 0x9e3779b1u + 7;
}

static wyn_chan *chans[NCH];
static long per, total;
static atomic_uchar *status;
static atomic_uchar *recv_count;
static wyn_wg senders_wg, receivers_wg;

static int64_t tiny_deadline(uint64_t *s)
{
    uint64_t r = rng_next(s);
    if (r % 8 == 0)
        return wyn_deadline((int64_t)((r >> 3) % 1000000));
    return wyn_deadline((int64_t)((r >> 3) % 20001)); /* 0 .. 20 µs */
}

static void got(const struct item *it)
{
    CHECK(it->id < (uint32_t)total);
    CHECK_EQ(it->check, check_of(it->id));
    if (atomic_fetch_add(&recv_count[it->id], 1) != 0) {
        fprintf(stderr, "id %u received twice\n", it->id);
        abort();
    }
}

static void sender(void *arg)
{
    long s = (long)(intptr_t)arg;
    uint64_t rs = 0x9e3779b97f4a7c15ull * (uint64_t)(s + 1);
    for (long k = 0; k < per; k++) {
        uint32_t id = (uint32_t)(s * per + k);
        struct item it = {id, check_of(id)};
        int ok;
        if (rng_next(&rs) % 2) /* let receivers wait, so that their deadlines expire */
            wyn_sleep((int64_t)(rng_next(&rs) % 20000));
        if (rng_next(&rs) % 2) {
            int rc = wyn_chan_send(chans[rng_next(&rs) % NCH], &it, tiny_deadline(&rs));
            CHECK(rc == 0 || rc == -ETIMEDOUT);
            ok = rc == 0;
        } else {
            wyn_case cs[2] = {{chans[rng_next(&rs) % NCH], WYN_SEND, &it, 1},
                              {chans[rng_next(&rs) % NCH], WYN_SEND, &it, 1}};
            int rc = wyn_select(cs, 2, tiny_deadline(&rs));
            if (rc == -ETIMEDOUT) {
                CHECK_EQ(cs[0].err, 1);
                CHECK_EQ(cs[1].err, 1);
                ok = 0;
            } else {
                CHECK(rc == 0 || rc == 1);
                CHECK_EQ(cs[rc].err, 0);
                CHECK_EQ(cs[1 - rc].err, 1);
                ok = 1;
            }
        }
        atomic_store(&status[id], ok ? SENT : TIMEDOUT);
    }
    wyn_wg_done(&senders_wg);
}

/* Sends its ids through selects that also receive; a timed-out select gives
 * its current id up. */
static void mixed(void *arg)
{
    long s = (long)(intptr_t)arg;
    uint64_t rs = 0xbf58476d1ce4e5b9ull * (uint64_t)(s + 1);
    for (long k = 0; k < per;) {
        uint32_t id = (uint32_t)(s * per + k);
        struct item it = {id, check_of(id)};
        struct item in = {0xffffffffu, 0};
        wyn_case cs[3] = {{chans[rng_next(&rs) % NCH], WYN_RECV, &in, 1},
                          {chans[rng_next(&rs) % NCH], WYN_SEND, &it, 1},
                          {chans[rng_next(&rs) % NCH], WYN_RECV, &in, 1}};
        int rc = wyn_select(cs, 3, tiny_deadline(&rs));
        if (rc == -ETIMEDOUT) {
            for (int j = 0; j < 3; j++)
                CHECK_EQ(cs[j].err, 1);
            CHECK_EQ(in.id, 0xffffffffu);
            atomic_store(&status[id], TIMEDOUT);
            k++;
            continue;
        }
        CHECK(rc >= 0 && rc < 3);
        CHECK_EQ(cs[rc].err, 0); /* nothing is closed yet */
        for (int j = 0; j < 3; j++)
            if (j != rc)
                CHECK_EQ(cs[j].err, 1);
        if (rc == 1) {
            CHECK_EQ(in.id, 0xffffffffu);
            atomic_store(&status[id], SENT);
            k++;
        } else {
            got(&in);
        }
    }
    wyn_wg_done(&senders_wg);
}

static void receiver(void *arg)
{
    uint64_t rs = 0x94d049bb133111ebull * (uint64_t)((intptr_t)arg + 1);
    int closed[NCH] = {0}, nclosed = 0;
    while (nclosed < NCH) {
        struct item it = {0xffffffffu, 0};
        int a = (int)(rng_next(&rs) % NCH);
        if (rng_next(&rs) % 2) /* let senders wait, so that their deadlines expire */
            wyn_sleep((int64_t)(rng_next(&rs) % 20000));
        if (rng_next(&rs) % 2) {
            int rc = wyn_chan_recv(chans[a], &it, tiny_deadline(&rs));
            if (rc == -ETIMEDOUT) {
                CHECK_EQ(it.id, 0xffffffffu);
                continue;
            }
            if (rc == -EPIPE) {
                CHECK_EQ(it.id, 0);
                CHECK_EQ(it.check, 0);
                if (!closed[a]++)
                    nclosed++;
                continue;
            }
            CHECK_EQ(rc, 0);
            got(&it);
        } else {
            int b = (int)(rng_next(&rs) % NCH);
            wyn_case cs[2] = {{chans[a], WYN_RECV, &it, 1}, {chans[b], WYN_RECV, &it, 1}};
            int rc = wyn_select(cs, 2, tiny_deadline(&rs));
            if (rc == -ETIMEDOUT) {
                CHECK_EQ(it.id, 0xffffffffu);
                CHECK_EQ(cs[0].err, 1);
                CHECK_EQ(cs[1].err, 1);
                continue;
            }
            CHECK(rc == 0 || rc == 1);
            CHECK_EQ(cs[1 - rc].err, 1);
            if (cs[rc].err == -EPIPE) {
                CHECK_EQ(it.id, 0);
                int c = rc == 0 ? a : b;
                if (!closed[c]++)
                    nclosed++;
                continue;
            }
            CHECK_EQ(cs[rc].err, 0);
            got(&it);
        }
    }
    wyn_wg_done(&receivers_wg);
}

static void test_main(void *arg)
{
    (void)arg;
    static const size_t caps[NCH] = {0, 1, 0, 0};
    for (int i = 0; i < NCH; i++) {
        chans[i] = wyn_chan_make(sizeof(struct item), caps[i]);
        CHECK(chans[i] != NULL);
    }
    per = scaled(20000, 200);
    total = per * (NS + NM);
    status = calloc((size_t)total, sizeof *status);
    recv_count = calloc((size_t)total, sizeof *recv_count);
    CHECK(status != NULL && recv_count != NULL);

    wyn_wg_add(&senders_wg, NS + NM);
    wyn_wg_add(&receivers_wg, NR);
    for (long i = 0; i < NR; i++)
        CHECK_EQ(wyn_spawn(receiver, (void *)(intptr_t)i), 0);
    for (long i = 0; i < NS; i++)
        CHECK_EQ(wyn_spawn(sender, (void *)(intptr_t)i), 0);
    for (long i = 0; i < NM; i++)
        CHECK_EQ(wyn_spawn(mixed, (void *)(intptr_t)(NS + i)), 0);

    CHECK_EQ(wyn_wg_wait(&senders_wg, WYN_FOREVER), 0);
    for (int i = 0; i < NCH; i++)
        CHECK_EQ(wyn_chan_close(chans[i]), 0);
    CHECK_EQ(wyn_wg_wait(&receivers_wg, WYN_FOREVER), 0);

    long sent = 0, timedout = 0;
    for (long i = 0; i < total; i++) {
        int st = atomic_load(&status[i]);
        int rc = atomic_load(&recv_count[i]);
        if (!((st == SENT && rc == 1) || (st == TIMEDOUT && rc == 0))) {
            fprintf(stderr, "id %ld: send %s, received %d times\n", i,
                    st == SENT       ? "returned 0"
                    : st == TIMEDOUT ? "returned -ETIMEDOUT"
                                     : "never finished",
                    rc);
            abort();
        }
        sent += st == SENT;
        timedout += st == TIMEDOUT;
    }
    printf("%ld ids: %ld sent, %ld timed out\n", total, sent, timedout);
    CHECK(sent > 0);
    for (int i = 0; i < NCH; i++) {
        CHECK_EQ(wyn_chan_len(chans[i]), 0);
        wyn_chan_free(chans[i]);
    }
    free(status);
    free(recv_count);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
