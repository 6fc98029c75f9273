/* once.c — wyn_once: Go's sync.Once.
 *
 * Owns: the done flag (atomic), the running flag, the runner's identity and
 *   the FIFO of callers waiting for fn to return (under the spinlock).
 * States: idle (done 0, runner NULL) -> running (runner set; fn runs outside
 *   the lock) -> done (done 1, forever). The runner wakes every waiter after
 *   setting done, under the lock; a waiter queues only while running.
 * Waiting here ignores deadlines and cancellation (API.md): callers wait with
 *   WYN_FOREVER and cancellation held off (waitq.h, wyn__cancel_hold); a cancel
 *   that lands meanwhile wakes the wait with -ECANCELED, and the caller simply
 *   queues again, then restores its cancelled flag on return. This blocks
 *   plain threads on their futex like any other wait: nothing spins.
 * Misuse: fn calling wyn_once_do on its own object would wait for itself
 *   forever (Go deadlocks); here it is fatal.
 * Lock order: the spinlock is a leaf (wyn__wake runs under it); fn runs with
 *   no lock held.
 * Memory model: fn's return -> every wyn_once_do returning: release store of
 *   done pairs with the fast path's acquire load; queued callers get it
 *   through the spinlock and the wake. */
#include "waitq.h"

typedef struct {
    _Atomic uint32_t done;
    wyn__spinlock    lock;
    wyn_co          *runner;     /* who runs fn; under lock */
    wyn__waitq       q;
} once_t;

_Static_assert(sizeof(once_t) <= sizeof(wyn_once), "once_t must fit in wyn_once");
_Static_assert(_Alignof(once_t) <= _Alignof(wyn_once), "once_t alignment");

static inline once_t *O(wyn_once *o) { return (once_t *)(void *)o; }

static WYN_NOINLINE void once_slow(once_t *o, void (*fn)(void *), void *arg)
{
    wyn_co *self = wyn__self();
    wyn__spin_lock(&o->lock);
    /* relaxed: under the lock, which orders it after the runner's store. */
    if (atomic_load_explicit(&o->done, memory_order_relaxed)) {
        wyn__spin_unlock(&o->lock);
        return;
    }
    if (!o->runner) {
        o->runner = self;
        wyn__spin_unlock(&o->lock);
        fn(arg);
        wyn__spin_lock(&o->lock);
        /* release: pairs with the fast path's acquire load of done. */
        atomic_store_explicit(&o->done, 1, memory_order_release);
        wyn__waitq_wake_all(&o->q, 0);
        wyn__spin_unlock(&o->lock);
        return;
    }
    if (o->runner == self) {
        wyn__spin_unlock(&o->lock);
        wyn__fatal("wyn_once_do called from its own function (deadlock)");
    }
    bool held = wyn__cancel_hold(self);
    for (;;) {
        wyn__waiter w = {.obj = o};
        int rc = wyn__waitq_park(&o->q, &w, &o->lock, self, WYN_FOREVER, wyn__waitq_abandon, false);
        if (rc >= 0)
            break;                          /* woken after done was set */
        WYN_ASSERT(rc == -ECANCELED);       /* a cancel during the held wait */
        held |= wyn__cancel_hold(self);
        if (atomic_load_explicit(&o->done, memory_order_relaxed)) {  /* relaxed: under lock */
            wyn__spin_unlock(&o->lock);
            break;
        }
    }
    wyn__cancel_restore(self, held);
}

void wyn_once_do(wyn_once *op, void (*fn)(void *), void *arg)
{
    once_t *o = O(op);
    /* acquire: pairs with the release store after fn returned. */
    if (likely(atomic_load_explicit(&o->done, memory_order_acquire) && wyn__spin_is_free(&o->lock)))
        return;   /* the runner set done under the lock: it has let go (waitq.h) */
    once_slow(o, fn, arg);
}
