/* waitq.c — the intrusive FIFO of waiters every synchronisation object uses,
 * and the one blocking step they share (see waitq.h for the node's lifetime).
 *
 * Owns: nothing but links. Every function here runs under the owning object's
 * spinlock, except that wyn__waitq_park gives the lock up across the park.
 * Invariant: w->linked is true exactly while w is in a queue.
 * Lock order: an object's spinlock is a leaf, except that a waker calls
 * wyn__wake (run-queue and futex operations, never a switch) while holding it. */
#include "waitq.h"

#include <sched.h>

void wyn__waitq_push(wyn__waitq *q, wyn__waiter *w, bool front)
{
    WYN_ASSERT(!w->linked);
    w->linked = true;
    if (front) {
        w->prev = NULL;
        w->next = q->head;
        if (q->head)
            q->head->prev = w;
        else
            q->tail = w;
        q->head = w;
    } else {
        w->next = NULL;
        w->prev = q->tail;
        if (q->tail)
            q->tail->next = w;
        else
            q->head = w;
        q->tail = w;
    }
}

void wyn__waitq_remove(wyn__waitq *q, wyn__waiter *w)
{
    WYN_ASSERT(w->linked);
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->next = w->prev = NULL;
    w->linked = false;
}

wyn__waiter *wyn__waitq_pop(wyn__waitq *q)
{
    wyn__waiter *w = q->head;
    if (w)
        wyn__waitq_remove(q, w);
    return w;
}

bool wyn__waitq_wake_one(wyn__waitq *q, int result)
{
    wyn__waiter *w;
    while ((w = wyn__waitq_pop(q)))
        if (wyn__wake(w->co, w->seq, result, 0, true))
            return true;   /* w may be gone now: not touched again */
    return false;
}

unsigned wyn__waitq_wake_all(wyn__waitq *q, int result)
{
    unsigned n = 0;
    wyn__waiter *w;
    while ((w = wyn__waitq_pop(q)))
        n += wyn__wake(w->co, w->seq, result, 0, false);
    return n;
}

void wyn__spin_wait_free(wyn__spinlock *l)
{
    unsigned spins = 0;
    while (!wyn__spin_is_free(l))
        if (++spins % 256 == 0)
            sched_yield();   /* the holder may have been preempted */
        else
            wyn__cpu_relax();
}

static void unlock_spin(void *lock) { wyn__spin_unlock(lock); }

int wyn__waitq_park(wyn__waitq *q, wyn__waiter *w, wyn__spinlock *lock, wyn_co *self,
                    int64_t deadline, void (*unlink)(wyn_co *, bool), bool front)
{
    uint64_t seq = wyn__wait_arm(self);
    w->co = self;
    w->seq = seq;
    w->q = q;
    w->lock = lock;
    wyn__waitq_push(q, w, front);
    self->wait_obj = w;
    self->wait_unlink = unlink;
    int rc = wyn__park(self, seq, deadline, unlock_spin, lock);
    self->wait_unlink = NULL;
    self->wait_obj = NULL;
    if (rc >= 0) {
        /* A waker won: it popped w and woke us under *lock; once it lets
         * go, it touches the object no more (see waitq.h). */
        wyn__spin_wait_free(lock);
        return rc;
    }
    /* The timer or a cancel won. A waker may still have popped w and lost
     * its wake (then it moved on to another waiter); else w is still queued. */
    wyn__spin_lock(lock);
    if (w->linked)
        wyn__waitq_remove(q, w);
    return rc;
}

void wyn__waitq_abandon(wyn_co *co, bool woken)
{
    (void)woken;   /* unlinking is right either way */
    wyn__waiter *w = co->wait_obj;
    wyn__spin_lock(w->lock);
    if (w->linked)
        wyn__waitq_remove(w->q, w);
    wyn__spin_unlock(w->lock);
}
