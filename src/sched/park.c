/* park.c — the one way anything in wyn waits, and the one way it is woken.
 *
 * Owns: the RUNNING -> PARKED -> RUNNABLE transitions, the wait claim word,
 *   and waiting for plain (non-coroutine) threads.
 * The claim: a wait is named (co, seq). Waiters arm it (wait_word = seq << 1);
 *   every waker (the counterpart, the deadline's timer, wyn_cancel) tries one
 *   CAS to seq << 1 | 1. Exactly one wins; it writes the result and readies
 *   the waiter; the others back off. A stale waker (older seq) always loses.
 *   One exception: a wait whose every possible claimer holds one lock (a
 *   channel wait with no deadline by a coroutine nobody can cancel) is
 *   claimed with a plain store under that lock (chan.h).
 * The park: a coroutine stays RUNNING until its registers are saved; then
 *   after_park (on the next context's stack) releases the wait's lock and
 *   publishes PARKED with a plain store. A claimer readies only a PARKED
 *   coroutine: one that finds it still RUNNING waits the few instructions
 *   until it is (ready_to). A claimer that holds the wait's lock finds the
 *   coroutine at most one store short of PARKED; the others (the timer, a
 *   cancel, a finishing joinee, a cond signal) may wait for the rest of the
 *   switch. That wait cannot deadlock, because a coroutine between arming
 *   and PARKED never waits for anything such a claimer holds: it takes the
 *   timer heap's lock (never held by a claimer that waits) and the pools',
 *   and it fires no timers (park's switch skips the timer round;
 *   wyn__wait_arm does it instead, before arming). wyn_cond_wait's unlock of
 *   the mutex after arming may claim a mutex waiter, which is one store from
 *   PARKED; docs/internals.md has the whole argument. So a coroutine is
 *   never queued twice and never resumed while it still runs, and a park
 *   costs no locked instruction of its own.
 * Cancellation: wyn_cancel stores `cancelled`, then looks for an armed wait;
 *   park checks `cancelled` after arming. Neither side has a fence between
 *   its store and its load; wyn_cancel makes up for both with the process-
 *   wide barrier of wyn__fence_heavy when it does not win an armed wait
 *   (co.c). Where the kernel has no such barrier, park fences (sys.c).
 * Plain threads wait on a futex in their own record (CO_KIND_THREAD). */
#include <sched.h>

#include "sched.h"

uint64_t wyn__wait_arm(wyn_co *self)
{
    /* Due timers fire here, before the wait is armed: never in park's
     * switch, where this coroutine could be the one a timer must wait for. */
    if (self->kind == CO_KIND_CORO)
        wyn__timer_tick(self->worker);
    uint64_t seq = (atomic_load_explicit(&self->wait_word, memory_order_relaxed) >> 1) + 1;
    self->wake_result = 0;
    self->wake_data = 0;
    /* release: wakers find the wait through an object published under its
     * lock (or the timer heap's), whose release/acquire already orders this
     * store; release keeps it ahead of the node fields for a direct reader.
     * A canceller is ordered by wyn__fence_heavy instead (co.c). */
    atomic_store_explicit(&self->wait_word, seq << 1, memory_order_release);
    return seq;
}

static void ready_to(wyn_co *co, int where);

void wyn__ready(wyn_co *co, bool to_next) { ready_to(co, to_next ? 1 : 0); }
void wyn__ready_expired(wyn_co *co) { ready_to(co, 2); }

/* The claimed coroutine is still switching away: wait until after_park has
 * published it PARKED (see the header for why this always ends). */
static WYN_NOINLINE int await_parked(wyn_co *co)
{
    unsigned spins = 0;
    int s;
    /* acquire: as in ready_to. */
    while ((s = atomic_load_explicit(&co->state, memory_order_acquire)) == CO_RUNNING)
        wyn__wait_step(&spins);
    return s;
}

/* where: 0 the deque, 1 the next slot, 2 the expired queue. The caller won
 * co's wait claim, so it is the only one to ready co for this wait. */
static void ready_to(wyn_co *co, int where)
{
    if (co->kind == CO_KIND_THREAD) {
        /* release: the claimer's result (and any hand-off copy) is visible to
         * the thread once it sees futex == 1 (acquire in park_thread). */
        atomic_store_explicit(&co->futex, 1, memory_order_release);
        wyn__futex_wake(&co->futex, 1);
        return;
    }
    /* acquire: pairs with after_park's release store, so a PARKED
     * coroutine's saved context is visible. */
    int s = atomic_load_explicit(&co->state, memory_order_acquire);
    if (unlikely(s == CO_RUNNING))
        s = await_parked(co);
    if (unlikely(s != CO_PARKED))
        wyn__fatal("internal error: readying coroutine #%llu in state %d",
                   (unsigned long long)co->id, s);
    /* The claim made us the only waker, and the parker is done with the
     * state once it is PARKED: a plain store does. The queue push then
     * publishes the context onward (to another thread: a deque's or the
     * global queue's release, or the rescue gate's). */
    atomic_store_explicit(&co->state, CO_RUNNABLE, memory_order_relaxed);
    if (where == 2)
        wyn__enqueue_expired(co);
    else
        wyn__enqueue(co, where == 1);
}

/* Claim (self, seq) for ourselves: true if nobody else had. */
static bool claim_own(wyn_co *self, uint64_t seq)
{
    uint64_t armed = seq << 1;
    /* acquire: as any claim (a loser reads nothing of ours, though). */
    return atomic_compare_exchange_strong_explicit(&self->wait_word, &armed, armed | 1,
                                                   memory_order_acquire, memory_order_relaxed);
}

bool wyn__wake(wyn_co *co, uint64_t seq, int result, intptr_t data, bool to_next)
{
    uint64_t armed = seq << 1;
    /* acquire: pairs with the arming release store; we read the fields the
     * waiter wrote before it (and the object lock orders the rest). */
    if (!atomic_compare_exchange_strong_explicit(&co->wait_word, &armed, armed | 1,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    co->wake_result = result;
    co->wake_data = data;
    wyn__ready(co, to_next);
    return true;
}

static void park_switch(wyn_co *self, void (*unlock)(void *), void *lock);

bool wyn__wait_disarm(wyn_co *self, uint64_t seq, int *result)
{
    if (claim_own(self, seq))
        return false;
    /* Someone claimed it and will ready us once we are parked: park. */
    if (self->kind == CO_KIND_THREAD) {
        while (atomic_load_explicit(&self->futex, memory_order_acquire) == 0)
            wyn__futex_wait(&self->futex, 0, WYN_FOREVER);
        atomic_store_explicit(&self->futex, 0, memory_order_relaxed);
    } else {
        park_switch(self, NULL, NULL);
    }
    *result = self->wake_result;
    return true;
}

struct park_msg {
    void   (*unlock)(void *);
    void    *lock;
};

/* Runs on the next context's stack once the parker's registers are saved. */
static void after_park(wyn__ctx *from, void *arg)
{
    struct park_msg *m = arg;
    wyn_co *co = (wyn_co *)((char *)from - offsetof(wyn_co, ctx));
    if (m->unlock)
        m->unlock(m->lock);   /* from here on lock holders may find the wait */
    /* release: whoever readies us (their acquire load in ready_to) sees the
     * saved context. Nobody else writes the state of a RUNNING coroutine,
     * so a plain store does; after it, co may run again at once, so *m
     * (on co's stack) is not read after it. */
    atomic_store_explicit(&co->state, CO_PARKED, memory_order_release);
}

/* Switch away until a claimer readies us. The wait is armed (and claimed by
 * nobody, or by someone who waits for this park). Inline: the switch stays
 * in wyn__park's frame, the one call deep it always was (the return-stack
 * predictor gets a resume right when both sides parked at the same depth). */
static WYN_ALWAYS_INLINE void park_switch(wyn_co *self, void (*unlock)(void *), void *lock)
{
    struct park_msg m = {unlock, lock};
    wyn__worker *w = self->worker;
    atomic_store_explicit(&w->st_parks,
                          atomic_load_explicit(&w->st_parks, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    /* No timer round in this take (see the header). */
    wyn_co *next = NULL;
    if (!atomic_load_explicit(&wyn__rt.stopping, memory_order_relaxed))
        next = wyn__take_queued(w);
    wyn__switch_to(w, self, next, after_park, &m, false);
}

static int park_thread(wyn_co *self, uint64_t seq, int64_t deadline, void (*unlock)(void *),
                       void *lock)
{
    if (wyn__deadline_passed(deadline))
        wyn__wake(self, seq, -ETIMEDOUT, 0, false);
    if (unlock)
        unlock(lock);
    for (;;) {
        /* acquire: pairs with wyn__ready's release store. */
        if (atomic_load_explicit(&self->futex, memory_order_acquire))
            break;
        if (wyn__futex_wait(&self->futex, 0, deadline) == -ETIMEDOUT) {
            wyn__wake(self, seq, -ETIMEDOUT, 0, false);   /* loses if someone else won */
            deadline = WYN_FOREVER;                          /* now wait for the winner */
        }
    }
    atomic_store_explicit(&self->futex, 0, memory_order_relaxed);
    return self->wake_result;
}

WYN_NOINLINE int wyn__park(wyn_co *self, uint64_t seq, int64_t deadline, void (*unlock)(void *),
                           void *lock)
{
    if (self->kind == CO_KIND_THREAD)
        return park_thread(self, seq, deadline, unlock, lock);
    /* Late checks: a cancel or a passed deadline ends the wait before it
     * starts, if we can claim it ourselves; if someone else claimed it
     * first, they wait for us to park and ready us at once.
     * The light fence keeps the compiler from moving this load of
     * `cancelled` above the arming store (wyn_cancel's heavy fence orders
     * the two in the processor; co.c); without membarrier it is a full
     * fence and orders them itself.
     * seq_cst: in the order of wyn_cancel's store. */
    wyn__fence_light();
    int early = 0;
    if (atomic_load_explicit(&self->cancelled, memory_order_seq_cst))
        early = -ECANCELED;
    else if (wyn__deadline_passed(deadline))
        early = -ETIMEDOUT;
    bool timed = false;
    if (early) {
        if (claim_own(self, seq)) {
            self->wake_result = early;
            if (unlock)
                unlock(lock);
            return early;
        }
    } else if (deadline != WYN_FOREVER &&
               !(atomic_load_explicit(&self->wait_word, memory_order_relaxed) & 1)) {
        wyn__timer_add(self, seq, deadline);
        timed = true;
    }
    park_switch(self, unlock, lock);
    if (timed)
        wyn__timer_del(self);
    return self->wake_result;
}

WYN_NOINLINE int wyn__park_alone(int64_t deadline)   /* out of line: cold for the channels */
{
    wyn_co *self = wyn__self();
    int rc = wyn__wait_check(self, deadline);
    if (rc)
        return rc;
    uint64_t seq = wyn__wait_arm(self);
    return wyn__park(self, seq, deadline, NULL, NULL);
}
