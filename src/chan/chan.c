/* chan.c — channels: make, send, recv, close, len/cap and reference counting.
 *
 * Owns: every field of struct wyn_chan (see chan.h for the waiter protocol).
 * Invariants (under the lock): a waiting receiver exists only if the buffer
 *   is empty and the channel open; a waiting sender only if the buffer is full
 *   (or unbuffered) and the channel open; so a value is always handed to the
 *   oldest waiting party first, and FIFO order holds for values and waiters.
 * Wake-ups happen after the lock is released. The memory is freed when the
 * last reference is dropped and no parked call is still inside (`waiting`).
 * Lock order: channel locks by address (select.c); the timer lock after. */
#include <stdlib.h>
#include <string.h>

#include "chan.h"

void wyn__spin_unlock_fn(void *lock) { wyn__spin_unlock(lock); }

/* ---- wait queues ---------------------------------------------------------- */

void wyn__chanq_push(chan_queue *q, chan_node *n)
{
    n->next = NULL;
    n->prev = q->tail;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    n->linked = true;
}

void wyn__chanq_remove(chan_queue *q, chan_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    n->prev = n->next = NULL;
    n->linked = false;
}

WYN_NOINLINE chan_node *wyn__chanq_claim_contended(wyn_chan *c, chan_queue *q)
{
    while (q->head) {
        if (q->head->lock_claims)
            return wyn__chanq_claim(c, q);
        chan_node *n = q->head;
        wyn__chanq_pop_head(q, n);
        uint64_t armed = n->seq << 1;
        /* acquire: we read the waiter's node fields it wrote before arming. */
        if (atomic_compare_exchange_strong_explicit(&n->co->wait_word, &armed, armed | 1,
                                                    memory_order_acquire, memory_order_relaxed)) {
            c->waiting--;   /* retired by us: its owner will not touch c again */
            return n;
        }
        /* Lost: its timer, a cancel or another select case got it first. */
    }
    return NULL;
}

/* ---- copying -------------------------------------------------------------- */

static inline void copy_elem(wyn_chan *c, void *dst, const void *src)
{
    if (!dst)
        return;
    /* Word-sized values (the common case) without a call into libc. */
    switch (c->elem_size) {
    case 0: return;
    case 4: memcpy(dst, src, 4); return;
    case 8: memcpy(dst, src, 8); return;
    case 16: memcpy(dst, src, 16); return;
    default: memcpy(dst, src, c->elem_size); return;
    }
}

void wyn__chan_buf_put(wyn_chan *c, const void *elem)
{
    copy_elem(c, c->buf + c->sendx * c->elem_size, elem);
    if (++c->sendx == c->cap)
        c->sendx = 0;
    c->count++;
}

void wyn__chan_buf_take(wyn_chan *c, void *elem)
{
    copy_elem(c, elem, c->buf + c->recvx * c->elem_size);
    if (++c->recvx == c->cap)
        c->recvx = 0;
    c->count--;
}

void wyn__chan_recv_from_sender(wyn_chan *c, chan_node *sender, void *elem)
{
    if (c->cap == 0) {
        copy_elem(c, elem, sender->elem);
    } else {
        /* The buffer is full: take its head, and the sender's value goes to
         * its tail, so FIFO order holds. */
        wyn__chan_buf_take(c, elem);
        wyn__chan_buf_put(c, sender->elem);
    }
    sender->co->wake_result = 0;
    sender->co->wake_data = sender->case_index;
}

void wyn__chan_send_to_receiver(wyn_chan *c, chan_node *receiver, const void *elem)
{
    copy_elem(c, receiver->elem, elem);
    receiver->co->wake_result = 0;
    receiver->co->wake_data = receiver->case_index;
}

/* ---- lifetime ------------------------------------------------------------- */

wyn_chan *wyn_chan_make(size_t elem_size, size_t cap)
{
    if (elem_size >= 65536 || (elem_size && cap > SIZE_MAX / elem_size)) {
        errno = EINVAL;
        return NULL;
    }
    /* One allocation: the channel, then its ring buffer. */
    size_t bytes = elem_size * cap;
    if (bytes > SIZE_MAX - sizeof(wyn_chan) - WYN_CACHELINE) {
        errno = EINVAL;
        return NULL;
    }
    size_t total = (sizeof(wyn_chan) + bytes + WYN_CACHELINE - 1) & ~(size_t)(WYN_CACHELINE - 1);
    wyn_chan *c = aligned_alloc(WYN_CACHELINE, total);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    memset(c, 0, sizeof *c);
    c->buf = bytes ? (unsigned char *)(c + 1) : NULL;
    c->elem_size = elem_size;
    c->cap = cap;
    atomic_init(&c->refs, 1);
    return c;
}

wyn_chan *wyn_chan_ref(wyn_chan *c)
{
    if (c)
        /* relaxed: the caller already holds a reference, so the count is > 0. */
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void wyn__chan_destroy(wyn_chan *c) { free(c); }

void wyn_chan_free(wyn_chan *c)
{
    if (!c)
        return;
    /* acq_rel: every use through other references happens before the free. */
    long left = atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel);
    if (left > 1)
        return;
    if (left < 1)
        wyn__fatal("wyn_chan_free: channel %p freed more times than referenced", (void *)c);
    wyn__spin_lock(&c->lock);
    if (c->sendq.head || c->recvq.head)
        wyn__fatal("wyn_chan_free: last reference dropped while coroutines wait on channel %p",
                   (void *)c);
    bool now = c->waiting == 0;
    c->orphaned = true;
    wyn__spin_unlock(&c->lock);
    if (now)
        wyn__chan_destroy(c);
}

bool wyn__chan_waiter_done(wyn_chan *c)
{
    return --c->waiting == 0 && c->orphaned;
}

size_t wyn_chan_len(const wyn_chan *c)
{
    if (!c)
        return 0;
    wyn_chan *m = (wyn_chan *)c;
    wyn__spin_lock(&m->lock);
    size_t n = m->count;
    wyn__spin_unlock(&m->lock);
    return n;
}

size_t wyn_chan_cap(const wyn_chan *c) { return c ? c->cap : 0; }

/* ---- blocking ------------------------------------------------------------- */

/* Drop our node if nobody retired it (we timed out or were cancelled). */
static void drop_node(wyn_co *co)
{
    chan_node *n = co->wait_obj;
    wyn_chan *c = n->chan;
    wyn__spin_lock(&c->lock);
    if (n->linked)
        wyn__chanq_remove(n->is_send ? &c->sendq : &c->recvq, n);
    bool destroy = wyn__chan_waiter_done(c);
    wyn__spin_unlock(&c->lock);
    if (destroy)
        wyn__chan_destroy(c);
}

/* Abandon hook (shutdown): a parked waiter's node is dropped; one woken but
 * never resumed gets the clean-up it would have done itself. */
static void abandon_node(wyn_co *co, bool woken)
{
    int rc = co->wake_result;
    if (!woken || (rc != 0 && rc != -EPIPE))
        drop_node(co);
}

/* Park on one queue of c (lock held; released by the park). */
static int wait_on(wyn_chan *c, wyn_co *self, chan_queue *q, bool is_send, void *elem,
                   int64_t deadline)
{
    chan_node node = {.chan = c, .co = self, .elem = elem, .is_send = is_send,
                      .lock_claims = deadline == WYN_FOREVER && !wyn__cancellable(self)};
    node.seq = wyn__wait_arm(self);
    wyn__chanq_push(q, &node);
    c->waiting++;
    self->wait_obj = &node;
    self->wait_unlink = abandon_node;
    int rc = wyn__park(self, node.seq, deadline, wyn__spin_unlock_fn, &c->lock);
    self->wait_unlink = NULL;
    /* A counterpart (or close) that claimed us also retired our node; after a
     * timeout or cancel we drop it ourselves. */
    if (rc != 0 && rc != -EPIPE)
        drop_node(self);
    return rc;
}

/* The blocking halves, out of line so the fast paths stay small. Lock held. */
static WYN_NOINLINE int send_wait(wyn_chan *c, const void *elem, int64_t deadline)
{
    wyn_co *self = wyn__self();
    int rc = wyn__wait_check(self, deadline);
    if (rc) {
        wyn__spin_unlock(&c->lock);
        return rc;
    }
    return wait_on(c, self, &c->sendq, true, (void *)elem, deadline);
}

static WYN_NOINLINE int recv_wait(wyn_chan *c, void *elem, int64_t deadline)
{
    size_t elem_size = c->elem_size;   /* c may be gone once our wait is retired */
    wyn_co *self = wyn__self();
    int rc = wyn__wait_check(self, deadline);
    if (rc) {
        wyn__spin_unlock(&c->lock);
        return rc;
    }
    rc = wait_on(c, self, &c->recvq, false, elem, deadline);
    if (rc == -EPIPE && elem && elem_size)
        memset(elem, 0, elem_size);
    return rc;
}

int wyn_chan_send(wyn_chan *c, const void *elem, int64_t deadline)
{
    int rc = wyn__deadline_check(deadline);
    if (rc)
        return rc;
    if (!c)
        return wyn__park_alone(deadline);   /* a NULL channel never fires */
    if (!elem && c->elem_size)
        return -EINVAL;
    wyn__spin_lock(&c->lock);
    if (c->closed) {
        wyn__spin_unlock(&c->lock);
        return -EPIPE;
    }
    chan_node *r = wyn__chanq_claim(c, &c->recvq);
    if (r) {
        wyn__chan_send_to_receiver(c, r, elem);
        wyn__spin_unlock(&c->lock);
        wyn__ready(r->co, true);
        return 0;
    }
    if (c->count < c->cap) {
        wyn__chan_buf_put(c, elem);
        wyn__spin_unlock(&c->lock);
        return 0;
    }
    return send_wait(c, elem, deadline);
}

int wyn_chan_recv(wyn_chan *c, void *elem, int64_t deadline)
{
    int rc = wyn__deadline_check(deadline);
    if (rc)
        return rc;
    if (!c)
        return wyn__park_alone(deadline);   /* a NULL channel never fires */
    wyn__spin_lock(&c->lock);
    chan_node *s = wyn__chanq_claim(c, &c->sendq);
    if (s) {
        wyn__chan_recv_from_sender(c, s, elem);
        wyn__spin_unlock(&c->lock);
        wyn__ready(s->co, true);
        return 0;
    }
    if (c->count > 0) {
        wyn__chan_buf_take(c, elem);
        wyn__spin_unlock(&c->lock);
        return 0;
    }
    if (c->closed) {
        size_t elem_size = c->elem_size;
        wyn__spin_unlock(&c->lock);
        if (elem && elem_size)
            memset(elem, 0, elem_size);
        return -EPIPE;
    }
    return recv_wait(c, elem, deadline);
}

int wyn_chan_close(wyn_chan *c)
{
    if (!c)
        return -EINVAL;
    wyn__spin_lock(&c->lock);
    if (c->closed) {
        wyn__spin_unlock(&c->lock);
        return -EPIPE;
    }
    c->closed = true;
    /* Claim every waiter; chain the winners through `next` to ready them
     * after unlocking (a node is valid until its owner is readied). */
    chan_node *wake = NULL;
    chan_queue *qs[2] = {&c->recvq, &c->sendq};
    for (int i = 0; i < 2; i++) {
        chan_node *n;
        while ((n = wyn__chanq_claim(c, qs[i]))) {
            n->co->wake_result = -EPIPE;
            n->co->wake_data = n->case_index;
            n->next = wake;
            wake = n;
        }
    }
    wyn__spin_unlock(&c->lock);
    while (wake) {
        chan_node *next = wake->next;
        wyn__ready(wake->co, false);
        wake = next;
    }
    return 0;
}
