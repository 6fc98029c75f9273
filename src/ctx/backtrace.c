/* backtrace.c — the running context's backtrace, through libunwind.
 *
 * Owns: formatting frames to fd 2. Uses only write(2) and stack buffers so it
 * also serves the overflow handler (on the signal stack, about to abort). */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <string.h>
#include <unistd.h>

#include "ctx.h"

void wyn__write_str(const char *s) { (void)!write(2, s, strlen(s)); }

static void put_hex(unsigned long v)
{
    char buf[19] = "0x";
    char tmp[16];
    int  n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (int i = 0; i < n; i++)
        buf[2 + i] = tmp[n - 1 - i];
    buf[2 + n] = 0;
    wyn__write_str(buf);
}

void wyn__backtrace_print(int skip)
{
    unw_context_t uc;
    unw_cursor_t  cur;
    if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0) {
        wyn__write_str("  (no backtrace)\n");
        return;
    }
    int frame = 0;
    do {
        unw_word_t ip = 0, off = 0;
        if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        if (skip > 0) {
            skip--;
            continue;
        }
        char name[256];
        wyn__write_str("  #");
        char num[12];
        int  k = 0, f = frame++;
        char t[12];
        do {
            t[k++] = (char)('0' + f % 10);
            f /= 10;
        } while (f);
        for (int i = 0; i < k; i++)
            num[i] = t[k - 1 - i];
        num[k] = 0;
        wyn__write_str(num);
        wyn__write_str(" ");
        put_hex((unsigned long)ip);
        if (unw_get_proc_name(&cur, name, sizeof name, &off) == 0) {
            wyn__write_str(" ");
            wyn__write_str(name);
            wyn__write_str("+");
            put_hex((unsigned long)off);
        }
        wyn__write_str("\n");
    } while (unw_step(&cur) > 0 && frame < 64);
}
