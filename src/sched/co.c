/* co.c — coroutine records and their life: spawn, first entry, exit, join,
 * detach, cancel, sleep.
 *
 * Owns: the record pools (magazines: two per worker and size class, a depot
 *   of full and empty ones, and one more pair for threads that are not
 *   workers), every record chunk ever allocated (for teardown), join_word,
 *   cancelled, and plain threads' wait records.
 * A record is taken at spawn and holds no stack until its first run (the
 *   worker maps or reuses one then), so queued spawns cost records, not stack
 *   pages. Records are never freed while the runtime exists, and wait_word
 *   only grows, so a stale waker's (co, seq) can never claim a reused record.
 * A coroutine spawned without a join handle is freed by its exit step; no
 *   one else can name it. One spawned with a handle (`joinable`) uses
 *   join_word: JW_HELD (handle, no joiner), JW_DETACHED (handle given up), a
 *   joiner's record, or JW_DONE (returned, handle still held). The exit step
 *   exchanges it for JW_DONE and frees the record, wakes the joiner, or
 *   leaves it. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sched.h"

#if !defined(WYN_ASAN) && !defined(WYN_TSAN)
_Static_assert(offsetof(wyn_co, join_word) == WYN_CACHELINE,
               "a spawn's fields must fill exactly the record's first cache line");
#endif

/* Records are carved from chunks: the first of a class is 1 MiB, each later
 * one half of what the class has mapped so far (at most 32 MiB), so a pool
 * that must grow past its old peak overshoots it, and a program whose load
 * peaks a little higher each time stops mapping after a few rounds. */
#define CHUNK_MIN (1u << 20)
#define CHUNK_MAX (32u << 20)

static const size_t class_bytes[WYN__REC_CLASSES] = {0, 64, 256, WYN_ARG_MAX};

/* Free records are held in magazines: arrays of pointers (Bonwick and Adams,
 * "Magazines and Vmem", 2001). Moving a record in or out of one touches
 * only the array, never the record: a record freed on one core and reused
 * by a spawner on another costs that spawner no load of a line the other
 * core owns (an intrusive free list read `next` from every record, a
 * serial chain of cross-core misses that was a fifth of a spawn at 2
 * workers). */
#define MAG_SIZE 64
struct wyn__rec_mag {
    wyn__rec_mag *next;            /* depot list link */
    unsigned      n;               /* records held, rec[0..n) */
    wyn_co       *rec[MAG_SIZE];
};

typedef struct chunk {
    struct chunk *next;
    size_t        bytes;       /* of the mapping */
    size_t        rec_size;
    unsigned      n;
    alignas(WYN_CACHELINE) unsigned char mem[];
} chunk;
/* One mmap per chunk (not malloc: a worker's malloc arena grows by one
 * mprotect per small block, which made a cold spawn cost microseconds). */

/* The depot, under `lock`: full magazines per class (exactly MAG_SIZE
 * records each) and empty ones of any class; plus the cache of threads that
 * are not workers (also under `lock`).
 * Why an empty magazine is always there when a cache needs one: every cache
 * holds two per class; a chunk of n records brings ceil(n / MAG_SIZE). A
 * cache asks for an empty one only with both of its own full, so the full
 * magazines in the depot hold at most (records - 2 * MAG_SIZE) records, and
 * fewer magazines than the chunks brought are in use. */
static struct {
    wyn__spinlock  lock;
    wyn__rec_mag  *full[WYN__REC_CLASSES];
    wyn__rec_mag  *empty;
    wyn__rec_cache offworker[WYN__REC_CLASSES];
    size_t         mapped[WYN__REC_CLASSES];   /* bytes of chunks per class */
    chunk         *chunks;
    wyn__rec_mag  *cache_mags;   /* the caches' own, two per cache and class */
} R;

static size_t rec_size(int cls)
{
    size_t s = sizeof(wyn_co) + class_bytes[cls];
    return (s + WYN_CACHELINE - 1) & ~(size_t)(WYN_CACHELINE - 1);
}

static int class_of(size_t arg_size)
{
    int c = 0;
    while (class_bytes[c] < arg_size)
        c++;
    return c;
}

static void empty_push(wyn__rec_mag *m)   /* R.lock held */
{
    m->next = R.empty;
    R.empty = m;
}

static wyn__rec_mag *empty_pop(void)       /* R.lock held */
{
    wyn__rec_mag *m = R.empty;
    if (!m)
        wyn__fatal("internal error: the record depot ran out of empty magazines");
    R.empty = m->next;
    return m;
}

/* Map a chunk of class `cls`: records, then the magazines that hold them.
 * Returns the first magazine (the only one that may be partly full); the
 * rest come back chained through `next`, all full. NULL if memory ran out. */
static wyn__rec_mag *new_chunk(int cls, size_t bytes, chunk **out_chunk)
{
    size_t rs = rec_size(cls);
    /* Each record costs rs bytes plus 1/MAG_SIZE of a magazine. */
    size_t room = bytes - sizeof(chunk) - sizeof(wyn__rec_mag);
    unsigned nrec = (unsigned)(room * MAG_SIZE / (rs * MAG_SIZE + sizeof(wyn__rec_mag)));
    unsigned nmag = (nrec + MAG_SIZE - 1) / MAG_SIZE;
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    chunk *ch = mem;
    ch->bytes = bytes;
    ch->rec_size = rs;
    ch->n = nrec;
    wyn__rec_mag *mags = (wyn__rec_mag *)(ch->mem + (size_t)nrec * rs);
    WYN_ASSERT((char *)(mags + nmag) <= (char *)mem + bytes);
    /* Magazine 0 takes the remainder; each hands out its lowest address first. */
    unsigned i = 0;
    for (unsigned t = 0; t < nmag; t++) {
        wyn__rec_mag *m = &mags[t];
        m->n = t == 0 ? nrec - (nmag - 1) * MAG_SIZE : MAG_SIZE;
        for (unsigned x = 0; x < m->n; x++, i++) {
            wyn_co *co = (wyn_co *)(ch->mem + i * rs);   /* fresh pages are zero */
            co->size_class = (uint8_t)cls;
            co->timer_index = -1;
            atomic_init(&co->state, CO_FREE);
            /* seq 0, already claimed: no waker (wyn_cancel) may take a wait
             * that was never armed. */
            atomic_init(&co->wait_word, 1);
            m->rec[m->n - 1 - x] = co;
        }
        m->next = t + 1 < nmag ? &mags[t + 1] : NULL;
    }
    *out_chunk = ch;
    return &mags[0];
}

static void cache_free(wyn__rec_cache *c, wyn_co *co, int cls, bool locked);

/* Both of c's magazines are empty: load a full one from the depot, or map a
 * chunk. `locked`: R.lock is held (c is the cache of threads that are not
 * workers) and is held again on return; it is let go while mapping, so
 * another thread may refill c meanwhile. false when memory ran out. */
static bool cache_refill(wyn__rec_cache *c, int cls, bool locked)
{
    if (!locked)
        wyn__spin_lock(&R.lock);
    wyn__rec_mag *full = R.full[cls];
    if (full) {
        R.full[cls] = full->next;
        empty_push(c->prev);
        c->prev = c->loaded;
        c->loaded = full;
        if (!locked)
            wyn__spin_unlock(&R.lock);
        return true;
    }
    size_t bytes = (R.mapped[cls] / 2 + CHUNK_MIN - 1) & ~(size_t)(CHUNK_MIN - 1);
    bytes = bytes < CHUNK_MIN ? CHUNK_MIN : bytes > CHUNK_MAX ? CHUNK_MAX : bytes;
    wyn__spin_unlock(&R.lock);
    chunk *ch;
    wyn__rec_mag *first = new_chunk(cls, bytes, &ch);
    wyn__spin_lock(&R.lock);
    if (first) {
        R.mapped[cls] += bytes;
        ch->next = R.chunks;
        R.chunks = ch;
        for (wyn__rec_mag *m = first->next; m;) {
            wyn__rec_mag *nx = m->next;
            m->next = R.full[cls];
            R.full[cls] = m;
            m = nx;
        }
        if (c->loaded->n == 0) {
            empty_push(c->loaded);
            c->loaded = first;
        } else {
            /* Refilled while we mapped: add our records to what it has. */
            while (first->n)
                cache_free(c, first->rec[--first->n], cls, true);
            empty_push(first);
        }
    }
    if (!locked)
        wyn__spin_unlock(&R.lock);
    return first != NULL;
}

/* Both magazines empty: swap, or refill from the depot or a new chunk. */
static WYN_NOINLINE wyn_co *cache_alloc_slow(wyn__rec_cache *c, int cls, bool locked)
{
    for (;;) {
        wyn__rec_mag *m = c->loaded;
        if (m->n)
            return m->rec[--m->n];
        if (c->prev->n) {
            c->loaded = c->prev;
            c->prev = m;
            continue;
        }
        if (!cache_refill(c, cls, locked))
            return NULL;
    }
}

static inline wyn_co *cache_alloc(wyn__rec_cache *c, int cls, bool locked)
{
    wyn__rec_mag *m = c->loaded;
    if (unlikely(m->n < 2))
        return cache_alloc_slow(c, cls, locked);
    wyn_co *co = m->rec[--m->n];
    /* The next spawn's record was likely freed on another core: ask for
     * its line for writing now, so that spawn need not wait for it. */
    wyn__prefetch_write(m->rec[m->n - 1]);
    return co;
}

static void cache_free(wyn__rec_cache *c, wyn_co *co, int cls, bool locked)
{
    wyn__rec_mag *m = c->loaded;
    if (unlikely(m->n == MAG_SIZE)) {
        /* prev is empty or full (alloc and free keep it so). */
        if (c->prev->n == 0) {
            c->loaded = c->prev;
        } else {
            if (!locked)
                wyn__spin_lock(&R.lock);
            c->prev->next = R.full[cls];
            R.full[cls] = c->prev;
            c->loaded = empty_pop();
            if (!locked)
                wyn__spin_unlock(&R.lock);
        }
        c->prev = m;
        m = c->loaded;
    }
    m->rec[m->n++] = co;
}

static wyn_co *rec_alloc(wyn__worker *w, int cls)
{
    if (w)
        return cache_alloc(&w->recs[cls], cls, false);
    wyn__spin_lock(&R.lock);
    wyn_co *co = cache_alloc(&R.offworker[cls], cls, true);
    wyn__spin_unlock(&R.lock);
    return co;
}

void wyn__record_free(wyn__worker *w, wyn_co *co)
{
    int cls = co->size_class;
    /* release: a handle checked later sees FREE only after our last use. */
    atomic_store_explicit(&co->state, CO_FREE, memory_order_release);
    if (w) {
        cache_free(&w->recs[cls], co, cls, false);
        return;
    }
    wyn__spin_lock(&R.lock);
    cache_free(&R.offworker[cls], co, cls, true);
    wyn__spin_unlock(&R.lock);
}

int wyn__records_init(void)
{
    unsigned ncache = wyn__rt.nworkers + 1;
    wyn__rec_mag *mags = calloc(2 * WYN__REC_CLASSES * ncache, sizeof *mags);
    if (!mags)
        return -ENOMEM;
    memset(&R, 0, sizeof R);
    R.cache_mags = mags;
    unsigned k = 0;
    for (unsigned i = 0; i < ncache; i++) {
        wyn__rec_cache *caches = i < wyn__rt.nworkers ? wyn__rt.workers[i]->recs : R.offworker;
        for (int c = 0; c < WYN__REC_CLASSES; c++) {
            caches[c].loaded = &mags[k++];
            caches[c].prev = &mags[k++];
        }
    }
    return 0;
}

uint64_t wyn__records_fini(void)
{
    uint64_t abandoned = 0;
    for (chunk *ch = R.chunks; ch; ch = ch->next) {
        for (unsigned i = 0; i < ch->n; i++) {
            wyn_co *co = (wyn_co *)(ch->mem + i * ch->rec_size);
            int s = atomic_load_explicit(&co->state, memory_order_relaxed);
            if (s == CO_FREE || s == CO_DEAD)
                continue;
            WYN_ASSERT(s == CO_RUNNABLE || s == CO_PARKED);
            /* Unlink it from what it waits on, as if its wait had timed out,
             * so those objects stay usable; then give its stack back. A
             * RUNNABLE one with wait_unlink set was woken (its wait claimed)
             * but never resumed: the hook then does the owner's clean-up. */
            if (co->wait_unlink)
                co->wait_unlink(co, s != CO_PARKED);
            if (co->stack) {
                wyn__ctx_destroy(&co->ctx);
                wyn__stack_put(NULL, co->stack);
                co->stack = NULL;
            }
            atomic_store_explicit(&co->state, CO_FREE, memory_order_relaxed);
            abandoned++;
        }
    }
    while (R.chunks) {
        chunk *ch = R.chunks;
        R.chunks = ch->next;
        munmap(ch, ch->bytes);
    }
    free(R.cache_mags);
    memset(&R, 0, sizeof R);
    return abandoned;
}

/* ---- plain threads' wait records ------------------------------------------ */

static _Thread_local wyn_co *tls_thread_rec;
static pthread_key_t  thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static wyn__spinlock  thread_recs_lock;
static wyn_co        *thread_recs_free;   /* never freed: late futex wakes stay harmless */

static void thread_rec_release(void *p)
{
    wyn_co *co = p;
    wyn__spin_lock(&thread_recs_lock);
    co->next = thread_recs_free;
    thread_recs_free = co;
    wyn__spin_unlock(&thread_recs_lock);
}

static void thread_key_make(void) { pthread_key_create(&thread_key, thread_rec_release); }

WYN_NOINLINE wyn_co *wyn__thread_rec(void)
{
    __asm__ volatile("" ::: "memory");
    wyn_co *co = tls_thread_rec;
    if (co)
        return co;
    pthread_once(&thread_key_once, thread_key_make);
    wyn__spin_lock(&thread_recs_lock);
    co = thread_recs_free;
    if (co)
        thread_recs_free = co->next;
    wyn__spin_unlock(&thread_recs_lock);
    if (!co) {
        co = aligned_alloc(WYN_CACHELINE, (sizeof(wyn_co) + WYN_CACHELINE - 1) &
                                              ~(size_t)(WYN_CACHELINE - 1));
        if (!co)
            wyn__fatal("out of memory for a thread's wait record");
        memset(co, 0, sizeof *co);
        co->kind = CO_KIND_THREAD;
        co->timer_index = -1;
        atomic_init(&co->wait_word, 1);   /* see new_chunk */
        atomic_init(&co->state, CO_RUNNING);
    }
    tls_thread_rec = co;
    pthread_setspecific(thread_key, co);
    return co;
}


/* ---- spawn, entry, exit --------------------------------------------------- */

static uint64_t new_id(wyn__worker *w)
{
    /* relaxed: ids need only be unique, which the RMW gives in any order. */
    if (!w)
        return atomic_fetch_add_explicit(&wyn__rt.next_id, 1, memory_order_relaxed);
    if (w->id_next == w->id_end) {
        w->id_next = atomic_fetch_add_explicit(&wyn__rt.next_id, 1024, memory_order_relaxed);
        w->id_end = w->id_next + 1024;
    }
    return w->id_next++;
}

/* The spawn itself, arguments already checked. w: the calling worker, or NULL. */
static int spawn_on(wyn__worker *w, void (*fn)(void *), void *arg, const wyn_spawn_opts *opts,
                    bool is_main)
{
    const void *copy = opts ? opts->arg_copy : NULL;
    size_t arg_size = opts ? opts->arg_size : 0;
    size_t req = opts ? opts->stack_size : 0;
    wyn_co **join = opts ? opts->join : NULL;
    size_t ss = req ? wyn__stack_round(req) : wyn__rt.stack_size;
    if (!ss)
        return -ENOMEM;
    if (wyn__stack_reserve(w ? &w->stacks : NULL, ss) < 0)
        return -ENOMEM;
    wyn_co *co = rec_alloc(w, class_of(copy ? arg_size : 0));
    if (!co)
        return -ENOMEM;
    co->fn = fn;
    co->arg = copy ? memcpy(co->argbuf, copy, arg_size) : arg;
    co->stack = NULL;
    co->stack_kib = (uint32_t)(ss >> 10);
    co->is_main = is_main;
    co->worker = w;
    co->id = new_id(w);
    atomic_store_explicit(&co->cancelled, false, memory_order_relaxed);
    atomic_store_explicit(&co->state, CO_RUNNABLE, memory_order_relaxed);
    co->joinable = join != NULL;
    if (join) {
        atomic_store_explicit(&co->join_word, JW_HELD, memory_order_relaxed);
        *join = co;
    }
    /* The queue push below publishes the record (release); spawn happens
     * before the coroutine starts. */
    if (w) {
        /* release: pairs with wyn__alive_estimate's acquire loads (wyn_stop). */
        atomic_store_explicit(&w->st_spawned,
                              atomic_load_explicit(&w->st_spawned, memory_order_relaxed) + 1,
                              memory_order_release);
        wyn__runq_push(w, co);
    } else {
        /* release: as st_spawned above. */
        atomic_fetch_add_explicit(&wyn__rt.ext_spawned, 1, memory_order_release);
        wyn__global_push(co);
    }
    wyn__wakep();
    return 0;
}

/* Wait out a pause of spawns (wyn_stop deciding whether anything is alive;
 * it lasts one look at the counters) and return the state it ended in.
 * acquire: as the spawn's own load of `accepting`. */
static WYN_NOINLINE int accepting_settled(void)
{
    int acc;
    while ((acc = atomic_load_explicit(&wyn__rt.accepting, memory_order_acquire)) == ACCEPT_PAUSED)
        sched_yield();
    return acc;
}

int wyn__spawn(void (*fn)(void *), void *arg, const wyn_spawn_opts *opts, bool is_main)
{
    if (!fn)
        return -EINVAL;
    if (opts && ((opts->arg_size && !opts->arg_copy) || opts->arg_size > WYN_ARG_MAX ||
                 (arg && opts->arg_copy)))
        return -EINVAL;
    wyn__worker *w = wyn__this_worker();
    if (w) {
        /* acquire: pairs with runtime start's release; the runtime is set up.
         * A worker's spawn cannot race teardown: its worker exits only after
         * the spawning coroutine has switched away. A pause (wyn_stop
         * looking) ends with spawns accepted again, since we are alive. */
        if (unlikely(atomic_load_explicit(&wyn__rt.accepting, memory_order_acquire) != ACCEPT_YES) &&
            accepting_settled() == ACCEPT_NO)
            return -ESRCH;
        return spawn_on(w, fn, arg, opts, is_main);
    }
    /* A plain thread (or wyn_run's main spawn) counts itself in ext_inflight
     * while it uses the runtime: teardown stops accepting, then waits for
     * the count to drop to 0, so it never frees what such a spawn touches;
     * wyn_stop pauses spawns and re-checks for any that got in before.
     * seq_cst: Dekker with teardown (it stores accepting, then reads this). */
    for (;;) {
        atomic_fetch_add_explicit(&wyn__rt.ext_inflight, 1, memory_order_seq_cst);
        int acc = atomic_load_explicit(&wyn__rt.accepting, memory_order_seq_cst);
        int rc = -ESRCH;
        if (acc == ACCEPT_YES)
            rc = spawn_on(NULL, fn, arg, opts, is_main);
        /* release: teardown's acquire load of 0 sees everything this spawn did. */
        atomic_fetch_sub_explicit(&wyn__rt.ext_inflight, 1, memory_order_release);
        if (acc != ACCEPT_PAUSED)
            return rc;
        /* wyn_stop is deciding (it waits for ext_inflight to be 0 first):
         * wait outside, then try again. */
        accepting_settled();
    }
}

int wyn_spawn(void (*fn)(void *), void *arg) { return wyn__spawn(fn, arg, NULL, false); }

int wyn_spawn_ex(void (*fn)(void *), void *arg, const wyn_spawn_opts *opts)
{
    return wyn__spawn(fn, arg, opts, false);
}

/* Free the record of a coroutine that had a handle, once no wyn_cancel is
 * inside it. A cancel that passed its handle check just before another
 * thread consumed the handle (wyn_join, wyn_detach) must not go on to
 * cancel a stranger reusing the record, nor claim a wait that the
 * stranger's channel counterpart claims with a plain store (chan.h).
 * seq_cst: the consuming exchange or load precedes this load in the single
 * order, and such a cancel's increment precedes its check, which read the
 * handle before the consumption; so this load sees the increment. A cancel
 * that increments later starts after the consumption: a misuse, caught by
 * check_handle until the record is reused (API.md). */
static void free_handle_record(wyn__worker *w, wyn_co *co)
{
    unsigned spins = 0;
    while (atomic_load_explicit(&co->cancels_active, memory_order_seq_cst) != 0)
        wyn__wait_step(&spins);   /* a cancel lasts microseconds */
    wyn__record_free(w, co);
}

static void after_exit(wyn__ctx *from, void *arg)
{
    wyn_co *co = (wyn_co *)((char *)from - offsetof(wyn_co, ctx));
    wyn__worker *w = arg;   /* after-steps run on the switching thread */
    wyn__ctx_destroy(&co->ctx);
    wyn__stack_put(&w->stacks, co->stack);
    co->stack = NULL;
    /* release: a wyn_stop that sees this finish (acquire, in
     * wyn__alive_estimate) also sees every spawn that happened before it. */
    atomic_store_explicit(&w->st_finished,
                          atomic_load_explicit(&w->st_finished, memory_order_relaxed) + 1,
                          memory_order_release);
    if (co->is_main) {
        wyn__record_free(w, co);
        wyn__main_finished();
        return;
    }
    if (!co->joinable) {   /* no handle can ever see it: free it at once */
        wyn__record_free(w, co);
        return;
    }
    /* release: what the coroutine did is visible to a joiner that sees DEAD. */
    atomic_store_explicit(&co->state, CO_DEAD, memory_order_release);
    /* acq_rel: release as above; acquire reads the joiner's joiner_seq.
     * seq_cst: for free_handle_record. */
    uintptr_t j = atomic_exchange_explicit(&co->join_word, JW_DONE, memory_order_seq_cst);
    if (j == JW_DETACHED)
        free_handle_record(w, co);
    else if (j != JW_HELD)
        wyn__wake((wyn_co *)j, co->joiner_seq, 0, 0, true);
}

static WYN_NOINLINE void errno_clear(void) { errno = 0; }

void wyn__co_entry(void)
{
    wyn_co *self = wyn__running();
    errno_clear();
    self->fn(self->arg);
    /* Like Go's main returning: from here nothing is started or resumed again,
     * so stop before switching (the switch would otherwise start another). */
    if (self->is_main)
        wyn__main_returning();
    /* Re-read: fn may have switched, so we may be on another worker now. */
    wyn__worker *w = wyn__this_worker();
    wyn__switch_away(w, w->current, after_exit, w, true);
    wyn__fatal("internal error: a finished coroutine was resumed");
}

/* ---- handles: join, detach, cancel ----------------------------------------- */

/* A handle is valid from its spawn until wyn_join returns 0 or wyn_detach:
 * a freed record, one reused by a spawn without a handle, or a detached one
 * means the caller holds a stale handle. (Channel waits of a coroutine nobody
 * can cancel take a cheaper claim, chan.c; a cancel through a stale handle
 * must not reach them.) */
static void check_handle(wyn_co *co, const char *what)
{
    if (atomic_load_explicit(&co->state, memory_order_acquire) == CO_FREE || !co->joinable)
        wyn__fatal("%s: handle used after wyn_join or wyn_detach", what);
    /* seq_cst: see wyn__cancellable. */
    if (atomic_load_explicit(&co->join_word, memory_order_seq_cst) == JW_DETACHED)
        wyn__fatal("%s: coroutine #%llu was detached: its handle is no longer valid", what,
                   (unsigned long long)co->id);
}

static void join_unlink(wyn_co *self, bool woken)
{
    (void)woken;   /* unlinking is right either way: the CAS fails if it finished */
    wyn_co *co = self->wait_obj;
    uintptr_t expect = (uintptr_t)self;
    /* relaxed: nothing is published by taking our name back, and an RMW
     * never breaks the exit step's release sequence on join_word. */
    atomic_compare_exchange_strong_explicit(&co->join_word, &expect, JW_HELD,
                                            memory_order_relaxed, memory_order_relaxed);
}

int wyn_join(wyn_co *co, int64_t deadline)
{
    if (!co)
        return -EINVAL;
    int rc = wyn__deadline_check(deadline);
    if (rc)
        return rc;
    wyn_co *self = wyn__self();
    if (co == self)
        return -EDEADLK;
    check_handle(co, "wyn_join");
    /* acquire: pairs with the exit step's release exchange. */
    uintptr_t j = atomic_load_explicit(&co->join_word, memory_order_acquire);
    if (j == JW_DETACHED)
        wyn__fatal("wyn_join: coroutine #%llu was detached", (unsigned long long)co->id);
    if (j != JW_HELD && j != JW_DONE)
        wyn__fatal("wyn_join: coroutine #%llu is already being joined", (unsigned long long)co->id);
    if (j == JW_HELD) {
        rc = wyn__wait_check(self, deadline);
        if (rc)
            return rc;
        uint64_t seq = wyn__wait_arm(self);
        co->joiner_seq = seq;
        uintptr_t expect = JW_HELD;
        /* release: joiner_seq is visible to the exit step's acquire exchange. */
        if (atomic_compare_exchange_strong_explicit(&co->join_word, &expect, (uintptr_t)self,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            self->wait_obj = co;
            self->wait_unlink = join_unlink;
            rc = wyn__park(self, seq, deadline, NULL, NULL);
            self->wait_unlink = NULL;
            if (rc != 0) {
                join_unlink(self, true);   /* fails harmlessly if it finished meanwhile */
                return rc;
            }
        } else {
            if (expect != JW_DONE)
                wyn__fatal("wyn_join: coroutine #%llu is already being joined",
                           (unsigned long long)co->id);
            int ignored;
            wyn__wait_disarm(self, seq, &ignored);   /* it finished: no need to wait */
        }
    }
    free_handle_record(wyn__this_worker(), co);
    return 0;
}

void wyn_detach(wyn_co *co)
{
    if (!co)
        return;
    check_handle(co, "wyn_detach");
    /* seq_cst: acq_rel for the record's release, and in the single order
     * that wyn__cancellable's argument needs. */
    uintptr_t j = atomic_exchange_explicit(&co->join_word, JW_DETACHED, memory_order_seq_cst);
    if (j == JW_DONE)
        free_handle_record(wyn__this_worker(), co);
    else if (j == JW_DETACHED)
        wyn__fatal("wyn_detach: coroutine #%llu was already detached", (unsigned long long)co->id);
    else if (j != JW_HELD)
        wyn__fatal("wyn_detach: coroutine #%llu is being joined", (unsigned long long)co->id);
}

/* Claim co's wait for a cancel if one is armed: true if we won it. */
static bool cancel_armed_wait(wyn_co *co)
{
    /* seq_cst: after our store of `cancelled` in the single order. */
    uint64_t word = atomic_load_explicit(&co->wait_word, memory_order_seq_cst);
    if (word & 1)
        return false;
    /* Losing means another waker is readying co now; co may then run and
     * arm its next wait as in the unarmed case, so the caller treats a loss
     * like finding no wait (nothing but the heavy fence orders our store
     * before that wait's check: the claims are only acquire). */
    return wyn__wake(co, word >> 1, -ECANCELED, 0, false);
}

/* $WYN_DEBUG_CANCEL_DELAY_US: widen the window in which the handle may be
 * consumed by another thread (tests/sched/cancel_consume_race.c). */
static WYN_NOINLINE void cancel_debug_stall(void)
{
    atomic_fetch_add_explicit(&wyn__rt.debug_cancel_stalls, 1, memory_order_relaxed);
    int64_t until = wyn_now() + wyn__rt.debug_cancel_delay_ns;
    while (wyn_now() < until)
        wyn__cpu_relax();
}

static void cancel_live(wyn_co *co)
{
    /* Dekker's pattern with wyn__park: co arms its wait (a store), then
     * loads `cancelled`; we store `cancelled`, then load the wait. co has no
     * fence between its two (parks stay free of locked instructions), so
     * when we win no armed wait, co may be arming one right now, its store
     * still in its processor's store buffer and its load already done. The
     * heavy fence makes every running thread execute a full barrier: after
     * it, either co's arming store is visible to our second look, or co's
     * load comes after the barrier and sees our store; so does every later
     * wait's. A second look that finds nothing, or loses, is then fine. A
     * cancel of a waiting coroutine (the usual case) needs only the first
     * look. (Without membarrier, park fences and the heavy fence is an
     * ordinary one: sys.c.)
     * seq_cst: our store precedes our loads (on x86 an exchange). */
    atomic_store_explicit(&co->cancelled, true, memory_order_seq_cst);
    if (!cancel_armed_wait(co)) {
        wyn__fence_heavy();
        cancel_armed_wait(co);
    }
}

int wyn_cancel(wyn_co *co)
{
    if (!co)
        return -EINVAL;
    /* Counted from before the handle check, so a wyn_detach on another
     * thread that overlaps this call (the check passed, the detach landed)
     * leaves co's next channel waits on the CAS (wyn__cancellable).
     * seq_cst: ahead of check_handle's load in the single order. */
    atomic_fetch_add_explicit(&co->cancels_active, 1, memory_order_seq_cst);
    check_handle(co, "wyn_cancel");
    if (unlikely(wyn__rt.debug_cancel_delay_ns))
        cancel_debug_stall();
    if (atomic_load_explicit(&co->state, memory_order_acquire) != CO_DEAD)
        cancel_live(co);
    /* release: our look at co's waits is over once this is seen. */
    atomic_fetch_sub_explicit(&co->cancels_active, 1, memory_order_release);
    return 0;
}

int wyn_cancelled(void)
{
    wyn_co *co = wyn__running();
    return co && atomic_load_explicit(&co->cancelled, memory_order_relaxed);
}

uint64_t wyn_self(void)
{
    wyn_co *co = wyn__running();
    return co ? co->id : 0;
}

/* ---- sleeping ----------------------------------------------------------- */

int wyn_sleep_until(int64_t deadline)
{
    int rc = wyn__deadline_check(deadline);
    if (rc)
        return rc;
    /* A passed deadline needs no wait: done, even if cancelled (API.md). */
    if (wyn__deadline_passed(deadline))
        return 0;
    rc = wyn__park_alone(deadline);
    return rc == -ETIMEDOUT ? 0 : rc;
}

int wyn_sleep(int64_t ns)
{
    if (ns <= 0)
        return 0;
    return wyn_sleep_until(wyn_deadline(ns));
}

bool wyn__overflow_classify(void *addr, uint64_t *id, size_t *size)
{
    wyn_co *co = wyn__running();
    if (!co || !co->stack)
        return false;
    char *lo = co->stack->lo;
    if ((char *)addr < lo - WYN_STACK_GUARD || (char *)addr >= lo)
        return false;
    *id = co->id;
    *size = co->stack->size;
    return true;
}
