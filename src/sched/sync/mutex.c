/* mutex.c — wyn_mutex: Go's sync.Mutex (not owned; normal and starvation modes).
 *
 * Owns: the state word and the FIFO of blocked lockers.
 * State word: LOCKED (held), WAITERS (the queue is non-empty), STARVING
 *   (hand-off mode). Fast paths are one CAS each: lock 0 -> LOCKED, unlock
 *   LOCKED -> 0.
 * Normal mode: unlock clears LOCKED and, if there are waiters (then under
 *   the spinlock), wakes the first one with M_RETRY; it competes with
 *   newcomers (who may barge) and, if it loses, queues again at the front.
 *   A waiter that has been waiting for over 1 ms and still finds the mutex
 *   locked sets STARVING, and an unlock that finds such a waiter at the head
 *   of the queue sets it too (API.md: it gets the mutex ahead of newcomers).
 * Starvation mode: unlock leaves LOCKED set and hands the mutex to the first
 *   waiter whose wake succeeds (result 0: it owns the mutex); newcomers queue
 *   at the back. Hand-off ends (STARVING cleared) when the new owner waited
 *   under 1 ms or was the last waiter; an unlock that finds no waiter left
 *   clears LOCKED, STARVING and WAITERS at once.
 * Invariants: STARVING implies LOCKED. WAITERS is set before a waiter is
 *   queued (CAS from a LOCKED state, under the lock) and cleared, under the
 *   lock, only when the queue is empty. Bits change by CAS or fetch_and/or.
 * Freeing: an unlock with waiters (or in starvation mode) does all its work
 *   under the spinlock, and every lock that succeeds waits until the spinlock
 *   is free (one extra load on the fast path), so "lock, unlock, free" right
 *   after another caller's unlock is safe (waitq.h).
 * Lock order: the object's spinlock is a leaf (wyn__wake runs under it).
 * Memory model: unlock -> next lock. Fast paths: release CAS in unlock pairs
 *   with the acquire CAS in lock. Hand-off: the unlocker's writes reach the new
 *   owner through the spinlock and the wake (claim CAS, run-queue publication). */
#include "waitq.h"

enum { M_LOCKED = 1u, M_WAITERS = 2u, M_STARVING = 4u };
enum { M_OWN = 0, M_RETRY = 1 };          /* wake results */
#define STARVE_NS ((int64_t)1000000)

typedef struct {
    _Atomic uint32_t state;
    wyn__spinlock    lock;
    wyn__waitq       q;
} mutex_t;

_Static_assert(sizeof(mutex_t) <= sizeof(wyn_mutex), "mutex_t must fit in wyn_mutex");
_Static_assert(_Alignof(mutex_t) <= _Alignof(wyn_mutex), "mutex_t alignment");

static inline mutex_t *as_mutex(wyn_mutex *m) { return (mutex_t *)(void *)m; }

/* Under m->lock: the queue emptied, so WAITERS goes. relaxed: the bit is only
 * a hint for unlock to take the lock; the lock orders the queue itself. */
static void clear_waiters_if_empty(mutex_t *m)
{
    if (wyn__waitq_empty(&m->q))
        atomic_fetch_and_explicit(&m->state, ~M_WAITERS, memory_order_relaxed);
}

/* Abandon hook (runtime teardown): unlink a parked waiter, keep the bits true. */
static void mutex_unlink(wyn_co *co, bool woken)
{
    wyn__waiter *w = co->wait_obj;
    mutex_t *m = w->obj;
    wyn__spin_lock(&m->lock);
    if (w->linked)
        wyn__waitq_remove(&m->q, w);
    clear_waiters_if_empty(m);
    wyn__spin_unlock(&m->lock);
    /* Handed the mutex but never resumed: give it back, as if it had timed out. */
    if (woken && co->wake_result == M_OWN)
        wyn_mutex_unlock((wyn_mutex *)(void *)m);
}

static int lock_slow(mutex_t *m, int64_t deadline)
{
    wyn_co *self = wyn__self();
    int64_t since = 0;     /* first queued at; 0 = not yet */
    bool again = false;    /* woken once already: re-queue at the front (Go's LIFO) */
    for (;;) {
        uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);
        if (!(s & (M_LOCKED | M_STARVING))) {
            /* acquire: pairs with the release that unlocked it. */
            if (atomic_compare_exchange_weak_explicit(&m->state, &s, s | M_LOCKED,
                                                      memory_order_acquire, memory_order_relaxed)) {
                wyn__spin_wait_free(&m->lock);   /* see wyn_mutex_lock */
                return 0;
            }
            continue;
        }
        wyn__spin_lock(&m->lock);
        int rc = wyn__wait_check(self, deadline);
        if (rc) {
            wyn__spin_unlock(&m->lock);
            /* Completes if it can without waiting: recheck once, freely. */
            s = atomic_load_explicit(&m->state, memory_order_relaxed);
            if (!(s & (M_LOCKED | M_STARVING)) &&
                atomic_compare_exchange_strong_explicit(&m->state, &s, s | M_LOCKED,
                                                        memory_order_acquire, memory_order_relaxed)) {
                wyn__spin_wait_free(&m->lock);   /* acquire: as above; see wyn_mutex_lock */
                return 0;
            }
            return rc;
        }
        int64_t now = wyn_now();
        if (!since)
            since = now;
        bool queued = false;
        s = atomic_load_explicit(&m->state, memory_order_relaxed);
        while (s & M_LOCKED) {
            uint32_t ns = s | M_WAITERS;
            if (now - since > STARVE_NS)
                ns |= M_STARVING;   /* only ever set while LOCKED */
            /* relaxed: publishes only the bits; the unlocker that sees WAITERS
             * takes m->lock, which we hold until we are parked and queued. */
            if (atomic_compare_exchange_weak_explicit(&m->state, &s, ns, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                queued = true;
                break;
            }
        }
        if (!queued) {             /* unlocked meanwhile: go and take it */
            wyn__spin_unlock(&m->lock);
            continue;
        }
        wyn__waiter w = {.obj = m, .since = since};
        rc = wyn__waitq_park(&m->q, &w, &m->lock, self, deadline, mutex_unlink, again);
        if (rc == M_OWN)
            return 0;              /* handed off: LOCKED was left set for us */
        if (rc == M_RETRY) {
            again = true;
            continue;
        }
        clear_waiters_if_empty(m); /* timed out or cancelled; lock held again */
        wyn__spin_unlock(&m->lock);
        return rc;
    }
}

int wyn_mutex_lock(wyn_mutex *mu, int64_t deadline)
{
    mutex_t *m = as_mutex(mu);
    int rc = wyn__deadline_check(deadline);
    if (unlikely(rc))
        return rc;
    uint32_t s = 0;
    /* acquire: pairs with the release CAS/fetch_and in unlock, so the previous
     * holder's writes are visible to us. */
    if (likely(atomic_compare_exchange_strong_explicit(&m->state, &s, M_LOCKED,
                                                       memory_order_acquire, memory_order_relaxed))) {
        /* The unlocker may have freed it from under m->lock (slow unlock):
         * wait until it let go, so our caller may free m (waitq.h). */
        if (unlikely(!wyn__spin_is_free(&m->lock)))
            wyn__spin_wait_free(&m->lock);
        return 0;
    }
    return lock_slow(m, deadline);
}

/* Under m->lock, in starvation mode: give the mutex (still LOCKED) to the
 * first waiter that takes it; with nobody left, unlock it fully. */
static void handoff_locked(mutex_t *m)
{
    wyn__waiter *w;
    while ((w = wyn__waitq_pop(&m->q))) {
        int64_t since = w->since;      /* read before the wake: w may vanish after */
        bool last = wyn__waitq_empty(&m->q);
        if (wyn__wake(w->co, w->seq, M_OWN, 0, true)) {
            if (last || wyn_now() - since < STARVE_NS)
                atomic_fetch_and_explicit(&m->state, last ? ~(M_STARVING | M_WAITERS) : ~M_STARVING,
                                          memory_order_relaxed);  /* relaxed: bits only; lock held */
            return;
        }
    }
    /* release: the next locker's acquire CAS sees our writes. */
    atomic_fetch_and_explicit(&m->state, ~(M_LOCKED | M_STARVING | M_WAITERS), memory_order_release);
}

static WYN_NOINLINE void unlock_slow(mutex_t *m, uint32_t s)
{
    for (;;) {
        if (!(s & M_LOCKED))
            wyn__fatal("unlock of unlocked mutex");
        if (s & (M_STARVING | M_WAITERS))
            break;
        /* release: pairs with the next locker's acquire CAS. This is our
         * last touch of m. */
        if (atomic_compare_exchange_weak_explicit(&m->state, &s, s & ~M_LOCKED,
                                                  memory_order_release, memory_order_relaxed))
            return;
    }
    /* Waiters: everything happens under m->lock, so whoever returns because
     * of it (a woken waiter, a barger that locks) waits until we let go. The
     * bits other than LOCKED change only under m->lock, which we hold now. */
    wyn__spin_lock(&m->lock);
    s = atomic_load_explicit(&m->state, memory_order_relaxed);
    if (!(s & M_LOCKED)) {
        wyn__spin_unlock(&m->lock);
        wyn__fatal("unlock of unlocked mutex");
    }
    /* API.md: a waiter blocked for over 1 ms gets the mutex ahead of
     * newcomers. Go enters hand-off mode only once such a waiter has woken and
     * lost a race; here the unlock that finds it at the head of the queue
     * hands the mutex over at once (relaxed: bits only; m->lock held). */
    if (!(s & M_STARVING) && m->q.head && wyn_now() - m->q.head->since > STARVE_NS) {
        atomic_fetch_or_explicit(&m->state, M_STARVING, memory_order_relaxed);
        s |= M_STARVING;
    }
    if (s & M_STARVING) {
        handoff_locked(m);
    } else {
        /* release: pairs with the next locker's acquire CAS. */
        atomic_fetch_and_explicit(&m->state, ~M_LOCKED, memory_order_release);
        /* Normal mode: wake the first waiter whose wake succeeds to compete. */
        wyn__waitq_wake_one(&m->q, M_RETRY);
        clear_waiters_if_empty(m);
    }
    wyn__spin_unlock(&m->lock);
}

void wyn_mutex_unlock(wyn_mutex *mu)
{
    mutex_t *m = as_mutex(mu);
    uint32_t s = M_LOCKED;
    /* release: pairs with the next locker's acquire CAS. */
    if (likely(atomic_compare_exchange_strong_explicit(&m->state, &s, 0, memory_order_release,
                                                       memory_order_relaxed)))
        return;
    unlock_slow(m, s);
}

void wyn__mutex_lock_uncancellable(wyn_mutex *m)
{
    wyn_co *self = wyn__self();
    bool held = wyn__cancel_hold(self);
    int rc;
    /* -ECANCELED here is a cancel that arrived during the wait: take the flag
     * again (remembering it) and wait again. */
    while ((rc = wyn_mutex_lock(m, WYN_FOREVER)) != 0) {
        WYN_ASSERT(rc == -ECANCELED);
        held |= wyn__cancel_hold(self);
    }
    wyn__cancel_restore(self, held);
}
