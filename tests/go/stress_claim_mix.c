/* stress_claim_mix.c — hunts the two ways a channel wait is claimed meeting
 * on one channel: the plain store under the channel lock (a send or receive
 * with no deadline by a coroutine nobody can cancel: spawned without a handle,
 * or detached) and the CAS that every other wait needs because its timer or a
 * wyn_cancel may claim it without the lock.
 *
 * Each round makes a channel (capacity 0, 1 or 4) and starts senders and
 * receivers of five kinds at once: PLAIN (no handle, WYN_FOREVER: the plain
 * claim), TIMED (no handle, deadlines of up to 40 µs, retrying after each
 * timeout: the timer's CAS), CANCEL (a handle, WYN_FOREVER, cancelled at a
 * random moment by the main coroutine: the canceller's CAS), DETACH (a handle
 * that the main coroutine gives up at a random moment: its waits switch from
 * the CAS to the plain claim mid-round) and, for receivers, SELECT (a select
 * of the receive and a NULL case: a select's node, always CAS). Every sender
 * sends its own numbered values; after the senders finish, the channel is
 * closed and the receivers drain it.
 *
 * What would fail: a value received twice (a wait claimed both by the lock
 * holder's plain store and by a timer or a cancel, so its owner is readied
 * twice and a hand-off lands in a stale node: usually a crash or a double-run
 * report instead), a value a send reported delivered that nobody received,
 * a value received whose send reported -ETIMEDOUT or -ECANCELED, a receive
 * that returned -ETIMEDOUT or -ECANCELED but wrote its destination, a hang
 * (a wait nobody can claim any more), and a DETACH or CANCEL coroutine that
 * was not cancelled returning -ECANCELED. */
#include "test.h"

#include <stdatomic.h>
#include <stdbool.h>

enum { K_PLAIN, K_TIMED, K_CANCEL, K_DETACH, K_SELECT, K_KINDS };
enum { MAXS = 8, MAXR = 8, VALUES = 64 };

struct item {
    uint32_t round, sender, k;
};

struct party {
    int kind;
    uint32_t id;
    bool is_send;
    bool will_cancel;
    wyn_co *handle;
    uint64_t rng;
};

static wyn_chan *ch;
static uint32_t round_no;
static struct party senders[MAXS], receivers[MAXR];
static atomic_int sent_ok[MAXS][VALUES];
static atomic_int received[MAXS][VALUES];
static atomic_int cancelled_seen;
static wyn_wg senders_wg, receivers_wg;

static int64_t timed_deadline(struct party *p)
{
    return wyn_deadline((int64_t)(rng_next(&p->rng) % 40) * US);
}

static void sender(void *arg)
{
    struct party *p = arg;
    for (uint32_t k = 0; k < VALUES; k++) {
        struct item it = {round_no, p->id, k};
        int rc;
        do
            rc = wyn_chan_send(ch, &it, p->kind == K_TIMED ? timed_deadline(p) : WYN_FOREVER);
        while (rc == -ETIMEDOUT && p->kind == K_TIMED);
        if (rc == -ECANCELED) {
            CHECK(p->will_cancel);
            CHECK(wyn_cancelled());
            atomic_fetch_add(&cancelled_seen, 1);
            break;
        }
        CHECK_EQ(rc, 0);
        atomic_store(&sent_ok[p->id][k], 1);
    }
    wyn_wg_done(&senders_wg);
}

static void got(const struct item *it)
{
    CHECK_EQ(it->round, round_no);
    CHECK(it->sender < MAXS && it->k < VALUES);
    if (atomic_fetch_add(&received[it->sender][it->k], 1) != 0) {
        fprintf(stderr, "round %u: value %u/%u received twice\n", round_no, it->sender, it->k);
        abort();
    }
}

static void receiver(void *arg)
{
    struct party *p = arg;
    for (;;) {
        struct item it = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
        int rc;
        if (p->kind == K_SELECT) {
            wyn_case cs[2] = {
                {.chan = ch, .op = WYN_RECV, .elem = &it},
                {.chan = NULL, .op = WYN_RECV, .elem = NULL},
            };
            rc = wyn_select(cs, 2, WYN_FOREVER);
            if (rc == 0)
                rc = cs[0].err;
            else
                CHECK(rc < 0);
        } else {
            rc = wyn_chan_recv(ch, &it, p->kind == K_TIMED ? timed_deadline(p) : WYN_FOREVER);
        }
        if (rc == -ETIMEDOUT || rc == -ECANCELED) {
            /* No effect: the destination is untouched. */
            CHECK_EQ(it.round, UINT32_MAX);
            CHECK_EQ(it.sender, UINT32_MAX);
            if (rc == -ETIMEDOUT) {
                CHECK_EQ(p->kind, K_TIMED);
                continue;
            }
            CHECK(p->will_cancel);
            CHECK(wyn_cancelled());
            atomic_fetch_add(&cancelled_seen, 1);
            break;
        }
        if (rc == -EPIPE)
            break;   /* closed and drained (the element was zeroed) */
        CHECK_EQ(rc, 0);
        got(&it);
    }
    wyn_wg_done(&receivers_wg);
}

static void start(struct party *p, void (*fn)(void *))
{
    p->handle = NULL;
    if (p->kind == K_CANCEL || p->kind == K_DETACH)
        p->handle = go_join(fn, p);
    else
        CHECK_EQ(wyn_spawn(fn, p), 0);
}

static void one_round(uint64_t *rng)
{
    static const size_t caps[] = {0, 1, 4};
    ch = wyn_chan_make(sizeof(struct item), caps[rng_next(rng) % 3]);
    CHECK(ch != NULL);
    memset(sent_ok, 0, sizeof sent_ok);
    memset(received, 0, sizeof received);
    atomic_store(&cancelled_seen, 0);

    unsigned ns = 1 + (unsigned)(rng_next(rng) % MAXS);
    unsigned nr = 1 + (unsigned)(rng_next(rng) % MAXR);
    int expect_cancels = 0;
    /* Party 0 of each side is PLAIN, so the plain claim is always in play
     * and some receiver always drains the channel after the close. */
    for (unsigned i = 0; i < ns; i++) {
        struct party *p = &senders[i];
        *p = (struct party){.kind = i ? (int)(rng_next(rng) % K_SELECT) : K_PLAIN,
                            .id = i, .is_send = true, .rng = rng_next(rng)};
        p->will_cancel = p->kind == K_CANCEL && rng_next(rng) % 2;
    }
    for (unsigned i = 0; i < nr; i++) {
        struct party *p = &receivers[i];
        *p = (struct party){.kind = i ? (int)(rng_next(rng) % K_KINDS) : K_PLAIN,
                            .id = i, .rng = rng_next(rng)};
        p->will_cancel = p->kind == K_CANCEL && rng_next(rng) % 2;
    }
    wyn_wg_add(&senders_wg, ns);
    wyn_wg_add(&receivers_wg, nr);
    for (unsigned i = 0; i < ns || i < nr; i++) {
        if (i < ns)
            start(&senders[i], sender);
        if (i < nr)
            start(&receivers[i], receiver);
    }

    /* Cancel and detach at random moments while the values flow. */
    for (int step = 0; step < 4; step++) {
        unsigned delay = (unsigned)(rng_next(rng) % 60);
        if (delay < 20)
            wyn_yield();
        else
            wyn_sleep((int64_t)delay * US);
        for (unsigned i = 0; i < ns + nr; i++) {
            struct party *p = i < ns ? &senders[i] : &receivers[i - ns];
            if (!p->handle || rng_next(rng) % 4)
                continue;
            if (p->kind == K_DETACH) {
                wyn_detach(p->handle);
                p->handle = NULL;
            } else if (p->will_cancel) {
                CHECK_EQ(wyn_cancel(p->handle), 0);
                join_ok(p->handle);
                p->handle = NULL;
            }
        }
    }
    /* The rest: cancels due, and detaches (so the round sees every mix). */
    for (unsigned i = 0; i < ns + nr; i++) {
        struct party *p = i < ns ? &senders[i] : &receivers[i - ns];
        if (p->kind == K_DETACH && p->handle) {
            wyn_detach(p->handle);
            p->handle = NULL;
        } else if (p->will_cancel && p->handle) {
            CHECK_EQ(wyn_cancel(p->handle), 0);
            join_ok(p->handle);
            p->handle = NULL;
        }
        if (p->will_cancel)
            expect_cancels++;
    }

    CHECK_EQ(wyn_wg_wait(&senders_wg, watchdog()), 0);
    CHECK_EQ(wyn_chan_close(ch), 0);
    CHECK_EQ(wyn_wg_wait(&receivers_wg, watchdog()), 0);
    for (unsigned i = 0; i < ns + nr; i++) {
        struct party *p = i < ns ? &senders[i] : &receivers[i - ns];
        if (p->handle)
            join_ok(p->handle);   /* CANCEL parties that were not cancelled */
    }
    CHECK_EQ(wyn_chan_len(ch), 0);
    wyn_chan_free(ch);

    /* A coroutine cancelled after it finished sees no -ECANCELED. */
    CHECK(atomic_load(&cancelled_seen) <= expect_cancels);
    for (unsigned s = 0; s < ns; s++) {
        bool stopped = false;
        for (unsigned k = 0; k < VALUES; k++) {
            int sent = atomic_load(&sent_ok[s][k]), got_it = atomic_load(&received[s][k]);
            if (sent != got_it) {
                fprintf(stderr, "round %u: value %u/%u sent_ok %d but received %d times\n",
                        round_no, s, k, sent, got_it);
                abort();
            }
            /* A sender stops only at its cancel: no gaps before it. */
            if (!sent)
                stopped = true;
            else
                CHECK(!stopped);
        }
        if (stopped)
            CHECK(senders[s].will_cancel);
    }
}

static void body(void *arg)
{
    (void)arg;
    uint64_t rng = 0x5eed0fc1a1b5ULL ^ test_workers();
    long rounds = scaled(2000, 100);
    for (long r = 0; r < rounds; r++) {
        round_no = (uint32_t)r;
        one_round(&rng);
    }
    printf("stress_claim_mix: %ld rounds ok\n", rounds);
}

int main(void)
{
    test_run(body, NULL);
    return 0;
}
