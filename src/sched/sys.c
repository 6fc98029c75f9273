/* sys.c — thin operating-system wrappers shared by every layer: the futex,
 * the spinlock's slow path, the clock, the heavy fence, and the fatal-error
 * reporter. */
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sched.h"

int64_t wyn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t wyn_deadline(int64_t ns)
{
    if (ns <= 0)
        return 0;
    int64_t now = wyn_now();
    return ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

int wyn__futex_wait(_Atomic uint32_t *word, uint32_t expect, int64_t deadline)
{
    struct timespec ts, *tsp = NULL;
    if (deadline != WYN_FOREVER) {
        ts.tv_sec = deadline / 1000000000;
        ts.tv_nsec = deadline % 1000000000;
        tsp = &ts;
    }
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
    long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expect,
                      tsp, NULL, FUTEX_BITSET_MATCH_ANY);
    if (rc == -1 && errno == ETIMEDOUT)
        return -ETIMEDOUT;
    return 0;
}

void wyn__futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
}

/* ---- the heavy fence -------------------------------------------------------
 * Makes every thread of the process that is running execute a full memory
 * barrier before it returns (a thread that is not running passes one when
 * it is switched back in). With it, the other side of a Dekker pattern
 * needs only a compiler barrier (wyn_cancel against park, co.c). Linux's
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) does exactly this with
 * inter-processor interrupts to the CPUs running our threads.
 * Where the kernel refuses it (older than 4.14, seccomp sandboxes), there is
 * no heavy fence to be had: a TLB shootdown by mprotect is not one, since
 * CPUs with broadcast TLB invalidation (AMD INVLPGB, Linux 6.15+) flush
 * without interrupting anybody. Then the other side pays instead: every park
 * runs a full fence (wyn__fence_light is one), and this "heavy" fence is an
 * ordinary one. $WYN_FENCE=park forces that mode (for tests). */
static pthread_once_t fence_once = PTHREAD_ONCE_INIT;
_Atomic bool          wyn__fence_light_is_full;

static void fence_setup(void)
{
    const char *e = getenv("WYN_FENCE");
    bool forced = e && strcmp(e, "park") == 0;
    if (forced || syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
        atomic_store_explicit(&wyn__fence_light_is_full, true, memory_order_relaxed);
}

void wyn__fence_heavy_init(void) { pthread_once(&fence_once, fence_setup); }

void wyn__fence_heavy(void)
{
    /* relaxed: set once before the runtime accepts work (whose release
     * publishes it to every thread that can get here). */
    if (atomic_load_explicit(&wyn__fence_light_is_full, memory_order_relaxed)) {
        wyn__fence_seq_cst();   /* pairs with the fence in every park */
        return;
    }
    /* Registered, so the kernel accepts the command; if it ever refused,
     * parks (which do not fence in this mode) could lose a cancel. */
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        wyn__fatal("heavy fence: membarrier failed after registration: %s", strerror(errno));
}

void wyn__spin_lock_slow(wyn__spinlock *l)
{
    unsigned spins = 0;
    for (;;) {
        /* relaxed peek: wait for a release without bouncing the line. */
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (++spins < 256)
                wyn__cpu_relax();
            else
                sched_yield();   /* the holder may have been preempted */
        }
        if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
    }
}

void wyn__fatal(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char head[640];
    wyn_co *co = wyn__running();
    if (co)
        snprintf(head, sizeof head, "wyn: fatal: %s\n\ncoroutine #%llu [running]:\n", msg,
                 (unsigned long long)co->id);
    else
        snprintf(head, sizeof head, "wyn: fatal: %s\n\nthread (not a coroutine):\n", msg);
    (void)!write(2, head, strlen(head));
    wyn__backtrace_print(1);
    abort();
}

const char *wyn_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err < 0)
        err = -err;
    const char *d = strerrordesc_np(err);
    return d ? d : "unknown error";
}
