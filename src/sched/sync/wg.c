/* wg.c — wyn_wg: Go's sync.WaitGroup.
 *
 * Owns: the counter (atomic, changed without the lock) and the FIFO of
 *   waiters (under the spinlock).
 * Protocol: wait returns at once if it sees 0; else it takes the lock, looks
 *   again and queues. Adds that do not reach zero are one CAS; an add that
 *   reaches zero (or below: fatal) is done under the lock, where it also wakes
 *   every queued waiter. So a zero crossing wakes exactly the waiters that
 *   queued before it: none is missed (they looked under the same lock) and
 *   none of a later round is released early (a next round may start as soon
 *   as the previous waits have returned, as in Go).
 * Freeing: the waiter may free the WaitGroup as soon as wait returns (Go's
 *   TestWaitGroupRace shape): a zero crossing is the adder's last touch but
 *   for its lock's release, and a waiter that saw 0 waits until the lock is
 *   free before returning (waitq.h).
 * Lock order: the spinlock is a leaf (wyn__wake runs under it).
 * Memory model: wyn_wg_done -> the wait it releases returning. Every add is an
 *   acq_rel RMW on the counter, so the RMW that reaches 0 heads a release
 *   sequence containing every earlier done and acquires them all; a fast-path
 *   wait's acquire load of 0 pairs with it directly; a slow-path waiter gets
 *   it through the spinlock and its wake. */
#include "waitq.h"

typedef struct {
    _Atomic int64_t counter;
    wyn__spinlock   lock;
    wyn__waitq      q;
} wg_t;

_Static_assert(sizeof(wg_t) <= sizeof(wyn_wg), "wg_t must fit in wyn_wg");
_Static_assert(_Alignof(wg_t) <= _Alignof(wyn_wg), "wg_t alignment");

static inline wg_t *WG(wyn_wg *wg) { return (wg_t *)(void *)wg; }

void wyn_wg_add(wyn_wg *wgp, int64_t delta)
{
    wg_t *wg = WG(wgp);
    int64_t v = atomic_load_explicit(&wg->counter, memory_order_relaxed);
    /* Fast path: a change that does not reach zero (or go negative). */
    while (v + delta > 0)
        /* acq_rel: release publishes this caller's writes to the waiter that a
         * later zero releases (the RMW that reaches zero continues our release
         * sequence and acquires it); acquire keeps the chain transitive. */
        if (atomic_compare_exchange_weak_explicit(&wg->counter, &v, v + delta,
                                                  memory_order_acq_rel, memory_order_relaxed))
            return;
    /* Every zero crossing happens under the lock, together with its wake, so
     * it wakes exactly the waiters queued before it (not those of a next round
     * that queued after a fast-path waiter saw this zero and a new add). */
    wyn__spin_lock(&wg->lock);
    /* acq_rel: as above; this RMW acquires every earlier done's writes. */
    v = atomic_fetch_add_explicit(&wg->counter, delta, memory_order_acq_rel) + delta;
    if (v < 0) {
        wyn__spin_unlock(&wg->lock);
        wyn__fatal("negative WaitGroup counter");
    }
    if (v == 0)
        wyn__waitq_wake_all(&wg->q, 0);
    wyn__spin_unlock(&wg->lock);
}

void wyn_wg_done(wyn_wg *wg) { wyn_wg_add(wg, -1); }

int wyn_wg_wait(wyn_wg *wgp, int64_t deadline)
{
    wg_t *wg = WG(wgp);
    int rc = wyn__deadline_check(deadline);
    if (unlikely(rc))
        return rc;
    /* acquire: pairs with the acq_rel RMW that brought the counter to 0. That
     * RMW ran under the lock, followed by its wakes: return only once the
     * lock is free, so our caller may free the WaitGroup (waitq.h). */
    if (atomic_load_explicit(&wg->counter, memory_order_acquire) == 0 && wyn__spin_is_free(&wg->lock))
        return 0;
    wyn_co *self = wyn__self();
    wyn__spin_lock(&wg->lock);
    /* acquire: as above; the lock orders this load against the waker's. */
    if (atomic_load_explicit(&wg->counter, memory_order_acquire) == 0) {
        wyn__spin_unlock(&wg->lock);
        return 0;
    }
    rc = wyn__wait_check(self, deadline);
    if (rc) {
        wyn__spin_unlock(&wg->lock);
        return rc;
    }
    wyn__waiter w = {.obj = wg};
    rc = wyn__waitq_park(&wg->q, &w, &wg->lock, self, deadline, wyn__waitq_abandon, false);
    if (rc >= 0)
        return 0;
    wyn__spin_unlock(&wg->lock);
    return rc;
}
