/* stress_cancel.c — hunts wyn_cancel racing blocked (and arriving) channel
 * operations.
 *
 * Each round makes a channel (capacity 0 or 1) and spawns, with join handles,
 * 1..3 victims, each blocking (WYN_FOREVER) in a receive, a send of its own id,
 * or a select with a receive case, a send case on the same channel and a NULL
 * case; and 0..2 helpers that send an id or receive with a deadline of up to
 * 50 µs, racing the victims for the hand-off. After a random short delay the
 * main coroutine cancels a random non-empty subset of the victims, joins the
 * helpers, closes the channel (releasing the victims it did not cancel),
 * joins every victim and drains what is left.
 *
 * What would fail: a cancelled operation that had an effect (a send that
 * returned -ECANCELED whose id is received anyway; a receive or select that
 * returned -ECANCELED but wrote its destination or a case's err, or consumed
 * a value, which then shows up as lost); a value that a send reported
 * delivered but nobody received, or that was received twice (a cancelled
 * waiter that swallowed a hand-off meant for another); a cancel that does not
 * wake a blocked victim (hang); a victim that was not cancelled returning
 * -ECANCELED; after its cancel, a victim whose next blocking call waits
 * instead of returning -ECANCELED at once, whose wyn_cancelled() is 0, or
 * that cannot still complete calls that need no wait (a send into a channel
 * with room, a receive of a buffered value); wyn_cancel or wyn_join failing. */
#include "test.h"

#include <stdatomic.h>
#include <stdbool.h>

enum { MAXV = 3, MAXH = 2, IDS = MAXV + MAXH };
enum { V_RECV, V_SEND, V_SELECT };

struct item {
    uint32_t round, id;
};

static wyn_chan *ch;
static uint32_t round_no;
static atomic_int sent_ok[IDS];
static atomic_int recv_count[IDS];

struct victim {
    int kind;
    uint32_t id;
    bool will_cancel;
    int rc;
};

static void got(const struct item *it)
{
    CHECK_EQ(it->round, round_no);
    CHECK(it->id < IDS);
    if (atomic_fetch_add(&recv_count[it->id], 1) != 0) {
        fprintf(stderr, "round %u: id %u received twice\n", round_no, it->id);
        abort();
    }
}

/* After a cancel: calls that would wait fail at once, calls that need no wait
 * still complete. */
static void after_cancel(void)
{
    wyn_chan *mine = wyn_chan_make(sizeof(int), 1);
    CHECK(mine != NULL);
    int x = 5;
    /* Cancel arrives now or later: this wait must end with -ECANCELED. */
    CHECK_EQ(wyn_chan_recv(mine, &x, WYN_FOREVER), -ECANCELED);
    CHECK_EQ(x, 5);
    CHECK_EQ(wyn_cancelled(), 1);
    CHECK_EQ(wyn_chan_recv(NULL, &x, WYN_FOREVER), -ECANCELED);
    CHECK_EQ(wyn_select(NULL, 0, WYN_FOREVER), -ECANCELED);
    CHECK_EQ(wyn_chan_send(mine, &x, WYN_FOREVER), 0); /* room: completes */
    CHECK_EQ(wyn_chan_send(mine, &x, WYN_FOREVER), -ECANCELED); /* full: would wait */
    CHECK_EQ(wyn_chan_send(mine, &x, 0), -ECANCELED); /* even at a passed deadline */
    x = 0;
    CHECK_EQ(wyn_chan_recv(mine, &x, 0), 0); /* buffered: completes */
    CHECK_EQ(x, 5);
    CHECK_EQ(wyn_chan_recv(mine, &x, 0), -ECANCELED);
    CHECK_EQ(wyn_chan_close(mine), 0);
    CHECK_EQ(wyn_chan_recv(mine, &x, WYN_FOREVER), -EPIPE); /* closed: completes */
    wyn_chan_free(mine);
}

static void victim(void *arg)
{
    struct victim *v = arg;
    struct item out = {round_no, v->id};
    struct item in = {99, 99};
    switch (v->kind) {
    case V_RECV:
        v->rc = wyn_chan_recv(ch, &in, WYN_FOREVER);
        if (v->rc == 0) {
            got(&in);
        } else if (v->rc == -EPIPE) {
            CHECK_EQ(in.round, 0);
        } else {
            CHECK_EQ(v->rc, -ECANCELED);
            CHECK_EQ(in.round, 99); /* no effect */
        }
        break;
    case V_SEND:
        v->rc = wyn_chan_send(ch, &out, WYN_FOREVER);
        if (v->rc == 0)
            atomic_store(&sent_ok[v->id], 1);
        else
            CHECK(v->rc == -EPIPE || v->rc == -ECANCELED);
        break;
    default: {
        wyn_case cs[3] = {
            {ch, WYN_RECV, &in, 7},
            {NULL, WYN_RECV, &in, 7},
            {ch, WYN_SEND, &out, 7},
        };
        int rc = wyn_select(cs, 3, WYN_FOREVER);
        if (rc == -ECANCELED) {
            v->rc = rc;
            for (int j = 0; j < 3; j++)
                CHECK_EQ(cs[j].err, 7); /* no effect */
            CHECK_EQ(in.round, 99);
            break;
        }
        CHECK(rc == 0 || rc == 2);
        CHECK_EQ(cs[2 - rc].err, 7);
        CHECK_EQ(cs[1].err, 7);
        v->rc = cs[rc].err;
        if (rc == 0) {
            if (cs[0].err == 0) {
                got(&in);
            } else {
                CHECK_EQ(cs[0].err, -EPIPE);
                CHECK_EQ(in.round, 0);
            }
        } else {
            CHECK_EQ(in.round, 99);
            if (cs[2].err == 0)
                atomic_store(&sent_ok[v->id], 1);
            else
                CHECK_EQ(cs[2].err, -EPIPE);
        }
        break;
    }
    }
    if (!v->will_cancel)
        CHECK(v->rc != -ECANCELED);
    else
        after_cancel();
}

struct helper {
    uint32_t id;
    int sends;
    int64_t wait_ns;
};

static void helper(void *arg)
{
    struct helper *h = arg;
    if (h->sends) {
        struct item out = {round_no, h->id};
        int rc = wyn_chan_send(ch, &out, wyn_deadline(h->wait_ns));
        if (rc == 0)
            atomic_store(&sent_ok[h->id], 1);
        else
            CHECK_EQ(rc, -ETIMEDOUT);
    } else {
        struct item in = {99, 99};
        int rc = wyn_chan_recv(ch, &in, wyn_deadline(h->wait_ns));
        if (rc == 0) {
            got(&in);
        } else {
            CHECK_EQ(rc, -ETIMEDOUT);
            CHECK_EQ(in.round, 99);
        }
    }
}

static void test_main(void *arg)
{
    (void)arg;
    uint64_t rs = 0x853c49e6748fea9bull;
    long rounds = scaled(20000, 100);
    for (long r = 0; r < rounds; r++) {
        round_no = (uint32_t)r + 1;
        ch = wyn_chan_make(sizeof(struct item), (size_t)(rng_next(&rs) % 2));
        CHECK(ch != NULL);
        for (int i = 0; i < IDS; i++) {
            atomic_store(&sent_ok[i], 0);
            atomic_store(&recv_count[i], 0);
        }
        int nv = 1 + (int)(rng_next(&rs) % MAXV);
        int nh = (int)(rng_next(&rs) % (MAXH + 1));
        struct victim vs[MAXV];
        struct helper hs[MAXH];
        wyn_co *vh[MAXV], *hh[MAXH];
        int ncancel = 0;
        for (int i = 0; i < nv; i++) {
            vs[i] = (struct victim){(int)(rng_next(&rs) % 3), (uint32_t)i, rng_next(&rs) % 2 == 0, 1};
            ncancel += vs[i].will_cancel;
        }
        if (ncancel == 0)
            vs[rng_next(&rs) % (uint64_t)nv].will_cancel = true;
        for (int i = 0; i < nh; i++)
            hs[i] = (struct helper){(uint32_t)(MAXV + i), (int)(rng_next(&rs) % 2),
                                    (int64_t)(rng_next(&rs) % 50001)};

        for (int i = 0; i < nv; i++)
            CHECK_EQ(wyn_spawn_ex(victim, &vs[i], &(wyn_spawn_opts){.join = &vh[i]}), 0);
        for (int i = 0; i < nh; i++)
            CHECK_EQ(wyn_spawn_ex(helper, &hs[i], &(wyn_spawn_opts){.join = &hh[i]}), 0);

        uint64_t d = rng_next(&rs);
        if (d % 4 == 0)
            wyn_sleep((int64_t)((d >> 2) % 20001));
        else
            for (uint64_t i = 0; i < (d >> 2) % 6; i++)
                wyn_yield();
        for (int i = 0; i < nv; i++)
            if (vs[i].will_cancel)
                CHECK_EQ(wyn_cancel(vh[i]), 0);

        for (int i = 0; i < nh; i++)
            CHECK_EQ(wyn_join(hh[i], WYN_FOREVER), 0);
        CHECK_EQ(wyn_chan_close(ch), 0);
        for (int i = 0; i < nv; i++)
            CHECK_EQ(wyn_join(vh[i], WYN_FOREVER), 0);
        for (;;) {
            struct item it;
            int rc = wyn_chan_recv(ch, &it, 0);
            if (rc == -EPIPE)
                break;
            CHECK_EQ(rc, 0);
            got(&it);
        }

        for (int i = 0; i < nv; i++)
            CHECK(vs[i].rc == 0 || vs[i].rc == -EPIPE || vs[i].rc == -ECANCELED);
        for (int i = 0; i < IDS; i++) {
            int s = atomic_load(&sent_ok[i]), n = atomic_load(&recv_count[i]);
            if (n != s) {
                fprintf(stderr, "round %ld (cap %zu): id %d: send %s, received %d times\n", r,
                        wyn_chan_cap(ch), i, s ? "returned 0" : "did not return 0", n);
                for (int j = 0; j < nv; j++)
                    fprintf(stderr, "  victim %d: kind %d cancel %d rc %d\n", j, vs[j].kind,
                            vs[j].will_cancel, vs[j].rc);
                for (int j = 0; j < nh; j++)
                    fprintf(stderr, "  helper %u: sends %d wait %lld ns\n", hs[j].id, hs[j].sends,
                            (long long)hs[j].wait_ns);
                abort();
            }
        }
        wyn_chan_free(ch);
    }
}

int main(void)
{
    test_run(test_main, NULL);
    return 0;
}
