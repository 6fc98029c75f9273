/* timer.c — deadlines: one min-heap of waiting coroutines, shared by all workers.
 *
 * Owns: the heap, each record's timer_index/timer_deadline/timer_seq while it
 *   is in the heap, and wyn__timer_next (the earliest deadline, INT64_MAX when
 *   empty) that workers read without the lock.
 * A timer is added only when a coroutine really parks with a finite deadline,
 * and removed by that coroutine after it wakes (O(log n) through the stored
 * index) unless firing removed it first. Firing claims the wait (co, seq)
 * with -ETIMEDOUT, so a timer that loses the race to a counterpart or a
 * cancel does nothing. Lock order: the heap lock is a leaf; waking happens
 * after it is released. One shared heap was chosen over per-worker heaps: a
 * parked coroutine's deadline can then be fired by any worker or the monitor
 * without migrating heaps, and timed waits are rarer than the hand-offs whose
 * costs decide the benchmarks. */
#include <stdlib.h>

#include "sched.h"

static struct {
    wyn__spinlock lock;
    wyn_co      **heap;
    int64_t       len, cap;
} T;

_Atomic int64_t wyn__timer_next = INT64_MAX;

void wyn__timers_init(void)
{
    T.len = 0;
    atomic_store(&wyn__timer_next, INT64_MAX);
}

void wyn__timers_fini(void)
{
    free(T.heap);
    T.heap = NULL;
    T.len = T.cap = 0;
    atomic_store(&wyn__timer_next, INT64_MAX);
}

static void place(int64_t i, wyn_co *co)
{
    T.heap[i] = co;
    co->timer_index = i;
}

static void sift_up(int64_t i)
{
    wyn_co *co = T.heap[i];
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (T.heap[parent]->timer_deadline <= co->timer_deadline)
            break;
        place(i, T.heap[parent]);
        i = parent;
    }
    place(i, co);
}

static void sift_down(int64_t i)
{
    wyn_co *co = T.heap[i];
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t md = co->timer_deadline;
        if (l < T.len && T.heap[l]->timer_deadline < md) {
            m = l;
            md = T.heap[l]->timer_deadline;
        }
        if (r < T.len && T.heap[r]->timer_deadline < md)
            m = r;
        if (m == i)
            break;
        place(i, T.heap[m]);
        i = m;
    }
    place(i, co);
}

static void remove_at(int64_t i)
{
    wyn_co *co = T.heap[i];
    co->timer_index = -1;
    T.len--;
    if (i < T.len) {
        place(i, T.heap[T.len]);
        sift_down(i);
        sift_up(T.heap[i]->timer_index);
    }
}

static void publish_next(void)
{
    /* release: a worker that sees a due deadline and takes the lock finds it. */
    atomic_store_explicit(&wyn__timer_next, T.len ? T.heap[0]->timer_deadline : INT64_MAX,
                          memory_order_release);
}

void wyn__timer_add(wyn_co *co, uint64_t seq, int64_t deadline)
{
    wyn__spin_lock(&T.lock);
    if (T.len == T.cap) {
        int64_t  ncap = T.cap ? T.cap * 2 : 256;
        wyn_co **n = realloc(T.heap, (size_t)ncap * sizeof *n);
        if (!n)
            wyn__fatal("out of memory growing the timer heap");
        T.heap = n;
        T.cap = ncap;
    }
    co->timer_deadline = deadline;
    co->timer_seq = seq;
    T.heap[T.len] = co;
    co->timer_index = T.len++;
    sift_up(co->timer_index);
    bool earliest = T.heap[0] == co;
    publish_next();
    wyn__spin_unlock(&T.lock);
    if (earliest)
        wyn__timer_added(deadline);
}

void wyn__timer_del(wyn_co *co)
{
    wyn__spin_lock(&T.lock);
    if (co->timer_index >= 0) {
        remove_at(co->timer_index);
        publish_next();
    }
    wyn__spin_unlock(&T.lock);
}

int wyn__timers_fire(int64_t now)
{
    enum { BATCH = 64 };
    wyn_co  *due[BATCH];
    uint64_t seqs[BATCH];
    int      n = 0;
    wyn__spin_lock(&T.lock);
    while (n < BATCH && T.len && T.heap[0]->timer_deadline <= now) {
        wyn_co *co = T.heap[0];
        due[n] = co;
        seqs[n] = co->timer_seq;
        n++;
        remove_at(0);
    }
    publish_next();
    wyn__spin_unlock(&T.lock);
    int fired = 0;
    for (int i = 0; i < n; i++) {
        wyn_co  *co = due[i];
        uint64_t armed = seqs[i] << 1;
        /* Claim as wyn__wake does, but queue an expired coroutine ahead of
         * unstarted work rather than on the deque. acquire: pairs with the
         * waiter's arming. */
        if (!atomic_compare_exchange_strong_explicit(&co->wait_word, &armed, armed | 1,
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        co->wake_result = -ETIMEDOUT;
        co->wake_data = 0;
        wyn__ready_expired(co);
        fired++;
    }
    if (fired)
        wyn__wakep();
    return fired;
}
