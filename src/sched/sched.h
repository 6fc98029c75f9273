/* sched.h — the scheduler's internal interface: coroutine records and their
 * states, workers, and the one park/ready mechanism every blocking call uses.
 *
 * The wait protocol (park.c has the long form):
 *   seq = wyn__wait_arm(self)      arm a wait; (self, seq) names it
 *   ... publish (self, seq) where wakers find it, under the object's lock ...
 *   r = wyn__park(self, deadline, unlock, lock)   switch away; `unlock(lock)`
 *                                  runs after the switch (or at once if the
 *                                  wait ended before it began)
 * A waker calls wyn__wake(co, seq, result): the first to claim (co, seq) wins
 * and readies co; stale or losing wakers back off. The deadline's timer and
 * wyn_cancel are just two more wakers. park returns the winner's result. */
#ifndef WYN_SCHED_H
#define WYN_SCHED_H

#include <pthread.h>
#include <stdalign.h>

#include "../ctx/ctx.h"
#include "../stack/stack.h"
#include "deque.h"
#include "gate.h"

/* Who owns a coroutine record, and where it is. Transitions go through
 * co_state_cas / the functions in park.c and co.c, which check the old state. */
enum wyn__co_state {
    CO_FREE,      /* in a record pool; a handle that still points here is misused */
    CO_RUNNABLE,  /* on exactly one run queue (deque, next slot, local queue, global queue);
                     the worker that takes it owns it. No stack before its first run. */
    CO_RUNNING,   /* owned by the worker whose `current` it is; on no run queue.
                     Also while it switches away to wait (wait published,
                     registers not saved yet): a claimer waits for PARKED then */
    CO_PARKED,    /* registers saved, waiting; whoever wins its wait claim queues it */
    CO_DEAD,      /* returned; stack back in a pool; only its join handle points here */
};

enum { CO_KIND_CORO = 0, CO_KIND_THREAD = 1 };

/* join_word values besides a joiner's record pointer (joinable records). */
#define JW_HELD     ((uintptr_t)0)   /* a handle exists, nobody joins yet */
#define JW_DETACHED ((uintptr_t)1)   /* handle given up (wyn_detach): freed at exit */
#define JW_DONE     ((uintptr_t)2)   /* finished with a handle still held */

typedef struct wyn__worker wyn__worker;

/* A cache of free records: two magazines (co.c). */
#define WYN__REC_CLASSES 4
typedef struct wyn__rec_mag wyn__rec_mag;
typedef struct wyn__rec_cache {
    wyn__rec_mag *loaded, *prev;
} wyn__rec_cache;

struct wyn_co {
    /* --- first cache line: all that a spawn writes, and all that a first
     * run and exit of a short detached coroutine touch. A spawner on one
     * core and a thief on another move this one line between them, not
     * the record. (Sanitizer builds widen ctx, and this spills over.) --- */
    wyn__ctx           ctx;          /* one word: the saved context */
    _Atomic int        state;        /* enum wyn__co_state */
    uint8_t            kind;         /* CO_KIND_* */
    uint8_t            size_class;   /* record pool class (argument space) */
    bool               is_main;      /* wyn_run's main_fn */
    _Atomic bool       cancelled;
    uint32_t           stack_kib;    /* its stack's size / 1024 (sizes are whole pages) */
    bool               joinable;     /* spawned with a join handle: join_word is in use */
    void             (*fn)(void *);
    void              *arg;
    uint64_t           id;
    wyn__stack        *stack;        /* NULL until the first run and after exit */
    wyn__worker       *worker;       /* the worker running it (while RUNNING), else the one that
                                        last ran or spawned it (NULL: spawned off the workers) */
    /* --- join (joinable coroutines only) --- */
    _Atomic uintptr_t  join_word;    /* JW_* or the joining record */
    uint64_t           joiner_seq;   /* the joiner's wait seq, set before it links */
    /* --- switching and the current wait --- */
    int                saved_errno;  /* while switched out; a first run clears errno itself */
    int                wake_result;  /* written by the claimer before it readies us */
    wyn_co            *next;         /* run queue and list link */
    _Atomic uint64_t   wait_word;    /* seq << 1 | claimed */
    intptr_t           wake_data;    /* extra word for the claimer (select: case) */
    /* Undo the wait's links when the coroutine is abandoned at shutdown;
     * woken: its wait was claimed but it never ran again (do the owner's
     * post-wake clean-up). Set only while it waits: every waiter clears it
     * after its park, so a record leaves a pool with it NULL. */
    void             (*wait_unlink)(wyn_co *co, bool woken);
    void              *wait_obj;     /* what it waits on, for wait_unlink */
    /* --- its deadline timer (timer.c); one wait, so one timer --- */
    int64_t            timer_deadline;
    int64_t            timer_index;  /* position in the heap, -1 if not in it */
    uint64_t           timer_seq;
    /* --- a plain thread's record (CO_KIND_THREAD) --- */
    _Atomic uint32_t   futex;        /* 1 = readied */
    /* wyn_cancel calls inside, from before their handle check to their end
     * (read by a detached coroutine's channel waits, wyn__cancellable). */
    _Atomic uint32_t   cancels_active;
    alignas(max_align_t) unsigned char argbuf[];
};

/* ---- runtime-wide state (runtime.c) ---- */
enum {
    ACCEPT_NO,       /* no runtime, or shutting down: spawns get -ESRCH */
    ACCEPT_YES,
    ACCEPT_PAUSED,   /* wyn_stop is looking whether anything is alive: spawns wait */
};
typedef struct wyn__runtime {
    unsigned           nworkers;
    size_t             stack_size;       /* rounded default */
    wyn__worker      **workers;
    _Atomic int        accepting;        /* ACCEPT_*: may spawns start */
    _Atomic int        stopping;         /* workers must exit */
    _Atomic int        stop_requested;   /* wyn_stop waits for alive == 0 */
    _Atomic uint32_t   stop_word;        /* futex: alive reached 0 / main returned */
    bool               debug_migrate;    /* $WYN_DEBUG_MIGRATE: move at every resume */
    bool               monitor_rescue;   /* monitor may rescue stuck work (tests turn off) */
    int64_t            debug_cancel_delay_ns; /* $WYN_DEBUG_CANCEL_DELAY_US: wyn_cancel
                                                 stalls after its handle check (tests) */
    _Atomic uint64_t   debug_cancel_stalls;   /* how many such stalls began */
    /* idle workers and spinning (worker.c) */
    _Alignas(WYN_CACHELINE) _Atomic int nspinning;
    _Atomic int        nidle;
    wyn__spinlock      idle_lock;
    wyn__worker       *idle_head;
    /* global run queue: spawns from plain threads and the overflow of full
     * deques; a FIFO ring under gq_lock, doubled at a new peak (worker.c) */
    _Alignas(WYN_CACHELINE) wyn__spinlock gq_lock;
    wyn_co           **gq_ring;
    int64_t            gq_mask, gq_head;   /* capacity - 1; slot of the oldest */
    _Atomic int64_t    gq_size;
    /* ids handed to workers in blocks */
    _Atomic uint64_t   next_id;
    _Atomic uint64_t   ext_spawned;      /* spawns from non-worker threads */
    _Atomic long       ext_inflight;     /* non-worker spawns inside the runtime now */
    _Atomic uint64_t   abandoned;
} wyn__runtime;

extern wyn__runtime wyn__rt;

/* ---- workers (worker.c) ---- */
struct wyn__worker {
    wyn__deque         dq;
    _Alignas(WYN_CACHELINE) _Atomic(wyn_co *) runnext;  /* just readied here; owner and monitor */
    wyn__gate          gate;             /* guards runnext and the local queue (gate.h) */
    wyn_co            *current;          /* running coroutine, NULL on the scheduler stack */
    wyn__ctx           sched_ctx;        /* this thread's own stack */
    int               *errno_loc;        /* this thread's errno */
    unsigned           id;
    uint32_t           fair_rounds;      /* fairness rounds so far (they alternate) */
    uint32_t           timer_countdown;  /* rounds to the next timer check (16) */
    uint32_t           fair_countdown;   /* rounds to the next fairness round (61) */
    uint64_t           rng;
    int64_t            fifo_until;       /* take from the top while top < this (yield) */
    bool               spinning;
    wyn__stack_cache   stacks;
    wyn__rec_cache     recs[WYN__REC_CLASSES];  /* free records per size class (co.c) */
    uint64_t           id_next, id_end;
    _Atomic uint32_t   wake;             /* futex: bit 0 woken for work; +2 per kick */
    /* The local queue: coroutines readied here that other workers do not
     * steal: those pushed out of the next slot by a hand-off (a bounded
     * number, so a communicating group stays on one worker) and those whose
     * deadline expired (API.md: ahead of every unstarted coroutine). Served
     * after the next slot, before the deque; the monitor moves it to the
     * global queue if this worker stops switching (behind the gate). */
    wyn_co            *local_head, *local_tail;
    _Atomic int64_t    local_count;
    wyn__worker       *idle_next;
    pthread_t          thread;
    /* statistics, written by the owner only (relaxed), read by anyone */
    _Atomic uint64_t   st_spawned, st_finished, st_switches, st_steals, st_parks;
    uint64_t           mon_last_switches;   /* monitor's private sample */
};

wyn__worker *wyn__this_worker(void);        /* NULL off worker threads; never cache */
wyn_co      *wyn__running(void);            /* running coroutine or NULL */
/* The caller's wait identity: its coroutine, or its thread's record. */
wyn_co      *wyn__self(void);
wyn_co      *wyn__thread_rec(void);         /* the calling thread's record */

/* A worker's deque holds at most RUNQ_MAX coroutines (a fixed 512 KiB
 * buffer); a push to a full one moves its older half to the global queue. */
#define RUNQ_MAX 65536
void wyn__runq_push(wyn__worker *w, wyn_co *co);   /* w: the caller's own worker */
void wyn__enqueue(wyn_co *co, bool to_next);  /* a RUNNABLE co onto a run queue */
void wyn__enqueue_on(wyn__worker *w, wyn_co *co, bool to_next);  /* w: the caller's worker or NULL */
/* A RUNNABLE co whose deadline expired: ahead of unstarted work. */
void wyn__enqueue_expired(wyn_co *co);
/* Monitor: move a stuck worker's next slot and local queue to the global
 * queue; false if it had none, or was inside an access (try again later). */
bool wyn__rescue_queues(wyn__worker *w);
void wyn__wakep(void);                        /* wake an idle worker if work is surplus */
void wyn__worker_main_loop(wyn__worker *w);
/* What w runs next without its scheduler loop (next slot, local queue,
 * deque), or NULL; every 16th call fires due timers first. */
wyn_co *wyn__take_local(wyn__worker *w);
/* The same without firing timers: for a switch that parks (park.c). */
wyn_co *wyn__take_queued(wyn__worker *w);
/* Fire due timers every 16th call (a cheap countdown otherwise). */
void wyn__timer_round(wyn__worker *w);
static inline void wyn__timer_tick(wyn__worker *w)
{
    if (unlikely(--w->timer_countdown == 0))
        wyn__timer_round(w);
}
/* Make `co` (taken from a run queue) the running coroutine of w. */
void wyn__start_running(wyn__worker *w, wyn_co *co);
/* wyn__switch_to and wyn__switch_away are at the end of this file (inline). */
void wyn__global_push(wyn_co *co);
void wyn__global_free(void);                  /* teardown: the ring's memory */
void wyn__wake_all_workers(void);

/* ---- parking (park.c) ---- */
uint64_t wyn__wait_arm(wyn_co *self);
int  wyn__park(wyn_co *self, uint64_t seq, int64_t deadline, void (*unlock)(void *), void *lock);
/* Wait on nothing: only the deadline (-ETIMEDOUT) or a cancel (-ECANCELED)
 * ends it. The sleeps, a NULL channel and an empty select. */
int  wyn__park_alone(int64_t deadline);
bool wyn__wake(wyn_co *co, uint64_t seq, int result, intptr_t data, bool to_next);
/* Abandon an armed wait that never parked: 1 and the claimer's result in *result
 * if someone claimed it meanwhile, else 0 (disarmed). */
bool wyn__wait_disarm(wyn_co *self, uint64_t seq, int *result);
void wyn__ready(wyn_co *co, bool to_next);
void wyn__ready_expired(wyn_co *co);   /* a timer fired: ahead of unstarted work */

/* Could a wyn_cancel end co's waits? Only through a handle, and nobody holds
 * one for a coroutine spawned without, a plain thread, or a detached one
 * (using a handle after wyn_detach is fatal, co.c), unless a cancel that
 * passed its handle check before the detach is still running. Read by co
 * itself, before it arms the wait.
 * seq_cst, with wyn_cancel's increment and its load of join_word, and
 * wyn_detach's exchange: if we see the detach and a cancel's check did not,
 * the cancel's increment precedes our load of cancels_active, which sees
 * it (the wait then takes the CAS); a cancel that is already over stored
 * `cancelled` before our late check in park reads it. */
static inline bool wyn__cancellable(wyn_co *co)
{
    return co->joinable &&
           (atomic_load_explicit(&co->join_word, memory_order_seq_cst) != JW_DETACHED ||
            atomic_load_explicit(&co->cancels_active, memory_order_seq_cst) != 0);
}

/* ---- timers (timer.c) ---- */
void    wyn__timers_init(void);
void    wyn__timers_fini(void);
void    wyn__timer_add(wyn_co *co, uint64_t seq, int64_t deadline);
void    wyn__timer_del(wyn_co *co);
/* Fire due timers; readied coroutines go to the calling worker's local queue
 * (or the global queue off the workers). Returns how many fired. */
int     wyn__timers_fire(int64_t now);
extern _Atomic int64_t wyn__timer_next;

/* Tell idle workers a timer was added (worker.c): kicks the timer sleeper. */
void    wyn__timer_added(int64_t deadline);

/* ---- coroutine records (co.c) ---- */
int     wyn__spawn(void (*fn)(void *), void *arg, const wyn_spawn_opts *opts, bool is_main);
int     wyn__records_init(void);   /* after the workers exist; -ENOMEM */
/* Free every record (abandoning coroutines still alive); returns how many
 * coroutines were abandoned. Single-threaded: workers have exited. */
uint64_t wyn__records_fini(void);
void    wyn__record_free(wyn__worker *w, wyn_co *co);
bool    wyn__overflow_classify(void *addr, uint64_t *id, size_t *size);

/* ---- runtime (runtime.c) ---- */
uint64_t wyn__alive_estimate(void);
int      wyn__monitor_start(void);
void     wyn__monitor_stop(void);
void     wyn__main_finished(void);
void     wyn__main_returning(void);   /* main_fn returned: stop starting anything */
void     wyn__check_stop(void);

/* A deadline argument: 0 or -EINVAL (API.md: >= 0, or WYN_FOREVER). */
static inline int wyn__deadline_check(int64_t deadline)
{
    return likely(deadline >= WYN_FOREVER) ? 0 : -EINVAL;
}

static inline bool wyn__deadline_passed(int64_t deadline)
{
    return deadline != WYN_FOREVER && (deadline == 0 || deadline <= wyn_now());
}

/* 0: the wait must really block; -ECANCELED / -ETIMEDOUT: it must not. */
static inline int wyn__wait_check(wyn_co *self, int64_t deadline)
{
    if (self->kind == CO_KIND_CORO && atomic_load_explicit(&self->cancelled, memory_order_relaxed))
        return -ECANCELED;
    return wyn__deadline_passed(deadline) ? -ETIMEDOUT : 0;
}

static inline int co_state(wyn_co *co)
{
    return atomic_load_explicit(&co->state, memory_order_acquire);
}

/* ---- switching (inline: the core of every park, yield and exit) ---- */

/* Switch to `next` (taken from a run queue), or to the scheduler if NULL;
 * `after(from, arg)` runs on the other side. dying: self never resumes. */
static WYN_ALWAYS_INLINE void wyn__switch_to(wyn__worker *w, wyn_co *self, wyn_co *next,
                                             wyn__after_fn after, void *arg, bool dying)
{
    /* errno first: wyn__start_running may map a stack, which can set errno.
     * It is read and written through the worker's own errno address, never
     * through a TLS lookup the compiler could reuse across the switch. */
    if (!dying)
        self->saved_errno = *w->errno_loc;
    wyn__ctx *to;
    if (next) {
        wyn__start_running(w, next);
        to = &next->ctx;
    } else {
        w->current = NULL;
        to = &w->sched_ctx;
    }
    wyn__ctx_switch(&self->ctx, to, after, arg, dying);
    /* Resumed, perhaps on another thread (self->worker is the one that
     * resumed us): errno's value comes with us. */
    *self->worker->errno_loc = self->saved_errno;
}

/* Switch the running coroutine away, to what w runs next. */
static WYN_ALWAYS_INLINE void wyn__switch_away(wyn__worker *w, wyn_co *self,
                                               wyn__after_fn after, void *arg, bool dying)
{
    wyn_co *next = NULL;
    if (!atomic_load_explicit(&wyn__rt.stopping, memory_order_relaxed))
        next = wyn__take_local(w);
    wyn__switch_to(w, self, next, after, arg, dying);
}

#endif
