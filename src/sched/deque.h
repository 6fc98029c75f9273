/* deque.h — a worker's run queue: a Chase-Lev work-stealing deque.
 *
 * The owner pushes and pops at the bottom (LIFO); any thread takes from the
 * top (FIFO; the owner too, for fairness). Memory orders follow Lê, Pop,
 * Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak
 * Memory Models" (PPoPP 2013); each is justified in deque.c. A full buffer
 * is replaced by one twice its size (wyn__deque_push; try_push reports it
 * full instead); the old one stays allocated until the deque is destroyed,
 * because a thief may still be reading it. */
#ifndef WYN_DEQUE_H
#define WYN_DEQUE_H

#include "../common.h"

typedef struct wyn__deque_buf {
    int64_t                 mask;       /* capacity - 1 (a power of two) */
    struct wyn__deque_buf  *retired;    /* older buffers, kept for thieves */
    _Atomic(void *)         slots[];
} wyn__deque_buf;

typedef struct wyn__deque {
    _Alignas(WYN_CACHELINE) _Atomic int64_t top;      /* next to steal; only grows */
    _Alignas(WYN_CACHELINE) _Atomic int64_t bottom;   /* next free slot; owner writes */
    _Atomic(wyn__deque_buf *) buf;
    int64_t top_seen;   /* owner: top as last read (top only grows, so this
                           understates the room in the buffer; see push) */
    /* owner: the current buffer's slots and mask, one load closer than
     * through buf (the owner alone replaces the buffer) */
    _Atomic(void *) *own_slots;
    int64_t          own_mask;
    bool single;   /* no thief can exist (one worker): the owner skips the
                      barriers and CAS that only order it against thieves */
} wyn__deque;

#define WYN_DEQUE_ABORT ((void *)1)   /* steal lost a race; try again */

int   wyn__deque_init(wyn__deque *d, int64_t cap);    /* 0 or -ENOMEM */
void  wyn__deque_destroy(wyn__deque *d);
void  wyn__deque_push(wyn__deque *d, void *x);        /* owner only; grows a full buffer */
bool  wyn__deque_try_push(wyn__deque *d, void *x);    /* owner only; false if full */
/* Owner only: take up to max of the oldest items (in order) into out. */
int64_t wyn__deque_take_oldest(wyn__deque *d, void **out, int64_t max);
void *wyn__deque_pop(wyn__deque *d);                  /* owner only; NULL if empty */
void *wyn__deque_steal(wyn__deque *d);                /* anyone; NULL, ABORT or an item */
void *wyn__deque_take_top(wyn__deque *d);             /* owner: the oldest item, or NULL */

/* Items queued, as seen now (a hint for anyone; exact for the owner when no
 * thief runs). */
static inline int64_t wyn__deque_size(wyn__deque *d)
{
    /* relaxed: a hint only; a reader that acts on it steals, which re-checks. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b > t ? b - t : 0;
}

#endif
