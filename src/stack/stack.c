/* stack.c — mapping, guarding and pooling coroutine stacks.
 *
 * Owns: slabs (every byte of stack memory wyn maps), the shared pool and the
 *   guard method. Worker caches are owned by their workers (see stack.h).
 * Layout of a slab of n stacks, lowest address first:
 *   [guard][stack 0][guard][stack 1] ... [guard][stack n-1]
 * Invariants: a stack is in exactly one place: handed out, in one worker
 *   cache, or in the shared pool of its size. Slabs are unmapped only by
 *   wyn__stacks_fini. Lock order: the pool lock is a leaf.
 * Why slabs: an mprotect guard splits a mapping (two VMAs per stack, and
 *   vm.max_map_count is 65530); MADV_GUARD_INSTALL (Linux 6.13+) does not. */
#include "stack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#ifdef WYN_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define SLAB_BYTES     (2u * 1024 * 1024)   /* aim: stacks per slab = this / stride */
#define CACHE_MAX      64                    /* per-worker cache size */
#define CACHE_MOVE     32                    /* moved at once between cache and pool */
#define POOL_HOT_MAX   128                   /* idle stacks per size always kept warm */
#define SIZE_CLASSES   32

typedef struct slab {
    struct slab *next;
    void        *base;
    size_t       bytes;
    unsigned     nstacks;
    unsigned     valgrind_ids[];             /* one per stack */
} slab;

typedef struct size_pool {
    size_t      size;                         /* 0 = unused class */
    wyn__stack *head;                         /* warm stacks, LIFO */
    wyn__stack *cold;                         /* trimmed ones: used last */
    uint64_t    count;                        /* both lists */
    uint64_t    low;                          /* fewest idle since the last trim */
    struct size_pool *next;                   /* extra classes (beyond the array) */
} size_pool;

static struct {
    pthread_mutex_t  lock;
    size_pool        pools[SIZE_CLASSES];
    size_pool       *extra;                   /* more sizes: allocated on demand */
    slab            *slabs;

    bool             use_madv_guard;
    size_t           default_size;
    /* Statistics only (wyn_stats_get, teardown's leak check after the
     * workers are joined): relaxed updates, no ordering depends on them. */
    _Atomic uint64_t mapped;                  /* stacks in all slabs */
    _Atomic uint64_t pooled_shared;           /* idle in the shared pools */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Descriptors are allocated in one array per slab and chained for fini. */
typedef struct desc_block {
    struct desc_block *next;
    wyn__stack         stacks[];
} desc_block;
static desc_block *desc_blocks;

static size_t page_size(void)
{
    static size_t ps;
    if (!ps)
        ps = (size_t)sysconf(_SC_PAGESIZE);
    return ps;
}

size_t wyn__stack_round(size_t req)
{
    size_t ps = page_size();
    if (req < WYN_STACK_MIN)
        req = WYN_STACK_MIN;
    if (req > ((size_t)1 << 40))
        return 0;
    return (req + ps - 1) & ~(ps - 1);
}

void wyn__stacks_init(size_t default_size)
{
    g.default_size = default_size;
    const char *force = getenv("WYN_GUARD");
    g.use_madv_guard = !(force && strcmp(force, "mprotect") == 0);
    if (g.use_madv_guard) {
        /* Probe once: a kernel without MADV_GUARD_INSTALL answers EINVAL. */
        size_t ps = page_size();
        void  *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED || madvise(p, ps, MADV_GUARD_INSTALL) != 0)
            g.use_madv_guard = false;
        if (p != MAP_FAILED)
            munmap(p, 2 * ps);
    }
}

/* Pool for `size`, creating its class; NULL only without memory. Lock held. */
static size_pool *pool_for(size_t size)
{
    size_pool *free_class = NULL;
    for (int i = 0; i < SIZE_CLASSES; i++) {
        if (g.pools[i].size == size)
            return &g.pools[i];
        if (!g.pools[i].size && !free_class)
            free_class = &g.pools[i];
    }
    for (size_pool *p = g.extra; p; p = p->next)
        if (p->size == size)
            return p;
    if (!free_class) {
        free_class = calloc(1, sizeof *free_class);
        if (!free_class)
            return NULL;
        free_class->next = g.extra;
        g.extra = free_class;
    }
    free_class->size = size;
    return free_class;
}

/* Every pool, the array's then the extra ones (for trim and fini). */
static size_pool *pool_next(size_pool *p)
{
    if (p >= g.pools && p < g.pools + SIZE_CLASSES - 1)
        return p + 1;
    return p == g.pools + SIZE_CLASSES - 1 ? g.extra : p->next;
}
#define FOR_EACH_POOL(p) for (size_pool *p = g.pools; p; p = pool_next(p))

/* Map a slab of stacks of `size` and put them all in its pool. Lock held. */
static int map_slab(size_pool *pool)
{
    size_t size = pool->size;
    size_t stride = WYN_STACK_GUARD + size;
    unsigned n = (unsigned)(SLAB_BYTES / stride);
    if (n < 1)
        n = 1;
    if (n > 64)
        n = 64;
    size_t bytes = stride * n;
    void *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return -ENOMEM;
    /* A transparent huge page would make ~30 stacks share 2 MiB of RSS. */
    (void)madvise(base, bytes, MADV_NOHUGEPAGE);
    slab *sl = malloc(sizeof *sl + n * sizeof(unsigned));
    desc_block *db = malloc(sizeof *db + n * sizeof(wyn__stack));
    if (!sl || !db) {
        free(sl);
        free(db);
        munmap(base, bytes);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        char *guard = (char *)base + i * stride;
        int rc = -1;
        if (g.use_madv_guard)
            rc = madvise(guard, WYN_STACK_GUARD, MADV_GUARD_INSTALL);
        if (rc != 0) {
            if (g.use_madv_guard && errno == EINVAL)
                g.use_madv_guard = false;   /* refused: fall back for good */
            if (mprotect(guard, WYN_STACK_GUARD, PROT_NONE) != 0) {
                free(sl);
                free(db);
                munmap(base, bytes);
                return -ENOMEM;              /* vm.max_map_count reached */
            }
        }
    }
    sl->base = base;
    sl->bytes = bytes;
    sl->nstacks = n;
    sl->next = g.slabs;
    g.slabs = sl;
    db->next = desc_blocks;
    desc_blocks = db;
    for (unsigned i = 0; i < n; i++) {
        wyn__stack *s = &db->stacks[i];
        s->lo = (char *)base + i * stride + WYN_STACK_GUARD;
        s->size = size;
        sl->valgrind_ids[i] = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + size);
        s->next = pool->head;
        pool->head = s;
    }
    pool->count += n;
    atomic_fetch_add_explicit(&g.mapped, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&g.pooled_shared, n, memory_order_relaxed);
    return 0;
}

/* Take up to `want` stacks of `size` from the shared pool (mapping a slab if it
 * is empty) as a chain; returns the chain and its length in *got. */
static wyn__stack *pool_take(size_t size, unsigned want, unsigned *got)
{
    pthread_mutex_lock(&g.lock);
    size_pool *pool = pool_for(size);
    wyn__stack *head = NULL;
    unsigned n = 0;
    if (pool && (pool->head || pool->cold || map_slab(pool) == 0)) {
        while (n < want && (pool->head || pool->cold)) {
            wyn__stack **from = pool->head ? &pool->head : &pool->cold;
            wyn__stack *s = *from;
            *from = s->next;
            s->next = head;
            head = s;
            n++;
        }
        pool->count -= n;
        if (pool->count < pool->low)
            pool->low = pool->count;
        atomic_fetch_sub_explicit(&g.pooled_shared, n, memory_order_relaxed);
    }
    pthread_mutex_unlock(&g.lock);
    *got = n;
    return head;
}

static void pool_give(wyn__stack *chain, unsigned n)
{
    if (!chain)
        return;
    pthread_mutex_lock(&g.lock);
    size_pool *pool = pool_for(chain->size);
    WYN_ASSERT(pool != NULL);
    while (chain) {
        wyn__stack *s = chain;
        chain = s->next;
        s->next = pool->head;
        pool->head = s;
    }
    pool->count += n;
    atomic_fetch_add_explicit(&g.pooled_shared, n, memory_order_relaxed);
    pthread_mutex_unlock(&g.lock);
}

wyn__stack *wyn__stack_get(wyn__stack_cache *cache, size_t size)
{
    if (cache && size == g.default_size) {
        if (unlikely(!cache->head)) {
            unsigned got;
            cache->head = pool_take(size, CACHE_MOVE, &got);
            atomic_store_explicit(&cache->count, got, memory_order_relaxed);
        }
        wyn__stack *s = cache->head;
        if (s) {
            cache->head = s->next;
            atomic_store_explicit(&cache->count,
                                  atomic_load_explicit(&cache->count, memory_order_relaxed) - 1,
                                  memory_order_relaxed);
        }
        return s;
    }
    unsigned got;
    return pool_take(size, 1, &got);
}

void wyn__stack_put(wyn__stack_cache *cache, wyn__stack *s)
{
    if (cache && s->size == g.default_size) {
        unsigned n = atomic_load_explicit(&cache->count, memory_order_relaxed);
        if (unlikely(n >= CACHE_MAX)) {
            /* Move a batch to the shared pool so another worker can use it. */
            wyn__stack *chain = NULL;
            for (unsigned i = 0; i < CACHE_MOVE; i++) {
                wyn__stack *t = cache->head;
                cache->head = t->next;
                t->next = chain;
                chain = t;
            }
            n -= CACHE_MOVE;
            pool_give(chain, CACHE_MOVE);
        }
        s->next = cache->head;
        cache->head = s;
        atomic_store_explicit(&cache->count, n + 1, memory_order_relaxed);
        return;
    }
    s->next = NULL;
    pool_give(s, 1);
}

int wyn__stack_reserve(wyn__stack_cache *cache, size_t size)
{
    if (cache && size == g.default_size && cache->head)
        return 0;
    pthread_mutex_lock(&g.lock);
    size_pool *pool = pool_for(size);
    int rc = !pool ? -ENOMEM : (pool->head || pool->cold) ? 0 : map_slab(pool);
    pthread_mutex_unlock(&g.lock);
    return rc;
}

void wyn__stack_cache_flush(wyn__stack_cache *cache)
{
    unsigned n = atomic_load_explicit(&cache->count, memory_order_relaxed);
    pool_give(cache->head, n);
    cache->head = NULL;
    atomic_store_explicit(&cache->count, 0, memory_order_relaxed);
}

void wyn__stacks_trim(void)
{
    /* Hand back only what nobody needed since the last trim: the stacks above
     * the pool's low-water mark, beyond the warm ones kept. Trimming stacks a
     * busy program takes again soon would turn every reuse into page faults.
     * The pages are handed back under the lock: this runs once a second on
     * the monitor thread, and a spawner that needs a stack meanwhile finds
     * one in its own cache. */
    pthread_mutex_lock(&g.lock);
    FOR_EACH_POOL(p) {
        if (!p->size)
            continue;
        uint64_t excess = p->low > POOL_HOT_MAX ? p->low - POOL_HOT_MAX : 0;
        /* The warm list is LIFO: its idle end is past the first count - excess. */
        wyn__stack **link = &p->head;
        for (uint64_t k = 0; k + excess < p->count && *link; k++)
            link = &(*link)->next;
        while (*link) {
            wyn__stack *s = *link;
            *link = s->next;
            (void)madvise(s->lo, s->size, MADV_DONTNEED);
            s->next = p->cold;
            p->cold = s;
        }
        p->low = p->count;
    }
    pthread_mutex_unlock(&g.lock);
}

uint64_t wyn__stacks_mapped(void) { return atomic_load_explicit(&g.mapped, memory_order_relaxed); }
uint64_t wyn__stacks_pooled_shared(void)
{
    return atomic_load_explicit(&g.pooled_shared, memory_order_relaxed);
}

size_t wyn__stacks_fini(void)
{
    pthread_mutex_lock(&g.lock);
    uint64_t pooled = 0;
    FOR_EACH_POOL(p)
        pooled += p->count;
    for (int i = 0; i < SIZE_CLASSES; i++)
        g.pools[i] = (size_pool){0};
    while (g.extra) {
        size_pool *p = g.extra;
        g.extra = p->next;
        free(p);
    }
    size_t leaked = (size_t)(atomic_load(&g.mapped) - pooled);
    while (g.slabs) {
        slab *sl = g.slabs;
        g.slabs = sl->next;
        for (unsigned i = 0; i < sl->nstacks; i++) {
            VALGRIND_STACK_DEREGISTER(sl->valgrind_ids[i]);
#ifdef WYN_ASAN
            /* ASan keeps shadow poison across munmap: clear the redzones of
             * frames that never returned, or the next mapping here inherits them. */
            __asan_unpoison_memory_region((char *)sl->base + i * (sl->bytes / sl->nstacks) +
                                              WYN_STACK_GUARD,
                                          sl->bytes / sl->nstacks - WYN_STACK_GUARD);
#endif
        }
        munmap(sl->base, sl->bytes);
        free(sl);
    }
    while (desc_blocks) {
        desc_block *db = desc_blocks;
        desc_blocks = db->next;
        free(db);
    }
    atomic_store(&g.mapped, 0);
    atomic_store(&g.pooled_shared, 0);
    pthread_mutex_unlock(&g.lock);
    return leaked;
}
