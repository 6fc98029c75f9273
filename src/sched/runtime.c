/* runtime.c — a runtime's life: configuration, start, run, stop, teardown,
 * and the statistics that outlive it.
 *
 * Owns: wyn__rt (set up here, torn down here), the worker threads, and the
 *   last runtime's final figures.
 * Shutdown: stop accepting spawns, set `stopping`, wake every worker; each
 *   exits once its running coroutine reaches a switch point. Then, with no
 *   other thread left inside the runtime, coroutines still alive are
 *   abandoned (unlinked from their waits, stacks returned) and every stack
 *   is checked back: a missing one is a leak and a fatal error. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

wyn__runtime wyn__rt;

static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guards wyn__rt.workers against teardown for wyn_stats_get, and last_stats.
 * Teardown takes it only after the workers have exited, so a coroutine that
 * asks for figures during shutdown never blocks its worker's exit. */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
/* The lifecycle, changed under life_lock (held only for the changes, never
 * while waiting): NONE -> EMBEDDED (wyn_start) -> STOPPING (wyn_stop waits)
 * -> NONE, or NONE -> RUN (wyn_run) -> NONE. Any start while not NONE is -EBUSY. */
static enum { RT_NONE, RT_EMBEDDED, RT_RUN, RT_STOPPING } rt_mode;
static wyn_stats last_stats;

static size_t parse_size(const char *s)
{
    if (!s || !*s)
        return 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'k' || *end == 'K')
        v <<= 10;
    else if (*end == 'm' || *end == 'M')
        v <<= 20;
    return (size_t)v;
}

static unsigned cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    return 1;
}

static bool env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && strcmp(v, value) == 0;
}

static void *worker_thread(void *arg)
{
    wyn__worker *w = arg;
    (void)wyn__overflow_thread_init();
    wyn__worker_main_loop(w);
    wyn__overflow_thread_fini();
    return NULL;
}

static void free_workers(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        wyn__worker *w = wyn__rt.workers[i];
        if (!w)
            continue;
        wyn__stack_cache_flush(&w->stacks);
        wyn__deque_destroy(&w->dq);
        free(w);
    }
    free(wyn__rt.workers);
    wyn__rt.workers = NULL;
    wyn__global_free();
}

static void collect_stats(wyn_stats *s)
{
    memset(s, 0, sizeof *s);
    s->workers = wyn__rt.nworkers;
    uint64_t pooled = wyn__stacks_pooled_shared();
    /* Every worker's finished count before any spawned count, as in
     * wyn__alive_estimate: a coroutine spawned on one worker and finished on
     * another is then never counted finished but not spawned (acquire: a
     * finish we see makes its spawn's count visible). */
    for (unsigned i = 0; i < wyn__rt.nworkers; i++)
        s->finished += atomic_load_explicit(&wyn__rt.workers[i]->st_finished, memory_order_acquire);
    for (unsigned i = 0; i < wyn__rt.nworkers; i++) {
        wyn__worker *w = wyn__rt.workers[i];
        s->spawned += atomic_load_explicit(&w->st_spawned, memory_order_acquire);
        s->switches += atomic_load_explicit(&w->st_switches, memory_order_relaxed);
        s->steals += atomic_load_explicit(&w->st_steals, memory_order_relaxed);
        s->parks += atomic_load_explicit(&w->st_parks, memory_order_relaxed);
        pooled += atomic_load_explicit(&w->stacks.count, memory_order_relaxed);
    }
    s->spawned += atomic_load_explicit(&wyn__rt.ext_spawned, memory_order_acquire);
    s->abandoned = atomic_load_explicit(&wyn__rt.abandoned, memory_order_relaxed);
    uint64_t gone = s->finished + s->abandoned;
    s->alive = s->spawned > gone ? s->spawned - gone : 0;
    s->stacks_pooled = pooled;
    s->stacks_mapped = wyn__stacks_mapped();
}

uint64_t wyn__alive_estimate(void)
{
    /* Finished counts first, then spawned: a coroutine alive while we read
     * is counted in spawned and not in finished, so a live one never makes
     * this 0 (acquire: pairs with the release stores of the counters, so a
     * spawn that happened before a finish we saw is seen too). */
    uint64_t fin = 0, sp = 0;
    for (unsigned i = 0; i < wyn__rt.nworkers; i++)
        fin += atomic_load_explicit(&wyn__rt.workers[i]->st_finished, memory_order_acquire);
    for (unsigned i = 0; i < wyn__rt.nworkers; i++)
        sp += atomic_load_explicit(&wyn__rt.workers[i]->st_spawned, memory_order_acquire);
    sp += atomic_load_explicit(&wyn__rt.ext_spawned, memory_order_acquire);
    return sp > fin ? sp - fin : 0;
}

void wyn__check_stop(void)
{
    if (atomic_load_explicit(&wyn__rt.stop_requested, memory_order_acquire) &&
        wyn__alive_estimate() == 0) {
        atomic_fetch_add_explicit(&wyn__rt.stop_word, 1, memory_order_release);
        wyn__futex_wake(&wyn__rt.stop_word, 1 << 30);
    }
}

void wyn__main_returning(void)
{
    /* Like Go's main returning: no more spawns, nothing started or resumed
     * again (workers check `stopping` before they start a coroutine). */
    atomic_store_explicit(&wyn__rt.accepting, ACCEPT_NO, memory_order_seq_cst);
    atomic_store_explicit(&wyn__rt.stopping, 1, memory_order_seq_cst);
}

void wyn__main_finished(void)
{
    wyn__main_returning();
    atomic_fetch_add_explicit(&wyn__rt.stop_word, 1, memory_order_release);
    wyn__futex_wake(&wyn__rt.stop_word, 1 << 30);
}

static int start_locked(const wyn_config *cfg)
{
    if (rt_mode != RT_NONE)
        return -EBUSY;
    unsigned nw = cfg ? cfg->workers : 0;
    if (!nw) {
        const char *e = getenv("WYN_WORKERS");
        nw = e ? (unsigned)strtoul(e, NULL, 10) : 0;
        if (!nw)
            nw = cpu_count();
    }
    if (nw > 1024)
        return -EINVAL;
    size_t ss = cfg ? cfg->stack_size : 0;
    if (!ss)
        ss = parse_size(getenv("WYN_STACK_SIZE"));
    if (!ss)
        ss = 64 * 1024;
    ss = wyn__stack_round(ss);
    if (!ss)
        return -EINVAL;

    pthread_mutex_lock(&stats_lock);   /* wyn_stats_get must not see a half-built runtime */
    memset(&wyn__rt, 0, sizeof wyn__rt);
    wyn__rt.gq_mask = -1;   /* no ring yet: the first push allocates it */
    wyn__rt.nworkers = nw;
    wyn__rt.stack_size = ss;
    wyn__rt.debug_migrate = env_is("WYN_DEBUG_MIGRATE", "1");
    wyn__rt.monitor_rescue = !env_is("WYN_MONITOR", "off");
    const char *delay = getenv("WYN_DEBUG_CANCEL_DELAY_US");
    wyn__rt.debug_cancel_delay_ns = delay ? strtoll(delay, NULL, 10) * 1000 : 0;
    atomic_store(&wyn__rt.next_id, 1);
    wyn__rt.workers = calloc(nw, sizeof *wyn__rt.workers);
    if (!wyn__rt.workers) {
        pthread_mutex_unlock(&stats_lock);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < nw; i++) {
        wyn__worker *w = aligned_alloc(WYN_CACHELINE, (sizeof *w + WYN_CACHELINE - 1) &
                                                          ~(size_t)(WYN_CACHELINE - 1));
        if (!w || (memset(w, 0, sizeof *w), wyn__deque_init(&w->dq, RUNQ_MAX)) != 0) {
            free(w);
            free_workers(i);
            pthread_mutex_unlock(&stats_lock);
            return -ENOMEM;
        }
        w->id = i;
        w->dq.single = nw == 1;
        wyn__rt.workers[i] = w;
    }
    if (wyn__records_init() != 0) {
        free_workers(nw);
        pthread_mutex_unlock(&stats_lock);
        return -ENOMEM;
    }
    pthread_mutex_unlock(&stats_lock);
    wyn__stacks_init(ss);
    wyn__timers_init();
    wyn__fence_heavy_init();
    wyn__overflow_install(wyn__overflow_classify);
    /* release: a spawner that sees accepting (acquire) sees all of the above. */
    atomic_store_explicit(&wyn__rt.accepting, ACCEPT_YES, memory_order_release);

    /* Workers block asynchronous signals so they reach the program's own
     * threads; faults stay deliverable (a blocked SIGSEGV would kill us
     * without the overflow report). */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    unsigned started = 0;
    int rc = 0;
    for (; started < nw; started++)
        if (pthread_create(&wyn__rt.workers[started]->thread, NULL, worker_thread,
                           wyn__rt.workers[started]) != 0)
            break;
    if (started < nw || wyn__monitor_start() != 0)
        rc = -EAGAIN;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        atomic_store(&wyn__rt.accepting, ACCEPT_NO);
        atomic_store(&wyn__rt.stopping, 1);
        wyn__wake_all_workers();
        for (unsigned i = 0; i < started; i++)
            pthread_join(wyn__rt.workers[i]->thread, NULL);
        (void)wyn__records_fini();
        pthread_mutex_lock(&stats_lock);
        free_workers(nw);
        pthread_mutex_unlock(&stats_lock);
        (void)wyn__stacks_fini();
        wyn__timers_fini();
        return rc;
    }
    return 0;
}

/* Stop accepting spawns (ACCEPT_NO, for good; ACCEPT_PAUSED, while wyn_stop
 * looks whether anything is alive: spawns then wait instead of failing) and
 * wait for plain-thread spawns already inside. */
static void stop_accepting(int how)
{
    atomic_store_explicit(&wyn__rt.accepting, how, memory_order_seq_cst);
    /* acquire: pairs with the spawn's release decrement. */
    while (atomic_load_explicit(&wyn__rt.ext_inflight, memory_order_acquire) != 0)
        sched_yield();
}

static void shutdown_locked(void)
{
    stop_accepting(ACCEPT_NO);
    atomic_store_explicit(&wyn__rt.stopping, 1, memory_order_seq_cst);
    /* The monitor first: it must not fire timers or move work once the
     * workers are gone. */
    wyn__monitor_stop();
    wyn__wake_all_workers();
    for (unsigned i = 0; i < wyn__rt.nworkers; i++)
        pthread_join(wyn__rt.workers[i]->thread, NULL);
    /* Single-threaded from here on, but for wyn_stats_get callers. */
    pthread_mutex_lock(&stats_lock);
    for (unsigned i = 0; i < wyn__rt.nworkers; i++)
        wyn__stack_cache_flush(&wyn__rt.workers[i]->stacks);
    atomic_store(&wyn__rt.abandoned, wyn__records_fini());
    collect_stats(&last_stats);
    last_stats.alive = 0;
    last_stats.stacks_pooled = last_stats.stacks_mapped;
    size_t leaked = wyn__stacks_fini();
    if (leaked)
        wyn__fatal("internal error: %zu coroutine stacks leaked at shutdown", leaked);
    free_workers(wyn__rt.nworkers);
    pthread_mutex_unlock(&stats_lock);
    wyn__timers_fini();
    rt_mode = RT_NONE;
}

int wyn_start(const wyn_config *cfg)
{
    pthread_mutex_lock(&life_lock);
    int rc = start_locked(cfg);
    if (rc == 0)
        rt_mode = RT_EMBEDDED;
    pthread_mutex_unlock(&life_lock);
    return rc;
}

int wyn_run(void (*main_fn)(void *), void *arg, const wyn_config *cfg)
{
    if (!main_fn)
        return -EINVAL;
    if (wyn__running())
        return -EBUSY;
    pthread_mutex_lock(&life_lock);
    int rc = start_locked(cfg);
    if (rc == 0)
        rt_mode = RT_RUN;
    pthread_mutex_unlock(&life_lock);
    if (rc)
        return rc;
    uint32_t seen = atomic_load_explicit(&wyn__rt.stop_word, memory_order_acquire);
    rc = wyn__spawn(main_fn, arg, NULL, true);
    if (rc == 0) {
        while (!atomic_load_explicit(&wyn__rt.stopping, memory_order_acquire)) {
            wyn__futex_wait(&wyn__rt.stop_word, seen, WYN_FOREVER);
            seen = atomic_load_explicit(&wyn__rt.stop_word, memory_order_acquire);
        }
    }
    pthread_mutex_lock(&life_lock);
    shutdown_locked();
    pthread_mutex_unlock(&life_lock);
    return rc;
}

int wyn_stop(int64_t deadline)
{
    if (wyn__running())
        return -EDEADLK;
    int rc = wyn__deadline_check(deadline);
    if (rc)
        return rc;
    pthread_mutex_lock(&life_lock);
    if (rt_mode != RT_EMBEDDED) {
        rc = rt_mode == RT_NONE ? -ESRCH : -EBUSY;
        pthread_mutex_unlock(&life_lock);
        return rc;
    }
    rt_mode = RT_STOPPING;
    pthread_mutex_unlock(&life_lock);
    atomic_store_explicit(&wyn__rt.stop_requested, 1, memory_order_seq_cst);
    for (;;) {
        uint32_t seen = atomic_load_explicit(&wyn__rt.stop_word, memory_order_acquire);
        if (wyn__alive_estimate() == 0) {
            /* A plain thread's spawn may have got in meanwhile: pause
             * spawns (they wait, API.md: spawns made meanwhile succeed), and
             * if one got in, accept again and wait for it too. */
            stop_accepting(ACCEPT_PAUSED);
            if (wyn__alive_estimate() == 0)
                break;
            atomic_store_explicit(&wyn__rt.accepting, ACCEPT_YES, memory_order_seq_cst);
            continue;
        }
        if (wyn__futex_wait(&wyn__rt.stop_word, seen, deadline) == -ETIMEDOUT &&
            wyn__alive_estimate() != 0) {
            atomic_store_explicit(&wyn__rt.stop_requested, 0, memory_order_seq_cst);
            pthread_mutex_lock(&life_lock);
            rt_mode = RT_EMBEDDED;   /* the runtime keeps running */
            pthread_mutex_unlock(&life_lock);
            return -ETIMEDOUT;
        }
    }
    pthread_mutex_lock(&life_lock);
    shutdown_locked();
    pthread_mutex_unlock(&life_lock);
    return 0;
}

void wyn_stats_get(wyn_stats *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&stats_lock);
    if (wyn__rt.workers)
        collect_stats(s);
    else
        *s = last_stats;
    pthread_mutex_unlock(&stats_lock);
}
