/* sem.c — wyn_sem: a counting semaphore with FIFO waiters; zero value holds
 * no permits.
 *
 * Owns: the permit count (atomic) and the FIFO of waiters (under the spinlock).
 * Invariant: permits are counted only while nobody waits. release, under the
 *   lock, hands its permit to the first waiter whose wake succeeds (result 0:
 *   the waiter holds it) and counts it only if nobody took it; a waiter queues
 *   only after seeing no permit under the lock. So a newcomer's lock-free
 *   fast path (take a counted permit) never overtakes a queued waiter, and a
 *   waiter that gave up was either still queued (it unlinks itself) or lost
 *   its wake, and the permit went to the next waiter: nothing taken, nothing lost.
 * Lock order: the spinlock is a leaf (wyn__wake runs under it).
 * Memory model: release -> the acquire it satisfies. Counted: release's
 *   release fetch_add pairs with the acquirer's acquire CAS. Handed off:
 *   through the spinlock and the wake. */
#include "waitq.h"

typedef struct {
    _Atomic int64_t permits;
    wyn__spinlock   lock;
    wyn__waitq      q;
} sem_t_;

_Static_assert(sizeof(sem_t_) <= sizeof(wyn_sem), "sem_t_ must fit in wyn_sem");
_Static_assert(_Alignof(sem_t_) <= _Alignof(wyn_sem), "sem_t_ alignment");

static inline sem_t_ *S(wyn_sem *s) { return (sem_t_ *)(void *)s; }

static void sem_unlink(wyn_co *co, bool woken)
{
    sem_t_ *s = ((wyn__waiter *)co->wait_obj)->obj;
    wyn__waitq_abandon(co, woken);
    /* Handed a permit but never resumed: give it back, as if it had timed out. */
    if (woken && co->wake_result == 0)
        wyn_sem_release((wyn_sem *)(void *)s);
}

/* Take a counted permit if there is one. */
static inline bool try_take(sem_t_ *s)
{
    int64_t n = atomic_load_explicit(&s->permits, memory_order_relaxed);
    while (n > 0)
        /* acquire: pairs with the release fetch_add that counted the permit. */
        if (atomic_compare_exchange_weak_explicit(&s->permits, &n, n - 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    return false;
}

int wyn_sem_acquire(wyn_sem *sp, int64_t deadline)
{
    sem_t_ *s = S(sp);
    int rc = wyn__deadline_check(deadline);
    if (unlikely(rc))
        return rc;
    if (likely(try_take(s))) {
        /* The permit was counted under the lock: wait until the releaser let
         * go, so our caller may free the semaphore (waitq.h). */
        if (unlikely(!wyn__spin_is_free(&s->lock)))
            wyn__spin_wait_free(&s->lock);
        return 0;
    }
    wyn_co *self = wyn__self();
    wyn__spin_lock(&s->lock);
    if (try_take(s)) {
        wyn__spin_unlock(&s->lock);
        return 0;
    }
    rc = wyn__wait_check(self, deadline);
    if (rc) {
        wyn__spin_unlock(&s->lock);
        return rc;
    }
    wyn__waiter w = {.obj = s};
    rc = wyn__waitq_park(&s->q, &w, &s->lock, self, deadline, sem_unlink, false);
    if (rc >= 0)
        return 0;            /* the releaser handed us its permit */
    wyn__spin_unlock(&s->lock);
    return rc;
}

void wyn_sem_release(wyn_sem *sp)
{
    sem_t_ *s = S(sp);
    wyn__spin_lock(&s->lock);
    if (!wyn__waitq_wake_one(&s->q, 0))
        /* release: pairs with the acquire CAS of whoever takes this permit. */
        atomic_fetch_add_explicit(&s->permits, 1, memory_order_release);
    wyn__spin_unlock(&s->lock);
}
