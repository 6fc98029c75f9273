/* ctx.c — the one place wyn switches stacks (Boost.Context's ontop_fcontext),
 * and the sanitizer bookkeeping that goes with every switch.
 *
 * Owns: wyn__ctx's saved fcontext and its ASan/TSan fiber state.
 * Invariant: a context's `fctx` is written only by the after-switch step that
 *   runs on the next context's stack (on_arrival), i.e. after its registers are
 *   saved; so whoever is told "this coroutine is suspended" by an `after` step
 *   may resume it at once.
 * A fresh context is entered with jump_fcontext, every later one with
 *   ontop_fcontext; both run on_arrival on the destination's stack first.
 * ASan: __sanitizer_start_switch_fiber before each switch, finish on arrival.
 * TSan: __tsan_switch_to_fiber before each switch (flags 0: the switch itself
 *   is a happens-before edge, which it is on one thread). */
#include "ctx.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Boost.Context's C-ABI entry points (Debian ships only a C++ header). */
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void      *data;
} transfer_t;
extern fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));
extern transfer_t jump_fcontext(fcontext_t const to, void *vp);
extern transfer_t ontop_fcontext(fcontext_t const to, void *vp, transfer_t (*fn)(transfer_t));

#ifdef WYN_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif
#ifdef WYN_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void  __tsan_destroy_fiber(void *fiber);
void  __tsan_switch_to_fiber(void *fiber, unsigned flags);
_Atomic unsigned long wyn__tsan_fence_word;
#endif

/* What the leaving side tells the arriving side; lives on the leaving stack,
 * which stays untouched until the `after` step has let someone resume it. */
struct switch_msg {
    wyn__ctx     *from;
    wyn__ctx     *to;
    wyn__after_fn after;
    void         *arg;
};

static transfer_t on_arrival(transfer_t t)
{
    struct switch_msg *m = t.data;
    /* Copy out first: once `after` has run, `from` may be resumed elsewhere and
     * its stack (where *m lives) may change under us. */
    wyn__ctx     *from  = m->from;
    wyn__ctx     *to    = m->to;
    wyn__after_fn after = m->after;
    void         *arg   = m->arg;
#ifdef WYN_ASAN
    __sanitizer_finish_switch_fiber(to->asan_fake, NULL, NULL);
#else
    (void)to;
#endif
    from->fctx = t.fctx;
    if (after)
        after(from, arg);
    return t;
}

/* A fresh context's first code. It is entered with jump_fcontext (Boost's
 * ontop_fcontext does not hand its result to a fresh context's function), so
 * it runs the arrival step itself. */
static void ctx_trampoline(transfer_t t)
{
    (void)on_arrival(t);
    wyn__co_entry();
    wyn__fatal("internal error: a coroutine entry returned");
}

/* Marks a context never entered: fcontexts are stack addresses, so their low
 * bit is free. A fresh one is entered with jump_fcontext, any other with
 * ontop_fcontext. */
#define CTX_FRESH ((uintptr_t)1)

void wyn__ctx_make(wyn__ctx *c, void *lo, size_t size)
{
#ifdef WYN_ASAN
    c->stack_lo = lo;
    c->stack_size = size;
    c->asan_fake = NULL;
    /* A pooled stack keeps the redzones of its last user's frames, which
     * never returned: clear them before new frames land there. */
    __asan_unpoison_memory_region(lo, size);
#endif
    c->fctx = (void *)((uintptr_t)make_fcontext((char *)lo + size, size, ctx_trampoline) |
                       CTX_FRESH);
#ifdef WYN_TSAN
    if (!c->tsan_fiber)
        c->tsan_fiber = __tsan_create_fiber(0);
#endif
}

void wyn__ctx_destroy(wyn__ctx *c)
{
#ifdef WYN_TSAN
    if (c->tsan_fiber)
        __tsan_destroy_fiber(c->tsan_fiber);
    c->tsan_fiber = NULL;
#endif
    c->fctx = NULL;
}

void wyn__ctx_init_thread(wyn__ctx *c)
{
    c->fctx = NULL;
#ifdef WYN_ASAN
    c->asan_fake = NULL;
    c->stack_lo = NULL;
    c->stack_size = 0;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void  *lo;
        size_t size;
        if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
            c->stack_lo = lo;
            c->stack_size = size;
        }
        pthread_attr_destroy(&attr);
    }
#endif
#ifdef WYN_TSAN
    c->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void wyn__ctx_switch(wyn__ctx *from, wyn__ctx *to, wyn__after_fn after, void *arg,
                     bool from_dying)
{
    struct switch_msg m = {from, to, after, arg};
    uintptr_t target = (uintptr_t)to->fctx;
    to->fctx = NULL;
#ifdef WYN_ASAN
    __sanitizer_start_switch_fiber(from_dying ? NULL : &from->asan_fake, to->stack_lo,
                                   to->stack_size);
#else
    (void)from_dying;
#endif
#ifdef WYN_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    if (target & CTX_FRESH)
        jump_fcontext((fcontext_t)(target & ~CTX_FRESH), &m);
    else
        ontop_fcontext((fcontext_t)target, &m, on_arrival);
    /* Back in `from`: whoever switched to us ran its own on_arrival on our side,
     * which did the sanitizer finish for us. */
}
