/* chan.h — channel internals shared by chan.c (send, recv, close, lifetime)
 * and select.c.
 *
 * A channel is Go's hchan: one lock, a ring buffer, and FIFO queues of
 * waiting senders and receivers. A waiter's node lives on the waiter's own
 * stack and is linked into a queue only under the channel lock. A waiter is
 * named (co, seq) and completed through the wait claim of park.c: a
 * counterpart dequeues a node, claims it, copies the value, and readies the
 * waiter only after it has released the channel lock. A node whose claim
 * fails (its timer, a cancel, or another case of its select won) is simply
 * dropped from the queue; its owner unlinks whatever is still linked when it
 * wakes, under the same locks. A wait that has no timer, no canceller and
 * no other case (lock_claims) can be claimed only by holders of this one
 * lock (a counterpart, close, or the waiter's own early exit in park), so
 * for it the lock alone decides the claim. */
#ifndef WYN_CHAN_H
#define WYN_CHAN_H

#include "../sched/sched.h"

typedef struct chan_node {
    struct chan_node *prev, *next;   /* in the channel's sendq or recvq */
    wyn_chan         *chan;
    wyn_co           *co;
    uint64_t          seq;
    void             *elem;          /* send: the value; recv: where it goes (may be NULL) */
    int               case_index;    /* which select case (0 for plain send/recv) */
    bool              is_send;
    bool              linked;        /* in a queue; changed only under chan->lock */
    /* Every claimer of this wait holds chan->lock: a plain send or receive
     * with no deadline by a coroutine nobody can cancel. Its claim is then a
     * plain store, not a CAS (wyn__chanq_claim). */
    bool              lock_claims;
} chan_node;

typedef struct chan_queue {
    chan_node *head, *tail;
} chan_queue;

struct wyn_chan {
    /* The lock has a cache line of its own: waiters spinning on it must not
     * pull away the line the holder is updating (count, indices, queues). */
    _Alignas(WYN_CACHELINE) wyn__spinlock lock;
    _Alignas(WYN_CACHELINE) bool closed;
    bool           orphaned;         /* last reference gone; the last waiter frees */
    size_t         elem_size;
    size_t         cap;
    size_t         count;            /* values in the buffer */
    size_t         sendx, recvx;     /* ring indices */
    long           waiting;          /* nodes queued or dropped unclaimed, not yet
                                        retired by a claimer or their owner (under lock) */
    chan_queue     sendq, recvq;
    _Atomic long   refs;
    unsigned char *buf;
};

void       wyn__chanq_push(chan_queue *q, chan_node *n);
void       wyn__chanq_remove(chan_queue *q, chan_node *n);
/* wyn__chanq_remove of the head n, which has no prev: two loads fewer on
 * the hand-off path than the general unlink. */
static inline void wyn__chanq_pop_head(chan_queue *q, chan_node *n)
{
    q->head = n->next;
    if (n->next)
        n->next->prev = NULL;
    else
        q->tail = NULL;
    n->next = NULL;
    n->linked = false;
}

/* The CAS claims of wyn__chanq_claim, out of line (chan.c). */
chan_node *wyn__chanq_claim_contended(wyn_chan *c, chan_queue *q);

/* Dequeue the first node whose wait we can claim (others are dropped);
 * NULL if none. Lock held. On success the node's waiter is ours to complete
 * and the node is retired (c->waiting counts it no more). Inline for the
 * hand-off's common cases: nobody waits, or the head is a lock_claims wait. */
static WYN_ALWAYS_INLINE chan_node *wyn__chanq_claim(wyn_chan *c, chan_queue *q)
{
    chan_node *n = q->head;
    if (!n)
        return NULL;
    if (!n->lock_claims)
        return wyn__chanq_claim_contended(c, q);
    wyn__chanq_pop_head(q, n);
    /* Nobody but a holder of c->lock can claim this wait (above), and the
     * node is still queued, so it is unclaimed and ours.
     * relaxed: the lock orders everything this store is for (the waiter's
     * node fields came to us through its unlock; the waiter reads its
     * result through the run queue's release). */
    atomic_store_explicit(&n->co->wait_word, n->seq << 1 | 1, memory_order_relaxed);
    c->waiting--;   /* retired by us: its owner will not touch c again */
    return n;
}

/* With the lock held: complete a claimed waiter (copy the value), to be
 * readied after unlocking. */
void wyn__chan_recv_from_sender(wyn_chan *c, chan_node *sender, void *elem);
void wyn__chan_send_to_receiver(wyn_chan *c, chan_node *receiver, const void *elem);
/* Buffer operations, lock held. */
void wyn__chan_buf_put(wyn_chan *c, const void *elem);
void wyn__chan_buf_take(wyn_chan *c, void *elem);
/* After a parked call's clean-up (lock held): one fewer waiter; returns true
 * if the caller must destroy the channel after unlocking. */
bool wyn__chan_waiter_done(wyn_chan *c);
void wyn__chan_destroy(wyn_chan *c);
void wyn__spin_unlock_fn(void *lock);

#endif
