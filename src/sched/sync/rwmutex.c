/* rwmutex.c — wyn_rwmutex: Go's sync.RWMutex (readers share, writers exclude,
 * a blocked writer keeps new readers out).
 *
 * Owns: the reader count, the writer flag and two FIFOs (readers, writers),
 *   all under one spinlock. Grants are hand-offs: a waiter woken with 0 has
 *   already been counted in (readers++ or writer = true) by its waker.
 * Policy (Go's): rlock enters iff no writer holds or waits; lock enters iff
 *   nobody holds and nobody waits. Unlock admits every waiting reader first
 *   (readers that blocked behind that writer), then, if none, the next writer;
 *   the last runlock admits the next writer. So writers cannot starve readers
 *   and readers cannot starve writers.
 * Invariant (after every critical section): if nobody holds the lock, both
 *   queues are empty; readers wait only while a writer holds or waits. A
 *   waiter that gives up (deadline, cancel) or loses a grant to its timer is
 *   repaired by dispatch(), so "no effect" holds and no grant is lost.
 * Lock order: the spinlock is a leaf (wyn__wake runs under it).
 * Memory model: unlock -> next lock/rlock, runlock -> next lock: all state
 *   changes happen under the spinlock (acquire/release), and a grant reaches
 *   its waiter through the lock and the wake. */
#include "waitq.h"

enum { RW_READER = 0, RW_WRITER = 1 };

typedef struct {
    wyn__spinlock lock;
    uint32_t      readers;    /* readers inside */
    bool          writer;     /* a writer inside */
    wyn__waitq    rq, wq;     /* blocked readers, blocked writers */
} rwmutex_t;

_Static_assert(sizeof(rwmutex_t) <= sizeof(wyn_rwmutex), "rwmutex_t must fit in wyn_rwmutex");
_Static_assert(_Alignof(rwmutex_t) <= _Alignof(wyn_rwmutex), "rwmutex_t alignment");

static inline rwmutex_t *RW(wyn_rwmutex *rw) { return (rwmutex_t *)(void *)rw; }

/* Under rw->lock, with no writer inside: admit waiting readers and/or the
 * next writer. `readers_first` on a writer's unlock (Go admits the readers
 * that queued behind it). Restores the invariant above. */
static void dispatch(rwmutex_t *rw, bool readers_first)
{
    if (rw->writer)
        return;
    if (readers_first || wyn__waitq_empty(&rw->wq))
        rw->readers += wyn__waitq_wake_all(&rw->rq, 0);
    if (rw->readers == 0) {
        wyn__waiter *w;
        while ((w = wyn__waitq_pop(&rw->wq)))
            if (wyn__wake(w->co, w->seq, 0, 0, true)) {
                rw->writer = true;
                return;
            }
        /* Every writer gave up: readers that queued behind them may enter. */
        rw->readers += wyn__waitq_wake_all(&rw->rq, 0);
    }
}

/* Abandon hook (runtime teardown): unlink; give back a grant never used. */
static void rw_unlink(wyn_co *co, bool woken)
{
    wyn__waiter *w = co->wait_obj;
    rwmutex_t *rw = w->obj;
    wyn__waitq_abandon(co, woken);
    /* Granted but never resumed: give it back, as if it had timed out. */
    if (woken && co->wake_result == 0) {
        if (w->kind == RW_WRITER)
            wyn_rwmutex_unlock((wyn_rwmutex *)(void *)rw);
        else
            wyn_rwmutex_runlock((wyn_rwmutex *)(void *)rw);
    }
}

static int rw_wait(rwmutex_t *rw, int kind, int64_t deadline)
{
    wyn_co *self = wyn__self();
    int rc = wyn__wait_check(self, deadline);
    if (rc) {
        wyn__spin_unlock(&rw->lock);
        return rc;
    }
    wyn__waiter w = {.obj = rw, .kind = kind};
    wyn__waitq *q = kind == RW_WRITER ? &rw->wq : &rw->rq;
    rc = wyn__waitq_park(q, &w, &rw->lock, self, deadline, rw_unlink, false);
    if (rc >= 0)
        return 0;               /* granted by the waker */
    if (kind == RW_WRITER)
        dispatch(rw, false);    /* readers may have been waiting only for us */
    wyn__spin_unlock(&rw->lock);
    return rc;
}

int wyn_rwmutex_rlock(wyn_rwmutex *rwp, int64_t deadline)
{
    rwmutex_t *rw = RW(rwp);
    int rc = wyn__deadline_check(deadline);
    if (unlikely(rc))
        return rc;
    wyn__spin_lock(&rw->lock);
    if (!rw->writer && wyn__waitq_empty(&rw->wq)) {
        rw->readers++;
        wyn__spin_unlock(&rw->lock);
        return 0;
    }
    return rw_wait(rw, RW_READER, deadline);
}

void wyn_rwmutex_runlock(wyn_rwmutex *rwp)
{
    rwmutex_t *rw = RW(rwp);
    wyn__spin_lock(&rw->lock);
    if (rw->readers == 0) {
        wyn__spin_unlock(&rw->lock);
        wyn__fatal("RUnlock of unlocked RWMutex");
    }
    if (--rw->readers == 0)
        dispatch(rw, false);
    wyn__spin_unlock(&rw->lock);
}

int wyn_rwmutex_lock(wyn_rwmutex *rwp, int64_t deadline)
{
    rwmutex_t *rw = RW(rwp);
    int rc = wyn__deadline_check(deadline);
    if (unlikely(rc))
        return rc;
    wyn__spin_lock(&rw->lock);
    if (!rw->writer && rw->readers == 0 && wyn__waitq_empty(&rw->wq)) {
        rw->writer = true;
        wyn__spin_unlock(&rw->lock);
        return 0;
    }
    return rw_wait(rw, RW_WRITER, deadline);
}

void wyn_rwmutex_unlock(wyn_rwmutex *rwp)
{
    rwmutex_t *rw = RW(rwp);
    wyn__spin_lock(&rw->lock);
    if (!rw->writer) {
        wyn__spin_unlock(&rw->lock);
        wyn__fatal("Unlock of unlocked RWMutex");
    }
    rw->writer = false;
    dispatch(rw, true);
    wyn__spin_unlock(&rw->lock);
}
