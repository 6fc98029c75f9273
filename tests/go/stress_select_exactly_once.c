/* stress_select_exactly_once.c — hunts lost and duplicated values in
 * channel/select hand-offs.
 *
 * Many senders and receivers on 8 channels (4 unbuffered, capacities 1..4),
 * spread over the workers. Every value sent carries a unique id (and a check
 * word derived from it). Senders use plain sends, non-blocking sends retried
 * (a -ETIMEDOUT must have had no effect), blocking selects with several send
 * cases for the same value (the same channel twice, NULL cases), and selects
 * mixing send and receive cases (also a send and a receive on the same
 * channel, which must never pair with itself). Receivers use receives with tiny
 * deadlines, blocking selects over every channel (duplicates included) and
 * non-blocking selects. Each id is marked in a counter array when received.
 *
 * What would fail: a value received twice (a select that fired two cases, a
 * buffered slot read twice, a send case that both handed off and stayed
 * queued: CHECK "received twice" at once); a value lost (a completed send
 * whose value never arrives: after every sender is done, the receivers do not
 * reach the total within 30 s, and the missing ids are printed); a corrupted
 * value (bad check word or id out of range); a timed-out receive or select
 * that wrote its destination or err; a select that paired its own send and
 * receive cases (then the id is received by its own sender and sent again:
 * received twice). */
#include "test.h"

#include <stdatomic.h>

enum { NCH = 8, NS = 6, NR = 6 };

struct item {
    uint32_t id;
    uint32_t check;
};

static uint32_t check_of(uint32_t id)
{
    return (id * 2654435761u) ^ 0x5bd1e995u;
}

static wyn_chan *chans[NCH];
static long per_sender, total;
static atomic_uchar *counts;
static atomic_long remaining;
static wyn_chan *all_done; /* gets one value when remaining reaches 0 */
static wyn_wg senders_wg, receivers_wg;

static wyn_chan *rchan(uint64_t *s)
{
    return chans[rng_next(s) % NCH];
}

static void got(const struct item *it)
{
    CHECK(it->id < (uint32_t)total);
    CHECK_EQ(it->check, check_of(it->id));
    unsigned char before = atomic_fetch_add(&counts[it->id], 1);
    if (before != 0) {
        fprintf(stderr, "id %u received twice\n", it->id);
        abort();
    }
    if (atomic_fetch_sub(&remaining, 1) == 1)
        CHECK_EQ(wyn_chan_send(all_done, NULL, 0), 0);
}

static void sender(void *arg)
{
    long s = (long)(intptr_t)arg;
    uint64_t rs = 0x9e3779b97f4a7c15ull * (uint64_t)(s + 1);
    for (long k = 0; k < per_sender; k++) {
        uint32_t id = (uint32_t)(s * per_sender + k);
        struct item it = {id, check_of(id)};
        switch (rng_next(&rs) % 4) {
        case 0: /* plain blocking send */
            CHECK_EQ(wyn_chan_send(rchan(&rs), &it, WYN_FOREVER), 0);
            break;
        case 1: /* non-blocking send, retried */
            for (;;) {
                int rc = wyn_chan_send(rchan(&rs), &it, 0);
                if (rc == 0)
                    break;
                CHECK_EQ(rc, -ETIMEDOUT);
                wyn_yield();
            }
            break;
        case 2: { /* select over several send cases carrying the same value */
            wyn_case cs[6];
            size_t n = 2 + rng_next(&rs) % 3;
            for (size_t j = 0; j < n; j++)
                cs[j] = (wyn_case){rchan(&rs), WYN_SEND, &it, 1};
            cs[n++] = (wyn_case){cs[0].chan, WYN_SEND, &it, 1}; /* same channel twice */
            if (rng_next(&rs) % 2)
                cs[n++] = (wyn_case){NULL, WYN_SEND, &it, 1};
            int rc = wyn_select(cs, n, WYN_FOREVER);
            CHECK(rc >= 0 && (size_t)rc < n);
            CHECK(cs[rc].chan != NULL);
            CHECK_EQ(cs[rc].err, 0);
            for (size_t j = 0; j < n; j++)
                if ((int)j != rc)
                    CHECK_EQ(cs[j].err, 1); /* only the fired case is written */
            break;
        }
        default: /* select mixing send and receive cases; retried after a receive */
            for (;;) {
                struct item in[2] = {{0xffffffffu, 0}, {0xffffffffu, 0}};
                wyn_case cs[4];
                wyn_chan *same = rchan(&rs);
                cs[0] = (wyn_case){same, WYN_SEND, &it, 1};
                cs[1] = (wyn_case){same, WYN_RECV, &in[0], 1}; /* must not pair with cs[0] */
                cs[2] = (wyn_case){rchan(&rs), WYN_SEND, &it, 1};
                cs[3] = (wyn_case){rchan(&rs), WYN_RECV, &in[1], 1};
                int rc = wyn_select(cs, 4, WYN_FOREVER);
                CHECK(rc >= 0 && rc < 4);
                CHECK_EQ(cs[rc].err, 0);
                for (int j = 0; j < 4; j++)
                    if (j != rc)
                        CHECK_EQ(cs[j].err, 1);
                if (rc == 0 || rc == 2) {
                    CHECK_EQ(in[0].id, 0xffffffffu);
                    CHECK_EQ(in[1].id, 0xffffffffu);
                    break;
                }
                struct item *r = &in[rc == 1 ? 0 : 1];
                CHECK_EQ(in[rc == 1 ? 1 : 0].id, 0xffffffffu);
                got(r);
            }
            break;
        }
    }
    wyn_wg_done(&senders_wg);
}

static void receiver(void *arg)
{
    uint64_t rs = 0xd1b54a32d192ed03ull * (uint64_t)((intptr_t)arg + 1);
    for (;;) {
        struct item it = {0xffffffffu, 0};
        switch (rng_next(&rs) % 3) {
        case 0: { /* receive with a tiny deadline */
            int rc = wyn_chan_recv(rchan(&rs), &it, wyn_deadline((int64_t)(rng_next(&rs) % 100000)));
            if (rc == -EPIPE)
                goto out;
            if (rc == -ETIMEDOUT) {
                CHECK_EQ(it.id, 0xffffffffu); /* nothing received */
                break;
            }
            CHECK_EQ(rc, 0);
            got(&it);
            break;
        }
        case 1: { /* blocking select over every channel, some twice, one NULL */
            wyn_case cs[NCH + 3];
            size_t n = 0;
            size_t start = (size_t)(rng_next(&rs) % NCH);
            for (size_t j = 0; j < NCH; j++)
                cs[n++] = (wyn_case){chans[(start + j) % NCH], WYN_RECV, &it, 1};
            cs[n++] = (wyn_case){rchan(&rs), WYN_RECV, &it, 1};
            cs[n++] = (wyn_case){rchan(&rs), WYN_RECV, &it, 1};
            cs[n++] = (wyn_case){NULL, WYN_RECV, &it, 1};
            int rc = wyn_select(cs, n, WYN_FOREVER);
            CHECK(rc >= 0 && (size_t)rc < n - 1);
            for (size_t j = 0; j < n; j++)
                if ((int)j != rc)
                    CHECK_EQ(cs[j].err, 1);
            if (cs[rc].err == -EPIPE) {
                CHECK_EQ(it.id, 0); /* zeroed */
                goto out;
            }
            CHECK_EQ(cs[rc].err, 0);
            got(&it);
            break;
        }
        default: { /* non-blocking select over a few channels */
            wyn_case cs[3];
            for (size_t j = 0; j < 3; j++)
                cs[j] = (wyn_case){rchan(&rs), WYN_RECV, &it, 1};
            int rc = wyn_select(cs, 3, 0);
            if (rc == -ETIMEDOUT) {
                CHECK_EQ(it.id, 0xffffffffu);
                for (size_t j = 0; j < 3; j++)
                    CHECK_EQ(cs[j].err, 1);
                wyn_yield();
                break;
            }
            CHECK(rc >= 0 && rc < 3);
            if (cs[rc].err == -EPIPE)
                goto out;
            CHECK_EQ(cs[rc].err, 0);
            got(&it);
            break;
        }
        }
    }
out:
    wyn_wg_done(&receivers_wg);
}

static void test_main(void *arg)
{
    (void)arg;
    static const size_t caps[NCH] = {0, 1, 0, 2, 0, 3, 0, 4};
    for (int i = 0; i < NCH; i++) {
        chans[i] = wyn_chan_make(sizeof(struct item), caps[i]);
        CHECK(chans[i] != NULL);
    }
    all_done = wyn_chan_make(0, 1);
    CHECK(all_done != NULL);
    per_sender = scaled(100000, 300);
    total = per_sender * NS;
    counts = calloc((size_t)total, sizeof *counts);
    CHECK(counts != NULL);
    atomic_store(&remaining, total);

    wyn_wg_add(&senders_wg, NS);
    wyn_wg_add(&receivers_wg, NR);
    for (long i = 0; i < NR; i++)
        CHECK_EQ(wyn_spawn(receiver, (void *)(intptr_t)i), 0);
    for (long i = 0; i < NS; i++)
        CHECK_EQ(wyn_spawn(sender, (void *)(intptr_t)i), 0);

    CHECK_EQ(wyn_wg_wait(&senders_wg, WYN_FOREVER), 0);
    /* Every send has completed: its value was handed over or is buffered. */
    int rc = wyn_chan_recv(all_done, NULL, wyn_deadline(30LL * 1000 * 1000 * 1000));
    if (rc != 0) {
        fprintf(stderr, "%ld values lost; missing ids:", atomic_load(&remaining));
        long shown = 0;
        for (long i = 0; i < total && shown < 50; i++)
            if (atomic_load(&counts[i]) == 0) {
                fprintf(stderr, " %ld", i);
                shown++;
            }
        fprintf(stderr, "\nbuffered:");
        for (int i = 0; i < NCH; i++)
            fprintf(stderr, " %zu", wyn_chan_len(chans[i]));
        fprintf(stderr, "\n");
        abort();
    }
    for (int i = 0; i < NCH; i++) {
        CHECK_EQ(wyn_chan_len(chans[i]), 0);
        CHECK_EQ(wyn_chan_close(chans[i]), 0);
    }
    CHECK_EQ(wyn_wg_wait(&receivers_wg, WYN_FOREVER), 0);
    for (long i = 0; i < total; i++)
        CHECK_EQ(atomic_load(&counts[i]), 1);
    for (int i = 0; i < NCH; i++)
        wyn_chan_free(chans[i]);
    wyn_chan_free(all_done);
    free(counts);
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
