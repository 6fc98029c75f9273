/* consumer.c — a program outside the tree, built against an installed wyn. */
#include <stdio.h>
#include <wyn.h>

static void worker(void *arg)
{
    wyn_chan *c = arg;
    int v = 42;
    wyn_chan_send(c, &v, WYN_FOREVER);
}

static void main_co(void *arg)
{
    int *out = arg;
    wyn_chan *c = wyn_chan_make(sizeof(int), 0);
    wyn_spawn(worker, c);
    wyn_chan_recv(c, out, WYN_FOREVER);
    wyn_chan_free(c);
}

int main(void)
{
    int v = 0;
    if (wyn_run(main_co, &v, NULL) != 0 || v != 42)
        return 1;
    puts("consumer: ok");
    return 0;
}
