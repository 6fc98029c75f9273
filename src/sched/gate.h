/* gate.h — the rescue gate: an owner's lock-free critical section that a
 * rare outsider can still exclude, with no locked instruction on the owner's
 * side. Also declares the heavy fence it is built on (sys.c).
 *
 * A worker's next slot and local queue are its own, but the monitor moves
 * them to the global queue when the worker is stuck in a long computation.
 * A lock (or an exchange) would cost the owner a locked instruction at every
 * access, two per channel hand-off. Instead the two meet Dekker-style with an
 * asymmetric fence: the owner marks itself busy, then reads the gate; the
 * outsider closes the gate, runs the heavy fence (membarrier: every running
 * thread of ours passes a full barrier, so the owner's mark and its read of
 * the gate cannot both miss the outsider's close and its read of the mark),
 * then reads busy. So either the owner sees the gate closed and waits outside
 * until it opens, or the outsider sees the owner busy and gives up this time,
 * or both back off; never both inside. An outsider that reads "not busy"
 * (acquire: pairs with the owner's release on leaving, so it sees what the
 * owner left) has the guarded data to itself until it opens the gate
 * (release: pairs with the owner's acquire read of the gate). Where the kernel
 * gives no heavy fence, it is an ordinary fence and the owner's light fence
 * is a full one too (as in parks). One owner per gate; sections do
 * not nest; the outsider takes no lock the owner may hold while entering. */
#ifndef WYN_GATE_H
#define WYN_GATE_H

#include <sched.h>

#include "../common.h"

/* ---- the heavy fence (sys.c) ---- */
void wyn__fence_heavy_init(void);   /* once per process, before the runtime accepts work */
/* Every running thread of the process executes a full barrier. Costly (a
 * system call with inter-processor interrupts): for rare paths only. */
void wyn__fence_heavy(void);
/* True where the kernel gives no heavy fence: then the light fence is a
 * full one. Set once, before the runtime accepts work. */
extern _Atomic bool wyn__fence_light_is_full;

/* The other side of wyn__fence_heavy, between a store and a load of a Dekker
 * pair (a park's arming and its look at `cancelled`; a gate entry's mark and
 * its look at the gate): a compiler barrier where the heavy fence is
 * membarrier, which puts the processor's barrier in for us; a full fence
 * where it is not. relaxed flag: set before any thread that gets here ran. */
static inline void wyn__fence_light(void)
{
    if (unlikely(atomic_load_explicit(&wyn__fence_light_is_full, memory_order_relaxed)))
        wyn__fence_seq_cst();
    else
        atomic_signal_fence(memory_order_seq_cst);
}

typedef struct wyn__gate {
    _Atomic uint32_t busy;     /* owner: inside a section */
    _Atomic uint32_t closed;   /* outsider: excluding the owner */
} wyn__gate;

/* The owner's half of the Dekker pair: the mark, then the read of the gate.
 * relaxed store: the light fence (with the outsider's heavy one) orders it
 * before the load. */
static inline bool wyn__gate_mark_and_look(wyn__gate *g)
{
    atomic_store_explicit(&g->busy, 1, memory_order_relaxed);
    wyn__fence_light();
    return atomic_load_explicit(&g->closed, memory_order_acquire) == 0;
}

__attribute__((unused)) static WYN_NOINLINE void wyn__gate_wait(wyn__gate *g)
{
    do {
        /* release: as in wyn__gate_leave (the outsider may read it). */
        atomic_store_explicit(&g->busy, 0, memory_order_release);
        unsigned spins = 0;
        while (atomic_load_explicit(&g->closed, memory_order_acquire))
            wyn__wait_step(&spins);   /* until the outsider opens it */
    } while (!wyn__gate_mark_and_look(g));
}

/* Owner: enter a section (waits while an outsider has the gate closed). */
static inline void wyn__gate_enter(wyn__gate *g)
{
    if (unlikely(!wyn__gate_mark_and_look(g)))
        wyn__gate_wait(g);
}

/* Owner: leave. release: the section's writes are visible to an outsider
 * that reads "not busy". */
static inline void wyn__gate_leave(wyn__gate *g)
{
    atomic_store_explicit(&g->busy, 0, memory_order_release);
}

/* Outsider: close the gate; true if the owner is outside, and then the
 * guarded data is ours. Either way, wyn__gate_open must follow. Costs a heavy
 * fence. One outsider at a time. */
static inline bool wyn__gate_close(wyn__gate *g)
{
    atomic_store_explicit(&g->closed, 1, memory_order_relaxed);
    wyn__fence_heavy();
    /* acquire: pairs with wyn__gate_leave's release. */
    return atomic_load_explicit(&g->busy, memory_order_acquire) == 0;
}

/* Outsider: open the gate. release: the owner, reading it open (acquire),
 * sees the guarded data as we left it. */
static inline void wyn__gate_open(wyn__gate *g)
{
    atomic_store_explicit(&g->closed, 0, memory_order_release);
}

#endif
