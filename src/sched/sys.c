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
#include <sys/mman.h>
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
 * inter-processor interrupts to the CPUs running our threads. Where the
 * kernel refuses it (older than 4.14, or a sandbox), taking write access
 * away from a page of ours does it too: the kernel must then flush that
 * page from the TLB of every CPU that runs our address space, by an
 * interrupt, which drains the CPU's store buffer. $WYN_FENCE=mprotect
 * forces that fallback (for tests). */
static pthread_once_t fence_once = PTHREAD_ONCE_INIT;
static _Atomic int    fence_membarrier;   /* 1: registered for membarrier */
static wyn__spinlock  fence_lock;         /* one page protection change at a time */
static _Alignas(4096) char fence_page[4096];

static void fence_setup(void)
{
    const char *e = getenv("WYN_FENCE");
    if (e && strcmp(e, "mprotect") == 0)
        return;
    if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
        atomic_store_explicit(&fence_membarrier, 1, memory_order_relaxed);
}

void wyn__fence_heavy_init(void) { pthread_once(&fence_once, fence_setup); }

void wyn__fence_heavy(void)
{
    /* relaxed: set once before the runtime accepts work (whose release
     * publishes it to every thread that can get here). */
    if (atomic_load_explicit(&fence_membarrier, memory_order_relaxed) &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0)
        return;
    wyn__spin_lock(&fence_lock);
    /* The write makes the page present and writable in our page table, so
     * taking write access away changes an entry that CPUs may cache. */
    *(volatile char *)fence_page = 1;
    if (mprotect(fence_page, sizeof fence_page, PROT_READ) != 0 ||
        mprotect(fence_page, sizeof fence_page, PROT_READ | PROT_WRITE) != 0)
        wyn__fatal("heavy fence: mprotect failed: %s", strerror(errno));
    wyn__spin_unlock(&fence_lock);
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
