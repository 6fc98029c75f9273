/* stack.h — guard-paged coroutine stacks: slabs, pools, trimming, overflow.
 *
 * A stack is `size` usable bytes with a guard region just below it. Stacks are
 * carved from slabs (one mmap per many stacks); guards are installed with
 * MADV_GUARD_INSTALL where the kernel has it (no extra VMAs), else mprotect.
 * Each worker keeps a small cache; a shared pool per size takes the overflow.
 * Nothing here runs on the spawn path except a cache pop/push. */
#ifndef WYN_STACK_H
#define WYN_STACK_H

#include "../common.h"

#define WYN_STACK_MIN   (16u * 1024)
#define WYN_STACK_GUARD (16u * 1024)     /* below every stack; 4 pages */

typedef struct wyn__stack {
    struct wyn__stack *next;   /* pool link while idle */
    void  *lo;                 /* lowest usable byte; the guard is [lo - GUARD, lo) */
    size_t size;               /* usable bytes (whole pages) */
} wyn__stack;

/* A worker's private cache of default-size stacks. Only its owner pushes and
 * pops; `count` is atomic so stats can read it from anywhere. */
typedef struct wyn__stack_cache {
    wyn__stack       *head;
    _Atomic unsigned  count;
} wyn__stack_cache;

/* Round a requested size up to whole pages, at least WYN_STACK_MIN; 0 on overflow. */
size_t wyn__stack_round(size_t req);

/* Start / end the stack layer for one runtime. init probes the guard method
 * ($WYN_GUARD=mprotect forces the fallback). fini unmaps everything and
 * returns how many stacks were still handed out (a leak if not 0). */
void   wyn__stacks_init(size_t default_size);
size_t wyn__stacks_fini(void);

/* Get a stack of `size` (already rounded) or NULL when memory cannot be mapped.
 * cache may be NULL (a non-worker thread). */
wyn__stack *wyn__stack_get(wyn__stack_cache *cache, size_t size);
void        wyn__stack_put(wyn__stack_cache *cache, wyn__stack *s);
/* Make sure a later wyn__stack_get(size) can succeed without mapping, mapping
 * a slab now if the pools are empty: 0 or -ENOMEM. Cheap when the cache has one. */
int         wyn__stack_reserve(wyn__stack_cache *cache, size_t size);
/* Give a worker's cache back to the shared pool (worker exit). */
void        wyn__stack_cache_flush(wyn__stack_cache *cache);
/* Hand pages of idle pooled stacks beyond the high-water mark back to the
 * kernel (MADV_DONTNEED). Runs on the monitor thread, never on the spawn path. */
void        wyn__stacks_trim(void);

uint64_t wyn__stacks_mapped(void);        /* stacks in all slabs        */
uint64_t wyn__stacks_pooled_shared(void); /* idle in the shared pools   */

/* Overflow reporting. classify(addr) says whether a fault address lies in the
 * running coroutine's guard, and if so its id and stack size. */
typedef bool (*wyn__overflow_classify_fn)(void *addr, uint64_t *id, size_t *size);
void wyn__overflow_install(wyn__overflow_classify_fn classify);  /* process-wide, once */
int  wyn__overflow_thread_init(void);     /* sigaltstack for the calling thread */
void wyn__overflow_thread_fini(void);

#endif
