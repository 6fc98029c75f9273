/* deque.c — Chase-Lev work-stealing deque (see deque.h for the contract).
 *
 * Invariants: top only grows (CAS); bottom is written only by the owner;
 * items live in slots [top, bottom). The last item is contended between the
 * owner's pop and thieves; the CAS on top decides who gets it. */
#include "deque.h"

#include <stdlib.h>

static wyn__deque_buf *buf_new(int64_t cap)
{
    wyn__deque_buf *b = calloc(1, sizeof *b + (size_t)cap * sizeof(_Atomic(void *)));
    if (b)
        b->mask = cap - 1;
    return b;
}

int wyn__deque_init(wyn__deque *d, int64_t cap)
{
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    d->top_seen = 0;
    d->single = false;
    wyn__deque_buf *b = buf_new(cap);
    if (!b)
        return -ENOMEM;
    atomic_init(&d->buf, b);
    d->own_slots = b->slots;
    d->own_mask = b->mask;
    return 0;
}

void wyn__deque_destroy(wyn__deque *d)
{
    wyn__deque_buf *b = atomic_load_explicit(&d->buf, memory_order_relaxed);
    while (b) {
        wyn__deque_buf *old = b->retired;
        free(b);
        b = old;
    }
    atomic_store_explicit(&d->buf, NULL, memory_order_relaxed);
}

/* Owner: copy [t, b) into a buffer twice as large and publish it. Out of
 * line, so push keeps a frame with no saved registers. */
static WYN_NOINLINE wyn__deque_buf *grow(wyn__deque *d, wyn__deque_buf *a, int64_t b, int64_t t)
{
    wyn__deque_buf *n = buf_new((a->mask + 1) * 2);
    if (!n)
        wyn__fatal("out of memory growing a run queue");
    for (int64_t i = t; i < b; i++)
        atomic_store_explicit(&n->slots[i & n->mask],
                              atomic_load_explicit(&a->slots[i & a->mask], memory_order_relaxed),
                              memory_order_relaxed);
    n->retired = a;   /* never freed before destroy: a thief may hold `a` */
    /* release: a thief that loads the new buffer (acquire, in steal) sees the
     * copied slots. */
    atomic_store_explicit(&d->buf, n, memory_order_release);
    d->own_slots = n->slots;
    d->own_mask = n->mask;
    return n;
}

/* push when the buffer looked full (out of line: the common push then
 * needs no stack frame): re-read top; grow if `may_grow`, else report full. */
static WYN_NOINLINE bool push_slow(wyn__deque *d, void *x, int64_t b, bool may_grow)
{
    wyn__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_relaxed);
    /* acquire: pairs with the CAS on top in steal, so the slot a thief has
     * just taken is not overwritten before the thief has read it. An older
     * acquire reading (top_seen, in push) orders just as well. */
    d->top_seen = atomic_load_explicit(&d->top, memory_order_acquire);
    if (b - d->top_seen > a->mask) {
        if (!may_grow)
            return false;
        a = grow(d, a, b, d->top_seen);
    }
    atomic_store_explicit(&a->slots[b & a->mask], x, memory_order_relaxed);
    /* release: as in push. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return true;
}

static inline bool push(wyn__deque *d, void *x, bool may_grow)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* The slot b reuses held item b - capacity. It is free once top has
     * passed that item; top_seen (an older reading of top, which only
     * grows) says so without touching top's cache line, which thieves
     * write: top is re-read only when the buffer looks full. */
    if (unlikely(b - d->top_seen > d->own_mask))
        return push_slow(d, x, b, may_grow);
    atomic_store_explicit(&d->own_slots[b & d->own_mask], x, memory_order_relaxed);
    /* release: the slot (and everything written before the push, such as a
     * new coroutine's record) is visible to a thief that reads the new bottom
     * with acquire in steal. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return true;
}

void wyn__deque_push(wyn__deque *d, void *x) { push(d, x, true); }

bool wyn__deque_try_push(wyn__deque *d, void *x) { return push(d, x, false); }

int64_t wyn__deque_take_oldest(wyn__deque *d, void **out, int64_t max)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t, n;
    if (d->single) {
        /* No thief exists: the owner alone moves top. */
        t = atomic_load_explicit(&d->top, memory_order_relaxed);
        n = b - t < max ? b - t : max;
        if (n <= 0)
            return 0;
        atomic_store_explicit(&d->top, t + n, memory_order_relaxed);
    } else {
        /* One CAS claims [t, t + n): a thief claims only [t, t + 1) with the
         * same CAS, so one of us wins slot t and the loser sees top moved;
         * the owner (us) is not popping, so bottom stays put and every
         * claimed slot lies below it. seq_cst: as the thieves' CAS. Its
         * acquire also orders our later pushes into slots that thieves took
         * before it after their reads (the job of push_slow's acquire). */
        t = atomic_load_explicit(&d->top, memory_order_relaxed);
        do {
            n = b - t < max ? b - t : max;
            if (n <= 0)
                return 0;
        } while (!atomic_compare_exchange_weak_explicit(&d->top, &t, t + n, memory_order_seq_cst,
                                                        memory_order_relaxed));
    }
    d->top_seen = t + n;   /* owner: the next push need not re-read top */
    /* The slots are ours now: only the owner writes slots, and it pushes
     * again only after we return. A thief that read top before our CAS may
     * still load slot t, but its CAS fails and it discards what it read. */
    for (int64_t i = 0; i < n; i++)
        out[i] = atomic_load_explicit(&d->own_slots[(t + i) & d->own_mask], memory_order_relaxed);
    return n;
}

void *wyn__deque_pop(wyn__deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    if (d->single) {
        /* No thief exists: nobody else reads or writes top and bottom. */
        int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
        if (t > b)
            return NULL;
        atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
        return atomic_load_explicit(&d->own_slots[b & d->own_mask], memory_order_relaxed);
    }
    /* seq_cst exchange: the paper's "store bottom; seq_cst fence" — the new
     * bottom must be visible to thieves before we read top (StoreLoad), or a
     * thief and we could both take the last item. On x86 an exchange is a
     * cheaper full barrier than mfence; pairs with the seq_cst loads in steal. */
    atomic_exchange_explicit(&d->bottom, b, memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    if (t > b) {   /* empty: restore */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    void *x = atomic_load_explicit(&d->own_slots[b & d->own_mask], memory_order_relaxed);
    if (t == b) {
        /* The last item: race thieves for it with the same CAS they use.
         * seq_cst: ordered with the thieves' CAS on top. */
        if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            x = NULL;   /* a thief got it */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return x;
}

void *wyn__deque_steal(wyn__deque *d)
{
    /* seq_cst loads of top, then bottom, instead of the paper's "load top;
     * seq_cst fence; load bottom": every access that decides who takes an
     * item (these two loads, our CAS, the owner's exchange of bottom and its
     * load of top in pop) is seq_cst, so they fall in one total order that
     * agrees with program order, and Chase and Lev's argument for sequential
     * consistency applies. If we read bottom from before the owner's
     * exchange, our load precedes it, so the owner's later load of top
     * either sees our CAS or precedes it, and then it takes the last item by
     * CAS too. On x86 both loads are plain moves: no fence per steal.
     * The load of top also acquires the previous thief's CAS (we read the
     * buffer state it saw), and the load of bottom acquires push's release
     * store (the slot, and what was written before the push, are visible). */
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    if (t >= b)
        return NULL;
    /* acquire: pairs with the release store in grow. */
    wyn__deque_buf *a = atomic_load_explicit(&d->buf, memory_order_acquire);
    void *x = atomic_load_explicit(&a->slots[t & a->mask], memory_order_relaxed);
    /* seq_cst CAS: claims slot t; ordered against the owner's pop of the last
     * item. Failure means another thief or the owner took it. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return WYN_DEQUE_ABORT;
    /* The next item is likely this thief's next steal: start moving it
     * (for a coroutine, its record's first line) to this core now, while
     * x runs. relaxed: a hint; a slot being rewritten only wastes it. */
    if (t + 1 < b)
        wyn__prefetch_write(atomic_load_explicit(&a->slots[(t + 1) & a->mask],
                                                 memory_order_relaxed));
    return x;
}

void *wyn__deque_take_top(wyn__deque *d)
{
    if (d->single) {
        /* No thief exists: the owner alone moves top. */
        int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
        int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
        if (t >= b)
            return NULL;
        void *x = atomic_load_explicit(&d->own_slots[t & d->own_mask], memory_order_relaxed);
        atomic_store_explicit(&d->top, t + 1, memory_order_relaxed);
        return x;
    }
    for (;;) {
        void *x = wyn__deque_steal(d);
        if (x != WYN_DEQUE_ABORT)
            return x;
    }
}
