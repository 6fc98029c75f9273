/* ctx.h — the context switch: a thin C layer over Boost.Context's fcontext.
 *
 * A wyn__ctx is one execution context (a coroutine's, or a worker's own thread
 * stack). Every switch goes through wyn__ctx_switch, which tells ASan, TSan and
 * valgrind about it, saves the context being left into `from`, and then, on
 * the destination's stack, runs an optional `after` step before the
 * destination continues: that is where a blocking coroutine is published as
 * waiting, once its registers are saved (DESIGN.md, mechanism 1). */
#ifndef WYN_CTX_H
#define WYN_CTX_H

#include "../common.h"

typedef struct wyn__ctx {
    void  *fctx;          /* saved fcontext while suspended, with CTX_FRESH set until
                             the first entry; NULL while running */
#ifdef WYN_ASAN
    void  *stack_lo;      /* lowest byte of the stack; NULL = thread stack, filled at init */
    size_t stack_size;
    void  *asan_fake;     /* ASan's fake-stack handle saved while suspended */
#endif
#ifdef WYN_TSAN
    void  *tsan_fiber;    /* TSan's fiber for this context */
#endif
} wyn__ctx;

/* Runs on the destination's stack right after the switch; `from` has been saved. */
typedef void (*wyn__after_fn)(wyn__ctx *from, void *arg);

/* Prepare `c` to start running wyn__co_entry() on [lo, lo+size) at its next
 * switch-in. Every fresh context starts there: one entry for all keeps a
 * context to one word (the scheduler's record holds it in its first line). */
void wyn__ctx_make(wyn__ctx *c, void *lo, size_t size);
void wyn__co_entry(void);   /* defined by the scheduler (src/sched/co.c); never returns */
/* Describe the calling thread's own stack as a context (a worker's scheduler). */
void wyn__ctx_init_thread(wyn__ctx *c);
/* Release sanitizer state of a finished context (call after switching off it). */
void wyn__ctx_destroy(wyn__ctx *c);

/* Switch from the running context `from` to `to`; `after(from, arg)` runs on
 * `to`'s side first. `from_dying`: `from` will never be resumed. Returns when
 * someone switches back to `from`. */
void wyn__ctx_switch(wyn__ctx *from, wyn__ctx *to, wyn__after_fn after, void *arg,
                     bool from_dying);

/* Write a string to fd 2 (async-signal-safe). */
void wyn__write_str(const char *s);

/* Backtrace of the calling context to fd 2, one frame a line ("  #n func+off"). */
void wyn__backtrace_print(int skip);

#endif
