/* overflow.c — telling a stack overflow apart from any other crash.
 *
 * Owns: the process's SIGSEGV/SIGBUS handler while a runtime exists, and each
 * worker's sigaltstack. A fault whose address lies in the running coroutine's
 * guard region (checked by address: MADV_GUARD_INSTALL guards report
 * SEGV_MAPERR, mprotect guards SEGV_ACCERR) prints
 *   wyn: fatal: coroutine #ID overflowed its N-byte stack
 * and a backtrace, then aborts. Any other fault goes to the handler that was
 * there before, or kills the process as it would have without wyn. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../ctx/ctx.h"
#include "stack.h"

#define ALTSTACK_BYTES (128u * 1024)

static wyn__overflow_classify_fn classify;
static struct sigaction          prev_segv, prev_bus;
static _Thread_local void       *altstack_mem;

static void put_u64(uint64_t v)
{
    char t[24];
    int  n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char out[24];
    for (int i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    out[n] = 0;
    wyn__write_str(out);
}

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    uint64_t id;
    size_t   size;
    if (classify && classify(si->si_addr, &id, &size)) {
        wyn__write_str("wyn: fatal: coroutine #");
        put_u64(id);
        wyn__write_str(" overflowed its ");
        put_u64(size);
        wyn__write_str("-byte stack\n");
        wyn__write_str("coroutine #");
        put_u64(id);
        wyn__write_str(" [running]:\n");
        wyn__backtrace_print(0);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* Not ours: hand the fault to whoever had it before. */
    struct sigaction *prev = sig == SIGBUS ? &prev_bus : &prev_segv;
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction) {
            prev->sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
        return;
    }
    /* Default action: restore it and return; the faulting instruction runs
     * again and the kernel kills the process with the right signal. */
    signal(sig, SIG_DFL);
}

void wyn__overflow_install(wyn__overflow_classify_fn fn)
{
    static bool installed;
    classify = fn;
    if (installed)
        return;
    installed = true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &prev_segv);
    sigaction(SIGBUS, &sa, &prev_bus);
}

int wyn__overflow_thread_init(void)
{
    void *mem = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (mem == MAP_FAILED)
        return -ENOMEM;
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_BYTES, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(mem, ALTSTACK_BYTES);
        return -errno;
    }
    altstack_mem = mem;
    return 0;
}

void wyn__overflow_thread_fini(void)
{
    if (!altstack_mem)
        return;
    stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(altstack_mem, ALTSTACK_BYTES);
    altstack_mem = NULL;
}
