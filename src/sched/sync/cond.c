/* cond.c — wyn_cond: Go's sync.Cond, with deadlines and no spurious wake-ups.
 *
 * Owns: the FIFO of waiters, under the spinlock. The mutex is the caller's.
 * wait: queue on c (under c's lock), drop c's lock, unlock m, park. A signal
 *   pops waiters until one's wake succeeds; broadcast wakes all queued. So a
 *   wait returns 0 only after a signal/broadcast that found it queued, i.e.
 *   one issued while it waited. A waiter whose wait ended by its deadline or a
 *   cancel is either still queued (it unlinks itself under c's lock) or was
 *   popped by a signal whose wake then failed, and that signal moved on to
 *   the next waiter: no signal is consumed, none is lost.
 * Waking before parking is fine: wyn__park returns at once if the wait was
 *   already claimed, so m is unlocked with c's lock dropped (no lock is held
 *   across wyn_mutex_unlock, which may wake a locker).
 * Re-locking m ignores the deadline and cancellation
 *   (wyn__mutex_lock_uncancellable), so every return holds m.
 * Freeing: signal and broadcast wake under c's lock; a woken waiter waits
 *   until that lock is free before it returns (waitq.h).
 * Lock order: c's spinlock is a leaf (wyn__wake runs under it); m is never
 *   taken while it is held.
 * Memory model: a signal -> the wait it ends, through c's lock and the wake;
 *   the caller's data is otherwise ordered by m. */
#include "waitq.h"

typedef struct {
    wyn__spinlock lock;
    wyn__waitq    q;
} cond_t;

_Static_assert(sizeof(cond_t) <= sizeof(wyn_cond), "cond_t must fit in wyn_cond");
_Static_assert(_Alignof(cond_t) <= _Alignof(wyn_cond), "cond_t alignment");

static inline cond_t *C(wyn_cond *c) { return (cond_t *)(void *)c; }

int wyn_cond_wait(wyn_cond *cp, wyn_mutex *m, int64_t deadline)
{
    cond_t *c = C(cp);
    int rc = wyn__deadline_check(deadline);
    if (unlikely(rc))
        return rc;
    wyn_co *self = wyn__self();
    /* Would not wait (cancelled, passed deadline): no effect, m still held. */
    rc = wyn__wait_check(self, deadline);
    if (rc)
        return rc;
    wyn__spin_lock(&c->lock);
    /* Not through wyn__waitq_park: m is unlocked between the queueing and
     * the park. q and lock are filled for wyn__waitq_abandon. */
    wyn__waiter w = {.obj = c, .q = &c->q, .lock = &c->lock};
    uint64_t seq = wyn__wait_arm(self);
    w.co = self;
    w.seq = seq;
    wyn__waitq_push(&c->q, &w, false);
    self->wait_obj = &w;
    self->wait_unlink = wyn__waitq_abandon;
    wyn__spin_unlock(&c->lock);
    wyn_mutex_unlock(m);
    /* No unlock step: a signal that came before the switch is kept by the
     * claim word and park returns at once. */
    rc = wyn__park(self, seq, deadline, NULL, NULL);
    self->wait_unlink = NULL;
    self->wait_obj = NULL;
    if (rc >= 0) {
        wyn__spin_wait_free(&c->lock);   /* our signaller let go of c (waitq.h) */
    } else {
        /* Still queued, or popped by a signal whose wake lost: that signal
         * went on to another waiter. Either way we consumed none. */
        wyn__spin_lock(&c->lock);
        if (w.linked)
            wyn__waitq_remove(&c->q, &w);
        wyn__spin_unlock(&c->lock);
    }
    wyn__mutex_lock_uncancellable(m);
    return rc < 0 ? rc : 0;
}

void wyn_cond_signal(wyn_cond *cp)
{
    cond_t *c = C(cp);
    wyn__spin_lock(&c->lock);
    wyn__waitq_wake_one(&c->q, 0);
    wyn__spin_unlock(&c->lock);
}

void wyn_cond_broadcast(wyn_cond *cp)
{
    cond_t *c = C(cp);
    wyn__spin_lock(&c->lock);
    wyn__waitq_wake_all(&c->q, 0);
    wyn__spin_unlock(&c->lock);
}
