/* monitor.c — the monitor thread (Go's sysmon).
 *
 * Owns: nothing on the hot paths. Every period (20 µs, doubling to 10 ms
 * while there is nothing to do) it
 *   - fires due timers when no worker did (all busy in long computations);
 *   - rescues work stranded behind a coroutine that runs without switching:
 *     a worker whose switch count did not move for a whole period has its
 *     next slot and local queue moved to the global queue, and an idle worker is woken for
 *     its deque (thieves can take that themselves once awake);
 *   - trims pooled stacks that stayed idle for a whole second, beyond the
 *     warm ones kept (every second).
 * $WYN_MONITOR=off (tests only) leaves timers and rescue to the workers, so a
 * lost wake-up in the worker protocol cannot hide behind the monitor. */
#include <pthread.h>
#include <signal.h>

#include "sched.h"

#define PERIOD_MIN_NS   20000LL
#define PERIOD_MAX_NS   10000000LL
#define TRIM_PERIOD_NS  1000000000LL

static struct {
    pthread_t        thread;
    _Atomic uint32_t stop;
} mon;

static bool rescue_stranded(void)
{
    bool did = false;
    for (unsigned i = 0; i < wyn__rt.nworkers; i++) {
        wyn__worker *w = wyn__rt.workers[i];
        uint64_t sw = atomic_load_explicit(&w->st_switches, memory_order_relaxed);
        bool stuck = sw == w->mon_last_switches;
        w->mon_last_switches = sw;
        if (!stuck || wyn__rt.nworkers < 2)
            continue;
        if (wyn__rescue_queues(w))
            did = true;
        if (did || wyn__deque_size(&w->dq) > 0) {
            wyn__wakep();
            did = true;
        }
    }
    return did;
}

static void *monitor_main(void *arg)
{
    (void)arg;
    int64_t period = PERIOD_MIN_NS, last_trim = wyn_now();
    int quiet = 0;
    while (!atomic_load_explicit(&mon.stop, memory_order_acquire)) {
        wyn__futex_wait(&mon.stop, 0, wyn_now() + period);
        bool did = false;
        int64_t now = wyn_now();
        if (wyn__rt.monitor_rescue) {
            if (atomic_load_explicit(&wyn__timer_next, memory_order_relaxed) <= now)
                did |= wyn__timers_fire(now) > 0;
            did |= rescue_stranded();
        }
        if (now - last_trim >= TRIM_PERIOD_NS) {
            wyn__stacks_trim();
            last_trim = now;
        }
        if (did) {
            period = PERIOD_MIN_NS;
            quiet = 0;
        } else if (++quiet >= 50 && period < PERIOD_MAX_NS) {
            period *= 2;
            if (period > PERIOD_MAX_NS)
                period = PERIOD_MAX_NS;
        }
    }
    return NULL;
}

int wyn__monitor_start(void)
{
    atomic_store(&mon.stop, 0);
    return pthread_create(&mon.thread, NULL, monitor_main, NULL) == 0 ? 0 : -EAGAIN;
}

void wyn__monitor_stop(void)
{
    atomic_store_explicit(&mon.stop, 1, memory_order_release);
    wyn__futex_wake(&mon.stop, 1);
    pthread_join(mon.thread, NULL);
}
