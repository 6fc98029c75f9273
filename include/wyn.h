/* wyn.h — the whole public API of wyn, a stackful coroutine runtime for C in the
 * shape of Go's: wyn_spawn is `go`, channels and select behave like Go's, and M
 * coroutines run on N worker threads that balance load by work stealing.
 *
 * Conventions (docs/api.md has the long form):
 * - A call that can fail returns >= 0 on success or a negative errno value
 *   (-ENOMEM, -EINVAL, -ETIMEDOUT, -EPIPE, -ECANCELED ...); wyn_strerror names it.
 *   wyn_chan_make is the one pointer-returning call that fails: NULL and errno.
 * - Scheduling is cooperative: a coroutine gives up its worker only inside
 *   wyn_yield, the sleeps, wyn_join and the blocking calls of channels, select and
 *   synchronisation. After such a call the coroutine may run on another OS thread:
 *   errno's value moves with it, the address of a _Thread_local may not.
 * - Time is int64_t nanoseconds on the monotonic clock (wyn_now). Every call that
 *   can block takes an absolute deadline: WYN_FOREVER waits forever, a passed
 *   instant (0) means "do not wait". A call that returns -ETIMEDOUT or -ECANCELED
 *   has had no effect.
 * - Synchronisation objects are plain structs whose zero value is ready to use:
 *   `wyn_mutex m = {0};`. Do not copy one once used.
 * - Misuse Go would panic on prints `wyn: fatal: <what>`, the coroutine id and a
 *   backtrace, then aborts.
 *
 * Memory model (Go's): spawn -> start of the coroutine; return -> wyn_join
 * returning; a send -> the matching receive completing; a receive from an
 * unbuffered channel -> the matching send completing; the k-th receive from a
 * channel of capacity C -> the (k+C)-th send completing; close -> a receive that
 * returns -EPIPE because of it; unlock -> the next lock; sem release -> the
 * acquire it satisfies; wg_done -> the wg_wait it releases; the once function's
 * return -> every wyn_once_do returning; wyn_cancel -> the -ECANCELED it causes. */
#ifndef WYN_H
#define WYN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WYN_EXPORT __attribute__((visibility("default")))

/* ---- Conventions --------------------------------------------------------- */
WYN_EXPORT const char *wyn_strerror(int err);   /* name of a negative errno value */

/* ---- Runtime ------------------------------------------------------------- */
typedef struct wyn_config {
    unsigned workers;    /* OS threads running coroutines; 0 = $WYN_WORKERS, else CPUs */
    size_t   stack_size; /* default coroutine stack; 0 = $WYN_STACK_SIZE, else 64 KiB  */
} wyn_config;

/* Start the runtime, run main_fn(arg) as a coroutine, return 0 once it has
 * returned and the runtime has shut down (coroutines still alive then are
 * abandoned: unlinked from what they wait on, their stacks unmapped). -EBUSY if
 * a runtime exists, -EINVAL for a bad config, -ENOMEM / -EAGAIN if it cannot start. */
WYN_EXPORT int wyn_run(void (*main_fn)(void *), void *arg, const wyn_config *cfg);
/* Embedding: start the workers and return; any thread may then spawn, use
 * channels and join (a non-coroutine thread blocks itself). */
WYN_EXPORT int wyn_start(const wyn_config *cfg);
/* Wait for every coroutine to finish, then stop the workers: 0, -ETIMEDOUT (the
 * runtime keeps running), -EDEADLK from a coroutine, -ESRCH with no runtime. */
WYN_EXPORT int wyn_stop(int64_t deadline);

/* ---- Coroutines ---------------------------------------------------------- */
#define WYN_FOREVER ((int64_t)-1)
#define WYN_ARG_MAX 1024                      /* largest wyn_spawn_opts.arg_size */

typedef struct wyn_co wyn_co;                 /* a joinable coroutine's handle */
typedef struct wyn_spawn_opts {
    size_t      stack_size;  /* 0 = runtime default; rounded up to pages, min 16 KiB  */
    const void *arg_copy;    /* if set, arg_size bytes are copied into the coroutine and */
    size_t      arg_size;    /*   fn receives a pointer to the copy (max_align_t aligned) */
    wyn_co    **join;        /* if set, receives a handle that wyn_join or wyn_detach must consume */
} wyn_spawn_opts;

/* go fn(arg): 0, -EINVAL (fn NULL), -ENOMEM, -ESRCH (no runtime, or shutting down). */
WYN_EXPORT int wyn_spawn(void (*fn)(void *), void *arg);
/* wyn_spawn with options; opts may be NULL. -EINVAL with no effect for a NULL fn,
 * arg_size without arg_copy or above WYN_ARG_MAX, or both arg and arg_copy. */
WYN_EXPORT int wyn_spawn_ex(void (*fn)(void *), void *arg, const wyn_spawn_opts *opts);
/* Wait for co to return, then consume the handle: 0; -ETIMEDOUT (handle kept);
 * -ECANCELED (caller cancelled; handle kept); -EDEADLK (joining oneself). */
WYN_EXPORT int wyn_join(wyn_co *co, int64_t deadline);
/* Give the handle up; co runs on and its record is recycled when it returns. */
WYN_EXPORT void wyn_detach(wyn_co *co);

WYN_EXPORT void     wyn_yield(void);      /* run again after every coroutine ready here now */
WYN_EXPORT uint64_t wyn_self(void);       /* current coroutine id; 0 outside coroutines */
WYN_EXPORT int64_t  wyn_now(void);        /* monotonic nanoseconds                     */
WYN_EXPORT int64_t  wyn_deadline(int64_t ns); /* wyn_now() + ns, saturating; 0 for ns <= 0 */
WYN_EXPORT int      wyn_sleep(int64_t ns);             /* relative; 0 or -ECANCELED */
WYN_EXPORT int      wyn_sleep_until(int64_t deadline); /* 0, -ECANCELED, -EINVAL    */

/* ---- Cancellation -------------------------------------------------------- */
/* co's blocking calls, now and later, return -ECANCELED once they would wait.
 * Cheap when co is waiting; when it is not, one membarrier(2) call, which
 * interrupts the CPUs running this program's threads (1-15 µs; 12 µs on a
 * 2-CPU VM).
 * co must stay a valid handle until wyn_cancel returns: a wyn_join or
 * wyn_detach on another thread must not consume it meanwhile. (If one does,
 * the record is kept until the cancel returns, so the cancel reaches co or
 * nothing; a call after the handle was consumed is a misuse, fatal until a
 * later spawn reuses the record.) */
WYN_EXPORT int wyn_cancel(wyn_co *co);
WYN_EXPORT int wyn_cancelled(void);       /* 1 if the calling coroutine was cancelled */

/* ---- Channels ------------------------------------------------------------ */
typedef struct wyn_chan wyn_chan;
/* NULL + errno (ENOMEM; EINVAL for elem_size >= 65536 or an overflowing
 * elem_size * cap); cap 0 = unbuffered. The channel holds one reference. */
WYN_EXPORT wyn_chan *wyn_chan_make(size_t elem_size, size_t cap);
/* 0, -EPIPE (closed), -ETIMEDOUT, -ECANCELED, -EINVAL (NULL elem with elem_size > 0). */
WYN_EXPORT int    wyn_chan_send(wyn_chan *c, const void *elem, int64_t deadline);
/* 0, -EPIPE (closed and drained; elem zeroed), -ETIMEDOUT, -ECANCELED. elem may be NULL. */
WYN_EXPORT int    wyn_chan_recv(wyn_chan *c, void *elem, int64_t deadline);
/* 0, -EPIPE if already closed, -EINVAL if NULL. Wakes every waiter. */
WYN_EXPORT int    wyn_chan_close(wyn_chan *c);
WYN_EXPORT size_t wyn_chan_len(const wyn_chan *c);
WYN_EXPORT size_t wyn_chan_cap(const wyn_chan *c);
WYN_EXPORT wyn_chan *wyn_chan_ref(wyn_chan *c);   /* one more reference; returns c */
WYN_EXPORT void   wyn_chan_free(wyn_chan *c);     /* drop one reference            */

/* ---- Select -------------------------------------------------------------- */
enum { WYN_RECV = 1, WYN_SEND = 2 };
typedef struct wyn_case {
    wyn_chan *chan;   /* NULL: this case never fires                           */
    int       op;     /* WYN_RECV or WYN_SEND                                  */
    void     *elem;   /* value to send, or where to store the received value   */
    int       err;    /* out: 0, or -EPIPE (recv: closed and drained; send: closed) */
} wyn_case;
/* Index of the case that fired, -ETIMEDOUT (a passed deadline is Go's default:),
 * -ECANCELED, -EINVAL (n > 1024, a bad op, a NULL send elem with elem_size > 0). */
WYN_EXPORT int wyn_select(wyn_case *cases, size_t n, int64_t deadline);

/* ---- Synchronisation (zero value ready; do not copy once used) ----------- */
typedef struct wyn_mutex   { uint64_t opaque_[4]; } wyn_mutex;
typedef struct wyn_rwmutex { uint64_t opaque_[10]; } wyn_rwmutex;
typedef struct wyn_wg      { uint64_t opaque_[4]; } wyn_wg;
typedef struct wyn_once    { uint64_t opaque_[4]; } wyn_once;
typedef struct wyn_cond    { uint64_t opaque_[4]; } wyn_cond;
typedef struct wyn_sem     { uint64_t opaque_[4]; } wyn_sem;

/* 0, -ETIMEDOUT, -ECANCELED. A waiter blocked over 1 ms gets the lock ahead of newcomers. */
WYN_EXPORT int  wyn_mutex_lock(wyn_mutex *m, int64_t deadline);
WYN_EXPORT void wyn_mutex_unlock(wyn_mutex *m);      /* fatal if not locked */
/* Readers share, writers exclude; a blocked writer keeps new readers out. */
WYN_EXPORT int  wyn_rwmutex_rlock(wyn_rwmutex *rw, int64_t deadline);
WYN_EXPORT void wyn_rwmutex_runlock(wyn_rwmutex *rw);
WYN_EXPORT int  wyn_rwmutex_lock(wyn_rwmutex *rw, int64_t deadline);
WYN_EXPORT void wyn_rwmutex_unlock(wyn_rwmutex *rw);
WYN_EXPORT void wyn_wg_add(wyn_wg *wg, int64_t delta);  /* fatal if the counter goes negative */
WYN_EXPORT void wyn_wg_done(wyn_wg *wg);
WYN_EXPORT int  wyn_wg_wait(wyn_wg *wg, int64_t deadline);
/* Run fn(arg) once per object; every caller returns after fn has returned. */
WYN_EXPORT void wyn_once_do(wyn_once *o, void (*fn)(void *), void *arg);
/* Unlock m, wait for a signal, relock m (always, ignoring deadline and cancel).
 * 0 after a signal; -ETIMEDOUT / -ECANCELED: no signal was consumed. */
WYN_EXPORT int  wyn_cond_wait(wyn_cond *c, wyn_mutex *m, int64_t deadline);
WYN_EXPORT void wyn_cond_signal(wyn_cond *c);
WYN_EXPORT void wyn_cond_broadcast(wyn_cond *c);
/* The zero value holds no permits; each release adds one. */
WYN_EXPORT int  wyn_sem_acquire(wyn_sem *s, int64_t deadline);
WYN_EXPORT void wyn_sem_release(wyn_sem *s);

/* ---- Introspection ------------------------------------------------------- */
typedef struct wyn_stats {
    unsigned workers;
    uint64_t spawned, finished, alive, abandoned, switches, steals, parks;
    uint64_t stacks_pooled, stacks_mapped;   /* now: idle in pools; mapped in all */
} wyn_stats;
/* The running runtime's figures, or the last runtime's final ones. */
WYN_EXPORT void wyn_stats_get(wyn_stats *s);

#ifdef __cplusplus
}
#endif
#endif /* WYN_H */
