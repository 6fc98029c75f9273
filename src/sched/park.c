/* park.c — the one way anything in wyn waits, and the one way it is woken.
 *
 * Owns: the RUNNING -> PARKED -> RUNNABLE transitions (and WOKEN), the wait
 *   claim word, and waiting for plain (non-coroutine) threads.
 * The claim: a wait is named (co, seq). Waiters arm it (wait_word = seq << 1);
 *   every waker (the counterpart, the deadline's timer, wyn_cancel) tries one
 *   CAS to seq << 1 | 1. Exactly one wins; it writes the result and readies
 *   the waiter; the others back off. A stale waker (older seq) always loses.
 * The park: a coroutine stays RUNNING until its registers are saved; then
 *   after_park (on the next context's stack) publishes it PARKED with one CAS.
 *   A waker that finds it still RUNNING marks it WOKEN, and the parker
 *   requeues itself instead of sleeping. So a coroutine is never queued twice
 *   and never resumed while it still runs. A park costs one locked
 *   instruction: arming is a plain store, and the CAS is also the parker's
 *   half of the Dekker pattern with wyn_cancel (see after_park).
 * Plain threads wait on a futex in their own record (CO_KIND_THREAD). */
#include <sched.h>

#include "sched.h"

uint64_t wyn__wait_arm(wyn_co *self)
{
    uint64_t seq = (atomic_load_explicit(&self->wait_word, memory_order_relaxed) >> 1) + 1;
    self->wake_result = 0;
    self->wake_data = 0;
    /* release: wakers find the wait through an object published under its
     * lock (or the timer heap's), whose release/acquire already orders this
     * store; release keeps it ahead of the node fields for a direct reader.
     * A canceller is ordered by after_park's CAS instead. */
    atomic_store_explicit(&self->wait_word, seq << 1, memory_order_release);
    return seq;
}

static void ready_to(wyn_co *co, int where);

void wyn__ready(wyn_co *co, bool to_next) { ready_to(co, to_next ? 1 : 0); }
void wyn__ready_expired(wyn_co *co) { ready_to(co, 2); }

/* where: 0 the deque, 1 the next slot, 2 the expired queue. */
static void ready_to(wyn_co *co, int where)
{
    if (co->kind == CO_KIND_THREAD) {
        /* release: the claimer's result (and any hand-off copy) is visible to
         * the thread once it sees futex == 1 (acquire in park_thread). */
        atomic_store_explicit(&co->futex, 1, memory_order_release);
        wyn__futex_wake(&co->futex, 1);
        return;
    }
    /* acquire (here and on a failed CAS below): pairs with after_park's
     * release, so a PARKED coroutine's saved context is visible. */
    int s = atomic_load_explicit(&co->state, memory_order_acquire);
    for (;;) {
        if (s == CO_PARKED) {
            /* The claim made us the only waker, and the parker is done with
             * the state once it is PARKED: a plain store does. The queue
             * push then publishes the context onward. */
            atomic_store_explicit(&co->state, CO_RUNNABLE, memory_order_relaxed);
            if (where == 2)
                wyn__enqueue_expired(co);
            else
                wyn__enqueue(co, where == 1);
            return;
        } else if (s == CO_RUNNING) {
            /* release: the result written by the claimer is visible to the
             * parker, which reads the state with acquire. */
            if (atomic_compare_exchange_weak_explicit(&co->state, &s, CO_WOKEN,
                                                      memory_order_acq_rel, memory_order_acquire))
                return;
        } else {
            wyn__fatal("internal error: readying coroutine #%llu in state %d",
                       (unsigned long long)co->id, s);
        }
    }
}

bool wyn__wake(wyn_co *co, uint64_t seq, int result, intptr_t data, bool to_next)
{
    uint64_t armed = seq << 1;
    /* acquire: we read the waiter's published wait (armed with seq_cst). */
    if (!atomic_compare_exchange_strong_explicit(&co->wait_word, &armed, armed | 1,
                                                 memory_order_acquire, memory_order_relaxed))
        return false;
    co->wake_result = result;
    co->wake_data = data;
    wyn__ready(co, to_next);
    return true;
}

bool wyn__wait_disarm(wyn_co *self, uint64_t seq, int *result)
{
    uint64_t armed = seq << 1;
    if (atomic_compare_exchange_strong_explicit(&self->wait_word, &armed, armed | 1,
                                                memory_order_acquire, memory_order_relaxed))
        return false;
    /* Someone claimed it and is about to ready us: absorb that ready. The gap
     * between their claim and their ready is a few instructions. */
    if (self->kind == CO_KIND_THREAD) {
        while (atomic_load_explicit(&self->futex, memory_order_acquire) == 0)
            wyn__futex_wait(&self->futex, 0, WYN_FOREVER);
        atomic_store_explicit(&self->futex, 0, memory_order_relaxed);
    } else {
        unsigned spins = 0;
        while (atomic_load_explicit(&self->state, memory_order_acquire) != CO_WOKEN)
            if (++spins % 128 == 0)
                sched_yield();
            else
                wyn__cpu_relax();
        atomic_store_explicit(&self->state, CO_RUNNING, memory_order_relaxed);
    }
    *result = self->wake_result;
    return true;
}

struct park_msg {
    void   (*unlock)(void *);
    void    *lock;
    uint64_t seq;
};

/* Runs on the next context's stack once the parker's registers are saved. */
static void after_park(wyn__ctx *from, void *arg)
{
    struct park_msg *m = arg;
    wyn_co *co = (wyn_co *)((char *)from - offsetof(wyn_co, ctx));
    uint64_t seq = m->seq;   /* *m is on co's stack: read it before co can run */
    if (m->unlock)
        m->unlock(m->lock);   /* from here on wakers may find the wait */
    int expected = CO_RUNNING;
    /* seq_cst: release makes the saved context visible to whoever readies
     * and resumes us (their acquire load in wyn__ready); and this RMW and the
     * load of `cancelled` below are our half of Dekker's pattern with
     * wyn_cancel (seq_cst store of `cancelled`, then seq_cst load of state):
     * either we see its store, or its load of state comes after this CAS in
     * the single order, reads PARKED (or a waker's later state, when the wait
     * is claimed anyway), and through this release sees the armed wait. */
    if (!atomic_compare_exchange_strong_explicit(&co->state, &expected, CO_PARKED,
                                                 memory_order_seq_cst, memory_order_acquire)) {
        WYN_ASSERT(expected == CO_WOKEN);
        atomic_store_explicit(&co->state, CO_RUNNABLE, memory_order_relaxed);
        wyn__enqueue(co, true);
        return;
    }
    /* A cancel that raced with the park: claim the wait for it. co may be
     * running again already (a waker won); then seq is stale and this loses. */
    if (unlikely(atomic_load_explicit(&co->cancelled, memory_order_seq_cst)))
        wyn__wake(co, seq, -ECANCELED, 0, false);
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

int wyn__park(wyn_co *self, uint64_t seq, int64_t deadline, void (*unlock)(void *), void *lock)
{
    if (self->kind == CO_KIND_THREAD)
        return park_thread(self, seq, deadline, unlock, lock);
    /* Late checks: a cancel or a passed deadline ends the wait before it
     * starts; claiming our own wait makes every other waker back off (a
     * cancel landing after this check is caught by after_park). */
    if (atomic_load_explicit(&self->cancelled, memory_order_relaxed))
        wyn__wake(self, seq, -ECANCELED, 0, false);
    else if (wyn__deadline_passed(deadline))
        wyn__wake(self, seq, -ETIMEDOUT, 0, false);
    bool timed = false;
    if (deadline != WYN_FOREVER &&
        !(atomic_load_explicit(&self->wait_word, memory_order_relaxed) & 1)) {
        wyn__timer_add(self, seq, deadline);
        timed = true;
    }
    /* acquire: a WOKEN state carries the claimer's result. Not WOKEN yet: we
     * switch away still RUNNING, and a waker that claims us meanwhile marks us
     * WOKEN for after_park to see. */
    if (atomic_load_explicit(&self->state, memory_order_acquire) != CO_WOKEN) {
        struct park_msg m = {unlock, lock, seq};
        wyn__worker *w = self->worker;
        atomic_store_explicit(&w->st_parks,
                              atomic_load_explicit(&w->st_parks, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        wyn__switch_away(w, self, after_park, &m, false);
    } else {
        /* Woken before parking: never switched; undo the lock here. */
        atomic_store_explicit(&self->state, CO_RUNNING, memory_order_relaxed);
        if (unlock)
            unlock(lock);
    }
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
