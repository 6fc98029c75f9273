/* worker.c — workers: where a coroutine runs next, and who sleeps or wakes.
 *
 * Owns: run queues (each worker's bounded deque and next slot, the global
 *   queue: plain threads' spawns and full deques' overflow), the scheduling
 *   round, stealing, spinning and idle parking.
 *
 * A scheduling round (take_local) picks, in order:
 *   every 61st round: the global queue, else the oldest local work (the
 *     local queue's head and the deque's top in turn) — so a hand-off pair
 *     cycling through the next slot cannot starve anything queued, and the
 *     LIFO pop cannot starve the oldest entry;
 *   the next slot (the coroutine this worker just readied: hand-off locality);
 *   the local queue: coroutines pushed out of the next slot by hand-offs (up
 *     to 16: a communicating group stays on one worker) and those whose
 *     deadline expired here (ahead of unstarted work); not stealable;
 *   the own deque: from the top while a yielder is queued behind older work
 *     (fifo_until), else the bottom (LIFO: the freshest, cache-warm work).
 * A worker with nothing local takes a batch from the global queue, fires due
 * timers, then spins stealing half of a random victim's deque, then sleeps.
 *
 * Wake policy (Go's wakep): a producer of surplus work (a deque push, a global
 * push, a fired timer; not the next slot) wakes one idle worker only if no
 * worker is spinning. The parking protocol that makes this lose no wake-up:
 *   producer: publish work; seq_cst fence; read nspinning and nidle.
 *   worker:   stop spinning; join the idle list (nidle++); seq_cst fence;
 *             re-check every queue and the timers; only then sleep.
 * Either the producer sees the idle worker and wakes it, or the worker sees
 * the work. A spinner that finds work while it was the last spinner calls
 * wakep again, so further surplus is not left to one worker.
 * A woken worker starts out spinning (its waker counted it in nspinning). */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "sched.h"

#define SPIN_ROUNDS 64
#define STEAL_BATCH 128   /* most a steal takes besides the one it runs (Go: 128) */

static _Thread_local wyn__worker *tls_worker;

/* Accessors through which wyn reads thread-locals: never inlined and never
 * marked pure, so a value is not reused across a switch to another thread. */
WYN_NOINLINE wyn__worker *wyn__this_worker(void)
{
    __asm__ volatile("" ::: "memory");
    return tls_worker;
}

WYN_NOINLINE wyn_co *wyn__running(void)
{
    __asm__ volatile("" ::: "memory");
    wyn__worker *w = tls_worker;
    return w ? w->current : NULL;
}

WYN_NOINLINE wyn_co *wyn__self(void)
{
    __asm__ volatile("" ::: "memory");
    wyn__worker *w = tls_worker;
    if (w && w->current)
        return w->current;
    return wyn__thread_rec();
}

static inline void stat_inc(_Atomic uint64_t *c, uint64_t by)
{
    /* Owner-only counter: a relaxed load and store (no lock prefix); readers
     * only need an eventually accurate figure. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* ---- the global queue ------------------------------------------------------ */

/* Room for `more` (lock held): double the ring, keeping its order. Under
 * the lock, so nobody can be reading the old ring when it is freed. */
static WYN_NOINLINE void gq_grow(int64_t more)
{
    int64_t size = atomic_load_explicit(&wyn__rt.gq_size, memory_order_relaxed);
    int64_t cap = wyn__rt.gq_mask + 1, ncap = cap ? cap : 1024;
    while (ncap < size + more)
        ncap *= 2;
    wyn_co **ring = malloc((size_t)ncap * sizeof *ring);
    if (!ring)
        wyn__fatal("out of memory growing the global run queue to %lld entries",
                   (long long)ncap);
    for (int64_t i = 0; i < size; i++)
        ring[i] = wyn__rt.gq_ring[(wyn__rt.gq_head + i) & wyn__rt.gq_mask];
    free(wyn__rt.gq_ring);
    wyn__rt.gq_ring = ring;
    wyn__rt.gq_mask = ncap - 1;
    wyn__rt.gq_head = 0;
}

/* Append n coroutines, oldest first (lock held). */
static void gq_append(void *const *cos, int64_t n)
{
    int64_t size = atomic_load_explicit(&wyn__rt.gq_size, memory_order_relaxed);
    if (unlikely(size + n > wyn__rt.gq_mask + 1))
        gq_grow(n);
    for (int64_t i = 0; i < n; i++)
        wyn__rt.gq_ring[(wyn__rt.gq_head + size + i) & wyn__rt.gq_mask] = cos[i];
    /* relaxed: a hint for lock-free emptiness checks; the lock orders the rest. */
    atomic_store_explicit(&wyn__rt.gq_size, size + n, memory_order_relaxed);
}

void wyn__global_push(wyn_co *co)
{
    wyn__spin_lock(&wyn__rt.gq_lock);
    void *item = co;
    gq_append(&item, 1);
    wyn__spin_unlock(&wyn__rt.gq_lock);
}

void wyn__global_free(void)
{
    free(wyn__rt.gq_ring);
    wyn__rt.gq_ring = NULL;
    wyn__rt.gq_mask = -1;
    wyn__rt.gq_head = 0;
    atomic_store_explicit(&wyn__rt.gq_size, 0, memory_order_relaxed);
}

/* Take one coroutine to run and move up to a fair share more into w's deque. */
static wyn_co *global_take(wyn__worker *w)
{
    if (atomic_load_explicit(&wyn__rt.gq_size, memory_order_relaxed) == 0)
        return NULL;
    wyn_co *first = NULL;
    wyn__spin_lock(&wyn__rt.gq_lock);
    int64_t size = atomic_load_explicit(&wyn__rt.gq_size, memory_order_relaxed);
    int64_t want = size / wyn__rt.nworkers + 1;
    if (want > 32)
        want = 32;
    /* No more than the deque has room for (the first one runs at once). */
    int64_t room = RUNQ_MAX - wyn__deque_size(&w->dq) + 1;
    if (want > room)
        want = room > 1 ? room : 1;
    int64_t taken = 0;
    for (int64_t scanned = 0; scanned < size && taken < want; scanned++) {
        wyn_co *co = wyn__rt.gq_ring[wyn__rt.gq_head];
        wyn__rt.gq_head = (wyn__rt.gq_head + 1) & wyn__rt.gq_mask;
        /* Debug migration: leave a coroutine for another worker than its
         * last (it goes round to the tail). */
        if (wyn__rt.debug_migrate && wyn__rt.nworkers > 1 && co->worker == w && co->stack) {
            wyn__rt.gq_ring[(wyn__rt.gq_head + size - taken - 1) & wyn__rt.gq_mask] = co;
            continue;
        }
        /* The records are likely cold (queued long ago, or by another core):
         * start every miss now, so they overlap. */
        wyn__prefetch_write(co);
        if (!first)
            first = co;
        else
            wyn__deque_push(&w->dq, co);
        taken++;
    }
    atomic_store_explicit(&wyn__rt.gq_size, size - taken, memory_order_relaxed);
    wyn__spin_unlock(&wyn__rt.gq_lock);
    return first;
}

/* ---- queues of this worker ---------------------------------------------- */

/* A full deque moves its older half to the global queue (Go's runqputslow),
 * 64 at a time (one CAS on top, one short hold of the global lock each): a
 * spawn storm then grows the one shared ring, at a new peak of queued work,
 * not a buffer on whichever worker it happens to run. Out of line: rare. */
static WYN_NOINLINE void runq_overflow(wyn__worker *w)
{
    enum { CHUNK = 64 };
    void *batch[CHUNK];
    int64_t moved = 0, k;
    while (moved < RUNQ_MAX / 2 && (k = wyn__deque_take_oldest(&w->dq, batch, CHUNK)) > 0) {
        wyn__spin_lock(&wyn__rt.gq_lock);
        gq_append(batch, k);
        wyn__spin_unlock(&wyn__rt.gq_lock);
        moved += k;
    }
}

void wyn__runq_push(wyn__worker *w, wyn_co *co)
{
    if (likely(wyn__deque_try_push(&w->dq, co)))
        return;
    runq_overflow(w);
    /* Thieves only make room: this push finds half the buffer free. */
    wyn__deque_push(&w->dq, co);
}

#define LOCAL_HANDOFF_MAX 16   /* hand-off readied coroutines kept unstealable */

/* The next slot and the local queue: the owner's, behind the rescue gate
 * (gate.h), which the monitor closes to move them away. With one worker
 * there is no rescue (nobody else could run the work): no gate at all. */
static inline void owner_enter(wyn__worker *w)
{
    if (wyn__rt.nworkers > 1)
        wyn__gate_enter(&w->gate);
}

static inline void owner_leave(wyn__worker *w)
{
    if (wyn__rt.nworkers > 1)
        wyn__gate_leave(&w->gate);
}

static WYN_NOINLINE void local_push(wyn__worker *w, wyn_co *co)
{
    co->next = NULL;
    owner_enter(w);
    if (w->local_tail)
        w->local_tail->next = co;
    else
        w->local_head = co;
    w->local_tail = co;
    /* relaxed: a hint for the owner's cheap emptiness check and the monitor. */
    atomic_store_explicit(&w->local_count,
                          atomic_load_explicit(&w->local_count, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    owner_leave(w);
}

static WYN_NOINLINE wyn_co *take_local_queue_slow(wyn__worker *w)
{
    owner_enter(w);
    wyn_co *co = w->local_head;
    if (co) {
        w->local_head = co->next;
        if (!w->local_head)
            w->local_tail = NULL;
        atomic_store_explicit(&w->local_count,
                              atomic_load_explicit(&w->local_count, memory_order_relaxed) - 1,
                              memory_order_relaxed);
    }
    owner_leave(w);
    return co;
}

static inline wyn_co *take_local_queue(wyn__worker *w)
{
    /* relaxed: only this worker pushes here; the monitor's rescue may empty
     * the queue meanwhile, which the gate sorts out. */
    if (likely(atomic_load_explicit(&w->local_count, memory_order_relaxed) == 0))
        return NULL;
    return take_local_queue_slow(w);
}

void wyn__enqueue_expired(wyn_co *co)
{
    wyn__worker *w = wyn__this_worker();
    /* Beyond the cap, expired coroutines are surplus work others may take
     * (a deadline shared by many must not pile them on this worker). */
    if (!w || wyn__rt.debug_migrate ||
        atomic_load_explicit(&w->local_count, memory_order_relaxed) >= LOCAL_HANDOFF_MAX) {
        wyn__enqueue_on(w, co, false);
        return;
    }
    local_push(w, co);
}

bool wyn__rescue_queues(wyn__worker *w)
{
    /* relaxed peeks: a hint; what counts is read behind the gate. */
    if (!atomic_load_explicit(&w->runnext, memory_order_relaxed) &&
        atomic_load_explicit(&w->local_count, memory_order_relaxed) == 0)
        return false;
    wyn_co *next = NULL, *list = NULL;
    if (wyn__gate_close(&w->gate)) {
        next = atomic_load_explicit(&w->runnext, memory_order_relaxed);
        atomic_store_explicit(&w->runnext, NULL, memory_order_relaxed);
        list = w->local_head;
        w->local_head = w->local_tail = NULL;
        atomic_store_explicit(&w->local_count, 0, memory_order_relaxed);
    }
    wyn__gate_open(&w->gate);
    bool moved = next || list;
    if (next)
        wyn__global_push(next);
    while (list) {
        wyn_co *co = list->next;
        wyn__global_push(list);
        list = co;
    }
    return moved;
}

static wyn_co *take_top(wyn__deque *d) { return wyn__deque_take_top(d); }

/* The next slot: the owner's, behind the rescue gate (above). */
static inline wyn_co *runnext_take(wyn__worker *w)
{
    /* relaxed: only the owner fills the slot; a stale non-NULL (the monitor
     * just emptied it) is read again behind the gate. */
    if (!atomic_load_explicit(&w->runnext, memory_order_relaxed))
        return NULL;
    owner_enter(w);
    wyn_co *co = atomic_load_explicit(&w->runnext, memory_order_relaxed);
    atomic_store_explicit(&w->runnext, NULL, memory_order_relaxed);
    owner_leave(w);
    return co;
}

static inline wyn_co *runnext_put(wyn__worker *w, wyn_co *co)
{
    owner_enter(w);
    wyn_co *old = atomic_load_explicit(&w->runnext, memory_order_relaxed);
    atomic_store_explicit(&w->runnext, co, memory_order_relaxed);
    owner_leave(w);
    return old;
}

/* Every 61st round: the global queue, else the oldest local work, taking the
 * local queue's head and the deque's top in turn, so neither the next slot
 * nor the LIFO pop can starve anything queued here. */
static wyn_co *fair_take(wyn__worker *w)
{
    wyn_co *co = global_take(w);
    if (co)
        return co;
    if (w->fair_rounds++ & 1)
        return (co = take_local_queue(w)) ? co : take_top(&w->dq);
    return (co = take_top(&w->dq)) ? co : take_local_queue(w);
}

/* Every 16th round: fire due timers (out of line: a round that does not
 * need it keeps take_local free of a stack frame). */
WYN_NOINLINE void wyn__timer_round(wyn__worker *w)
{
    w->timer_countdown = 16;
    int64_t next = atomic_load_explicit(&wyn__timer_next, memory_order_relaxed);
    if (next != INT64_MAX) {
        int64_t now = wyn_now();
        if (next <= now)
            wyn__timers_fire(now);
    }
}

/* An ordinary round: the next slot, the local queue, then the deque (from
 * the top while a yielder waits behind older work, else the bottom). */
static inline wyn_co *take_ordinary(wyn__worker *w)
{
    wyn_co *co;
    if ((co = runnext_take(w)))
        return co;
    if ((co = take_local_queue(w)))
        return co;
    if (unlikely(atomic_load_explicit(&w->dq.top, memory_order_relaxed) < w->fifo_until))
        return take_top(&w->dq);
    return wyn__deque_pop(&w->dq);
}

/* Every 61st round: the fairness take, else an ordinary round. */
static WYN_NOINLINE wyn_co *fair_round(wyn__worker *w)
{
    w->fair_countdown = 61;
    wyn_co *co = fair_take(w);
    return co ? co : take_ordinary(w);
}

wyn_co *wyn__take_queued(wyn__worker *w)
{
    if (unlikely(--w->fair_countdown == 0))
        return fair_round(w);
    return take_ordinary(w);
}

wyn_co *wyn__take_local(wyn__worker *w)
{
    wyn__timer_tick(w);
    return wyn__take_queued(w);
}

void wyn__enqueue(wyn_co *co, bool to_next) { wyn__enqueue_on(wyn__this_worker(), co, to_next); }

/* Off the workers (or migrating at every resume): the global queue. */
static WYN_NOINLINE void enqueue_global(wyn_co *co)
{
    wyn__global_push(co);
    if (wyn__rt.debug_migrate)
        wyn__wake_all_workers();
    else
        wyn__wakep();
}

void wyn__enqueue_on(wyn__worker *w, wyn_co *co, bool to_next)
{
    if (unlikely(!w || wyn__rt.debug_migrate)) {
        enqueue_global(co);
        return;
    }
    if (to_next) {
        co = runnext_put(w, co);
        if (!co)
            return;   /* the next slot is not surplus work: wake nobody */
        /* Pushed out by a hand-off: keep a few unstealable, so coroutines
         * that talk to each other stay on one worker (splitting them makes
         * every channel operation move its lock between cores); beyond
         * that it is surplus work for the deque. */
        if (atomic_load_explicit(&w->local_count, memory_order_relaxed) < LOCAL_HANDOFF_MAX) {
            local_push(w, co);
            return;
        }
    }
    wyn__runq_push(w, co);
    if (wyn__rt.nworkers > 1)
        wyn__wakep();
}

/* ---- idle workers --------------------------------------------------------- */

static void idle_push(wyn__worker *w)
{
    wyn__spin_lock(&wyn__rt.idle_lock);
    w->idle_next = wyn__rt.idle_head;
    wyn__rt.idle_head = w;
    atomic_fetch_add_explicit(&wyn__rt.nidle, 1, memory_order_seq_cst);
    wyn__spin_unlock(&wyn__rt.idle_lock);
}

static wyn__worker *idle_pop(void)
{
    wyn__spin_lock(&wyn__rt.idle_lock);
    wyn__worker *w = wyn__rt.idle_head;
    if (w) {
        wyn__rt.idle_head = w->idle_next;
        atomic_fetch_sub_explicit(&wyn__rt.nidle, 1, memory_order_seq_cst);
    }
    wyn__spin_unlock(&wyn__rt.idle_lock);
    return w;
}

/* Remove w from the idle list; false if a waker popped it first (a wake is
 * then on its way and w counts as spinning). */
static bool idle_remove(wyn__worker *w)
{
    bool found = false;
    wyn__spin_lock(&wyn__rt.idle_lock);
    for (wyn__worker **p = &wyn__rt.idle_head; *p; p = &(*p)->idle_next) {
        if (*p == w) {
            *p = w->idle_next;
            atomic_fetch_sub_explicit(&wyn__rt.nidle, 1, memory_order_seq_cst);
            found = true;
            break;
        }
    }
    wyn__spin_unlock(&wyn__rt.idle_lock);
    return found;
}

static void wake_worker(wyn__worker *v)
{
    /* release: pairs with the acquire load of `wake` by the sleeper. */
    atomic_fetch_or_explicit(&v->wake, 1, memory_order_release);
    wyn__futex_wake(&v->wake, 1);
}

void wyn__wakep(void)
{
    if (wyn__rt.nworkers == 1 && wyn__this_worker())
        return;   /* the only worker is the caller, and it is awake */
    /* StoreLoad: the work we just published must be visible before we read
     * the idle and spinning counts (pairs with the fence in find_runnable). */
    wyn__fence_seq_cst();
    if (atomic_load_explicit(&wyn__rt.nspinning, memory_order_relaxed) != 0 ||
        atomic_load_explicit(&wyn__rt.nidle, memory_order_relaxed) == 0)
        return;
    int zero = 0;
    /* seq_cst: claims the right to wake one spinner; losing means another
     * worker is spinning (or being woken) and will find the work. */
    if (!atomic_compare_exchange_strong_explicit(&wyn__rt.nspinning, &zero, 1,
                                                 memory_order_seq_cst, memory_order_relaxed))
        return;
    wyn__worker *v = idle_pop();
    if (!v) {
        atomic_fetch_sub_explicit(&wyn__rt.nspinning, 1, memory_order_seq_cst);
        return;
    }
    wake_worker(v);
}

void wyn__wake_all_workers(void)
{
    wyn__worker *v;
    while ((v = idle_pop())) {
        atomic_fetch_add_explicit(&wyn__rt.nspinning, 1, memory_order_seq_cst);
        wake_worker(v);
    }
}

/* Timer sleeper: at most one idle worker sleeps with a timeout, until the
 * earliest deadline; the others sleep until woken. */
static _Atomic(wyn__worker *) timer_sleeper;
static _Atomic int64_t        timer_sleeper_until = INT64_MAX;

void wyn__timer_added(int64_t deadline)
{
    /* StoreLoad: the new earliest deadline is visible before we look for a
     * sleeper (pairs with the idle worker's fence before it reads timers). */
    wyn__fence_seq_cst();
    if (deadline >= atomic_load_explicit(&timer_sleeper_until, memory_order_relaxed))
        return;
    wyn__worker *s = atomic_load_explicit(&timer_sleeper, memory_order_relaxed);
    if (s) {
        /* A kick: changes the futex word so a sleeper about to wait returns. */
        atomic_fetch_add_explicit(&s->wake, 2, memory_order_release);
        wyn__futex_wake(&s->wake, 1);
    } else {
        wyn__wakep();
    }
}

static void sleep_idle(wyn__worker *w)
{
    uint32_t v = atomic_load_explicit(&w->wake, memory_order_acquire);
    if (v & 1)
        return;
    int64_t until = WYN_FOREVER;
    int64_t next = atomic_load_explicit(&wyn__timer_next, memory_order_acquire);
    wyn__worker *none = NULL;
    bool timing = false;
    if (next != INT64_MAX &&
        atomic_compare_exchange_strong_explicit(&timer_sleeper, &none, w, memory_order_seq_cst,
                                                memory_order_relaxed)) {
        timing = true;
        atomic_store_explicit(&timer_sleeper_until, next, memory_order_seq_cst);
        until = next;
    }
    wyn__futex_wait(&w->wake, v, until);
    if (timing) {
        atomic_store_explicit(&timer_sleeper_until, INT64_MAX, memory_order_seq_cst);
        atomic_store_explicit(&timer_sleeper, NULL, memory_order_seq_cst);
    }
}

/* Is there work anywhere that an idle worker could take? */
static bool any_work(void)
{
    if (atomic_load_explicit(&wyn__rt.gq_size, memory_order_relaxed) > 0)
        return true;
    for (unsigned i = 0; i < wyn__rt.nworkers; i++)
        if (wyn__deque_size(&wyn__rt.workers[i]->dq) > 0)
            return true;
    int64_t next = atomic_load_explicit(&wyn__timer_next, memory_order_relaxed);
    return next != INT64_MAX && next <= wyn_now();
}

/* Steal from a random victim, then the others: half the victim's queue. */
static wyn_co *steal_work(wyn__worker *w)
{
    unsigned n = wyn__rt.nworkers;
    if (n < 2)
        return NULL;
    unsigned start = (unsigned)(wyn__xorshift64(&w->rng) % n);
    for (unsigned k = 0; k < n; k++) {
        wyn__worker *v = wyn__rt.workers[(start + k) % n];
        if (v == w)
            continue;
        for (int attempt = 0; attempt < 4; attempt++) {
            void *x = wyn__deque_steal(&v->dq);
            if (x == WYN_DEQUE_ABORT)
                continue;
            if (!x)
                break;
            /* Take a batch: half of what is left, into our own deque; at
             * most STEAL_BATCH, so the records the steals prefetch are still
             * in this core's cache when they run. */
            int64_t more = wyn__deque_size(&v->dq) / 2;
            if (more > STEAL_BATCH)
                more = STEAL_BATCH;
            uint64_t got = 1;
            for (int64_t i = 0; i < more; i++) {
                void *y = wyn__deque_steal(&v->dq);
                if (y == WYN_DEQUE_ABORT || !y)
                    break;
                wyn__runq_push(w, y);
                got++;
            }
            stat_inc(&w->st_steals, got);
            return x;
        }
    }
    return NULL;
}

static void stop_spinning(wyn__worker *w)
{
    if (!w->spinning)
        return;
    w->spinning = false;
    /* If we were the last spinner, there may be more surplus work than we
     * took: let another worker look (Go's resetspinning). */
    if (atomic_fetch_sub_explicit(&wyn__rt.nspinning, 1, memory_order_seq_cst) == 1)
        wyn__wakep();
}

static wyn_co *find_runnable(wyn__worker *w)
{
    for (;;) {
        if (atomic_load_explicit(&wyn__rt.stopping, memory_order_acquire))
            return NULL;
        wyn_co *co = wyn__take_local(w);
        if (!co)
            co = global_take(w);
        if (!co) {
            /* relaxed: a hint; firing takes the heap lock and looks again. */
            int64_t next = atomic_load_explicit(&wyn__timer_next, memory_order_relaxed);
            if (next != INT64_MAX) {
                int64_t now = wyn_now();
                if (next <= now && wyn__timers_fire(now) > 0)
                    continue;
            }
        }
        if (!co && !w->spinning) {
            int busy = (int)wyn__rt.nworkers - atomic_load_explicit(&wyn__rt.nidle, memory_order_relaxed);
            if (2 * atomic_load_explicit(&wyn__rt.nspinning, memory_order_relaxed) < busy) {
                w->spinning = true;
                atomic_fetch_add_explicit(&wyn__rt.nspinning, 1, memory_order_seq_cst);
            }
        }
        for (int i = 0; !co && w->spinning && i < SPIN_ROUNDS; i++) {
            co = steal_work(w);
            if (!co)
                co = global_take(w);
            if (!co)
                wyn__cpu_relax();
        }
        if (co) {
            stop_spinning(w);
            return co;
        }
        /* Going idle: stop spinning, join the idle list, fence, re-check. */
        if (w->spinning) {
            w->spinning = false;
            atomic_fetch_sub_explicit(&wyn__rt.nspinning, 1, memory_order_seq_cst);
        }
        wyn__check_stop();
        idle_push(w);
        wyn__fence_seq_cst();
        if (!any_work() && !atomic_load_explicit(&wyn__rt.stopping, memory_order_acquire))
            sleep_idle(w);
        uint32_t v = atomic_load_explicit(&w->wake, memory_order_acquire);
        if (v & 1) {
            /* Woken for work: the waker popped us and counted us as spinning. */
            atomic_fetch_and_explicit(&w->wake, ~1u, memory_order_relaxed);
            w->spinning = true;
        } else if (!idle_remove(w)) {
            /* A waker popped us just now; its wake is on the way: take it. */
            while (!(atomic_load_explicit(&w->wake, memory_order_acquire) & 1))
                wyn__cpu_relax();
            atomic_fetch_and_explicit(&w->wake, ~1u, memory_order_relaxed);
            w->spinning = true;
        }
    }
}

/* ---- switching ------------------------------------------------------------ */

/* A coroutine's first run: its stack and fresh context (out of line, so a
 * resume keeps a frame with no saved registers). */
static WYN_NOINLINE void first_run_setup(wyn__worker *w, wyn_co *co)
{
    size_t size = (size_t)co->stack_kib << 10;
    co->stack = wyn__stack_get(&w->stacks, size);
    if (!co->stack)
        wyn__fatal("out of memory: no %zu-byte stack for coroutine #%llu", size,
                   (unsigned long long)co->id);
    wyn__ctx_make(&co->ctx, co->stack->lo, co->stack->size);
}

/* Make `co` (taken from a run queue) the running coroutine of w. */
void wyn__start_running(wyn__worker *w, wyn_co *co)
{
    /* The taker owns a RUNNABLE coroutine: no waker acts on that state (its
     * wait is claimed), so a checked load and a plain store suffice. Its
     * context is visible already: a deque or the global queue acquired it
     * from the pusher; the next slot and the local queue are filled by this
     * thread (after ready_to's acquire) or handed on by the monitor through
     * the gate and the global queue's lock. */
    int state = atomic_load_explicit(&co->state, memory_order_relaxed);
    if (unlikely(state != CO_RUNNABLE))
        wyn__fatal("internal error: coroutine #%llu taken from a run queue in state %d",
                   (unsigned long long)co->id, state);
    atomic_store_explicit(&co->state, CO_RUNNING, memory_order_relaxed);
    if (!co->stack)
        first_run_setup(w, co);
    co->worker = w;
    w->current = co;
    stat_inc(&w->st_switches, 1);
}

/* Queue a yielder (RUNNABLE) on w behind what was ready. */
static void queue_yielder(wyn__worker *w, wyn_co *co)
{
    if (wyn__rt.debug_migrate) {
        wyn__enqueue(co, false);
        return;
    }
    wyn__runq_push(w, co);
    /* Until the top passes the yielder, take from the top: everything queued
     * before it runs (or is stolen) first. */
    w->fifo_until = atomic_load_explicit(&w->dq.bottom, memory_order_relaxed);
    if (wyn__rt.nworkers > 1)
        wyn__wakep();
}

/* wyn_yield's after-switch step (a thief may take the yielder at once). */
static void after_yield(wyn__ctx *from, void *arg)
{
    wyn_co *co = (wyn_co *)((char *)from - offsetof(wyn_co, ctx));
    atomic_store_explicit(&co->state, CO_RUNNABLE, memory_order_relaxed);
    queue_yielder(arg, co);   /* arg: the worker; after-steps run on the switching thread */
}

/* Shutting down: the yielder is left runnable, never to be resumed. */
static void after_yield_stopping(wyn__ctx *from, void *arg)
{
    (void)arg;
    wyn_co *co = (wyn_co *)((char *)from - offsetof(wyn_co, ctx));
    atomic_store_explicit(&co->state, CO_RUNNABLE, memory_order_relaxed);
}

void wyn_yield(void)
{
    wyn__worker *w = wyn__this_worker();
    wyn_co *self = w ? w->current : NULL;
    if (!self) {
        sched_yield();
        return;
    }
    if (atomic_load_explicit(&wyn__rt.stopping, memory_order_relaxed)) {
        wyn__switch_to(w, self, NULL, after_yield_stopping, NULL, false);
        return;
    }
    wyn_co *next = wyn__take_local(w);
    /* Nothing ready here: take work waiting elsewhere (the global queue, or
     * half of a busier worker's deque), so yielders spread over the workers
     * and this worker serves the global queue too. */
    if (!next)
        next = global_take(w);
    if (!next && wyn__rt.nworkers > 1)
        next = steal_work(w);
    if (!next)
        return;   /* nothing is waiting anywhere: keep running */
    if (w->dq.single) {
        /* One worker: no other thread takes from this worker's queues, so
         * the yielder can be queued before the switch, with no after-step. */
        atomic_store_explicit(&self->state, CO_RUNNABLE, memory_order_relaxed);
        queue_yielder(w, self);
        wyn__switch_to(w, self, next, NULL, NULL, false);
        return;
    }
    wyn__switch_to(w, self, next, after_yield, w, false);
}

void wyn__worker_main_loop(wyn__worker *w)
{
    tls_worker = w;
    w->errno_loc = &errno;
    w->rng = 0x9E3779B97F4A7C15ull * (w->id + 1);
    w->timer_countdown = 16;
    w->fair_countdown = 61;
    wyn__ctx_init_thread(&w->sched_ctx);
    for (;;) {
        wyn_co *co = find_runnable(w);
        if (!co)
            break;
        /* main_fn returned meanwhile: nothing is started or resumed again
         * (the coroutine stays RUNNABLE and is abandoned at teardown). */
        if (atomic_load_explicit(&wyn__rt.stopping, memory_order_acquire))
            break;
        wyn__start_running(w, co);
        wyn__ctx_switch(&w->sched_ctx, &co->ctx, NULL, NULL, false);
        /* Back on our own stack: a coroutine had nothing to switch to. */
    }
    tls_worker = NULL;
}
