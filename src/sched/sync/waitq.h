/* waitq.h — what the synchronisation objects (mutex, rwmutex, wg, once, cond,
 * sem) share: an intrusive FIFO of waiters, the one function through which they
 * all block, and the switch that makes a wait ignore cancellation.
 *
 * A waiter node lives on the waiting caller's stack. It is linked into, and
 * unlinked from, its object's queue only under the object's spinlock. A waker
 * pops a node and calls wyn__wake(node->co, node->seq, ...) while it still holds
 * that lock; once the wake has succeeded the waker must not touch the node again
 * (its owner may already have returned). A waiter whose wait ended otherwise
 * (deadline, cancel) takes the lock before it returns, which is what keeps its
 * node alive while a waker still holds it.
 *
 * Freeing an object as soon as a call on it returned is allowed (as for
 * pthread_mutex_destroy after the lock, or a WaitGroup in the waiter's frame),
 * so no call may touch the object after another caller could have returned.
 * The rule that gives this: whoever publishes a state that lets another
 * caller return (unlock, release, done, signal, once finished) does it while
 * holding the object's spinlock, and every caller that returns because it saw
 * such a state first waits until that spinlock is free (wyn__spin_wait_free):
 * woken waiters in wyn__waitq_park, and the lock-free fast paths that can
 * observe a state published under the lock (mutex lock, wg wait, once, sem
 * acquire). A fast path's extra cost is one load of a word in the same line.
 *
 * Results a waker passes: 0 ("you have it": the waker already gave this waiter
 * what it asked for) or a positive value the object defines (mutex: "compete
 * again"). Negative results come only from the timer and wyn_cancel. */
#ifndef WYN_SYNC_WAITQ_H
#define WYN_SYNC_WAITQ_H

#include "../../common.h"
#include "../sched.h"

typedef struct wyn__waiter wyn__waiter;
typedef struct wyn__waitq wyn__waitq;
struct wyn__waiter {
    wyn__waiter *next, *prev;    /* queue links, under the object's lock */
    wyn_co      *co;             /* the wait's name is (co, seq) */
    uint64_t     seq;
    void        *obj;            /* the object waited on (for wait_unlink) */
    wyn__waitq  *q;              /* the queue and lock it waits under (set by */
    wyn__spinlock *lock;         /*   wyn__waitq_park, for wyn__waitq_abandon) */
    int64_t      since;          /* when the caller first queued (mutex starvation) */
    int          kind;           /* object-defined (rwmutex: reader or writer) */
    bool         linked;         /* in obj's queue now */
};

/* Zero value: empty. */
struct wyn__waitq {
    wyn__waiter *head, *tail;
};

static inline bool wyn__waitq_empty(const wyn__waitq *q) { return q->head == NULL; }

void         wyn__waitq_push(wyn__waitq *q, wyn__waiter *w, bool front);
void         wyn__waitq_remove(wyn__waitq *q, wyn__waiter *w);
wyn__waiter *wyn__waitq_pop(wyn__waitq *q);

/* Wait (read-only spinning, yielding now and then) until *l is free. Called
 * after observing a state that someone published while holding *l: then that
 * someone has let go of *l, and no longer touches the object. Why it is
 * enough: the publisher's acquire exchange of `held` is sequenced before its
 * release store/RMW of the state; our acquire load of the state reads it (or a
 * later RMW in its release sequence), so the exchange happens before our load
 * of `held`, which therefore reads its 1 or something later, and the first 0
 * after it is the publisher's unlock. */
static inline bool wyn__spin_is_free(wyn__spinlock *l)
{
    /* acquire: see above (pairs with the holder's release unlock). */
    return !atomic_load_explicit(&l->held, memory_order_acquire);
}
void wyn__spin_wait_free(wyn__spinlock *l);

/* Pop waiters until one's wake with `result` succeeds; true if one did. */
bool wyn__waitq_wake_one(wyn__waitq *q, int result);
/* Wake every waiter with `result`; returns how many wakes succeeded. */
unsigned wyn__waitq_wake_all(wyn__waitq *q, int result);

/* Block the caller on q. Call with *lock held, after wyn__wait_check(self,
 * deadline) returned 0; w->obj (and kind/since) are the caller's to fill.
 * Links w (at the front if `front`), parks, releases *lock after the switch.
 * A result >= 0 is a waker's: w is unlinked, *lock is NOT held and its waker
 * has let go of it (so the caller may free the object). A negative
 * result (-ETIMEDOUT, -ECANCELED) is the timer's or a cancel's: *lock is held
 * again and w is unlinked; the caller repairs its object and unlocks. `unlink`
 * is the object's abandon hook (self->wait_unlink); it finds w as
 * self->wait_obj. */
int wyn__waitq_park(wyn__waitq *q, wyn__waiter *w, wyn__spinlock *lock, wyn_co *self,
                    int64_t deadline, void (*unlink)(wyn_co *, bool), bool front);

/* The abandon hook (self->wait_unlink) of a waiter parked through
 * wyn__waitq_park, at runtime teardown: unlink it from its queue, under its
 * lock. Objects with nothing to give back use it as is; the others call it,
 * then return what a wake handed a waiter that never resumed. */
void wyn__waitq_abandon(wyn_co *co, bool woken);

/* Non-cancellable waits (wyn_once_do, the re-lock in wyn_cond_wait).
 *
 * wyn__wait_check and wyn__park end a wait at once when self->cancelled is set,
 * so a wait that must ignore cancellation clears the flag for its duration:
 * hold = wyn__cancel_hold(self) ... wait ... wyn__cancel_restore(self, hold).
 * Safe because only two parties write the flag: the coroutine itself (here)
 * and wyn_cancel, which only ever sets it and then tries to wake the armed
 * wait. A cancel that lands during the held wait wakes it with -ECANCELED: the
 * caller then takes the flag again (hold |= wyn__cancel_hold(self)) and waits
 * again, so the cancel is remembered, not lost, and restored on exit. Nobody
 * but the coroutine reads the flag meanwhile (wyn_cancelled reads only its own). */
static inline bool wyn__cancel_hold(wyn_co *self)
{
    if (self->kind != CO_KIND_CORO)
        return false;
    /* seq_cst: keeps the flag in the single order of wyn_cancel's store
     * and the waits' loads of it (co.c, park.c). */
    return atomic_exchange_explicit(&self->cancelled, false, memory_order_seq_cst);
}

static inline void wyn__cancel_restore(wyn_co *self, bool held)
{
    /* seq_cst: as in wyn_cancel, which this store re-does. */
    if (held)
        atomic_store_explicit(&self->cancelled, true, memory_order_seq_cst);
}

/* mutex.c: lock m ignoring cancellation and deadlines (wyn_cond_wait's re-lock). */
void wyn__mutex_lock_uncancellable(wyn_mutex *m);

#endif
