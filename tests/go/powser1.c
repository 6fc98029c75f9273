/* powser1.c — port of Go's test/chan/powser1.go.
 *
 * Doug McIlroy's power series on channels ("Squinting at Power Series"): a
 * power series is a demand channel pair (req: int, dat: rational) served by a
 * coroutine; every operator (Add, Cmul, Sub, Mul, Diff, Integ, Exp, MonSubst,
 * Split ...) starts more coroutines, so the test builds a large, dynamically
 * growing network of coroutines talking over unbuffered channels and selects
 * (with nil cases, send and receive cases mixed: getn; and split's
 * generations handing service over through release channels). Checks the
 * first terms of: 1 1 1..., (1+1), (1+2), d/dx 1/(1-x), its integral,
 * -1*2..., 1-2, (1/(1-x))^2, exp(1/(1-x)-1)'s series (Exp), and atan via
 * MonSubst+Integ, exactly as rationals.
 *
 * As in Go, the series coroutines never finish and are abandoned when the main
 * coroutine returns; channels and series records are freed after wyn_run has
 * returned. Go's racy globals seqno and chnameserial are atomics here.
 * Set $POWSER1_PRINT to print series instead (Go: any command-line argument). */
#include "test.h"

#include <stdatomic.h>
#include <stdbool.h>

/* ---- keep everything made, to free it after wyn_run ---- */
struct node {
    struct node *next;
    wyn_chan *chan; /* a channel, or NULL and */
    void *mem;      /* a malloc'd block */
};
static _Atomic(struct node *) made;

static void keep(wyn_chan *chan, void *mem)
{
    struct node *n = malloc(sizeof *n);
    CHECK(n != NULL);
    n->chan = chan;
    n->mem = mem;
    n->next = atomic_load(&made);
    while (!atomic_compare_exchange_weak(&made, &n->next, n))
        ;
}

static void free_made(void)
{
    struct node *n = atomic_exchange(&made, NULL);
    while (n) {
        struct node *next = n->next;
        if (n->chan)
            wyn_chan_free(n->chan);
        free(n->mem);
        free(n);
        n = next;
    }
}

static wyn_chan *make_chan(size_t elem_size)
{
    wyn_chan *c = wyn_chan_make(elem_size, 0);
    CHECK(c != NULL);
    keep(c, NULL);
    return c;
}

/* go fn(*arg). A series coroutine may still be running when the main
 * coroutine returns: spawns then fail with -ESRCH, and the program is ending
 * (Go's process would exit), so that is not an error. */
static void go(void (*fn)(void *), const void *arg, size_t size)
{
    int rc = wyn_spawn_ex(fn, NULL, &(wyn_spawn_opts){.arg_copy = arg, .arg_size = size});
    CHECK(rc == 0 || rc == -ESRCH);
}

/* ---- rationals ---- */
typedef struct rat {
    int64_t num, den; /* numerator, denominator */
} rat;

static void pr(rat u)
{
    if (u.den == 1)
        printf("%" PRId64, u.num);
    else
        printf("%" PRId64 "/%" PRId64, u.num, u.den);
    printf(" ");
}

static bool eq(rat u, rat c)
{
    return u.num == c.num && u.den == c.den;
}

typedef struct dch {
    wyn_chan *req; /* chan int */
    wyn_chan *dat; /* chan rat */
    int nam;
} dch;

typedef struct dch2 {
    dch *d[2];
} dch2;

static const char *chnames;
static atomic_int chnameserial;
static atomic_int seqno;

static int next_seqno(void) /* seqno++; return seqno */
{
    return atomic_fetch_add(&seqno, 1) + 1;
}

static dch *mkdch(void)
{
    int c = atomic_fetch_add(&chnameserial, 1) % (int)strlen(chnames);
    dch *d = calloc(1, sizeof *d);
    CHECK(d != NULL);
    keep(NULL, d);
    d->req = make_chan(sizeof(int));
    d->dat = make_chan(sizeof(rat));
    d->nam = c;
    return d;
}

static dch2 *mkdch2(void)
{
    dch2 *d2 = calloc(1, sizeof *d2);
    CHECK(d2 != NULL);
    keep(NULL, d2);
    d2->d[0] = mkdch();
    d2->d[1] = mkdch();
    return d2;
}

/* channel helpers: Go's `<-c` and `c <- v`, which never fail here */
static int recv_int(wyn_chan *c)
{
    int v = 0;
    CHECK_EQ(wyn_chan_recv(c, &v, WYN_FOREVER), 0);
    return v;
}

static void send_int(wyn_chan *c, int v)
{
    CHECK_EQ(wyn_chan_send(c, &v, WYN_FOREVER), 0);
}

static rat recv_rat(wyn_chan *c)
{
    rat v = {0, 0};
    CHECK_EQ(wyn_chan_recv(c, &v, WYN_FOREVER), 0);
    return v;
}

static void send_rat(wyn_chan *c, rat v)
{
    CHECK_EQ(wyn_chan_send(c, &v, WYN_FOREVER), 0);
}

/* split reads a single demand channel and replicates its output onto two,
 * which may be read at different rates. A process is created at first demand
 * for a rat and dies after the rat has been sent to both outputs.
 *
 * When multiple generations of split exist, the newest will service requests
 * on one channel, which is always renamed to be out[0]; the oldest will service
 * requests on the other channel, out[1]. All generations but the newest hold
 * queued data that has already been sent to out[0]. When data has finally been
 * sent to out[1], a signal on the release-wait channel tells the next newer
 * generation to begin servicing out[1]. */
struct dosplit_args {
    dch *in;
    dch2 *out;
    wyn_chan *wait;
};

static void dosplit(void *arg)
{
    struct dosplit_args a = *(struct dosplit_args *)arg;
    dch *in = a.in;
    dch2 *out = a.out;
    bool both = false; /* do not service both channels */

    wyn_case c1[2] = {{out->d[0]->req, WYN_RECV, NULL, 0}, {a.wait, WYN_RECV, NULL, 0}};
    int rc = wyn_select(c1, 2, WYN_FOREVER);
    CHECK(rc == 0 || rc == 1);
    CHECK_EQ(c1[rc].err, 0);
    if (rc == 1) {
        both = true;
        wyn_case c2[2] = {{out->d[0]->req, WYN_RECV, NULL, 0}, {out->d[1]->req, WYN_RECV, NULL, 0}};
        rc = wyn_select(c2, 2, WYN_FOREVER);
        CHECK(rc == 0 || rc == 1);
        CHECK_EQ(c2[rc].err, 0);
        if (rc == 1) {
            dch *t = out->d[0];
            out->d[0] = out->d[1];
            out->d[1] = t;
        }
    }

    send_int(in->req, next_seqno());
    wyn_chan *release = make_chan(sizeof(int));
    struct dosplit_args na = {in, out, release};
    go(dosplit, &na, sizeof na);
    rat dat = recv_rat(in->dat);
    send_rat(out->d[0]->dat, dat);
    if (!both)
        recv_int(a.wait);
    recv_int(out->d[1]->req);
    send_rat(out->d[1]->dat, dat);
    send_int(release, 0);
}

static void split(dch *in, dch2 *out)
{
    wyn_chan *release = make_chan(sizeof(int));
    struct dosplit_args a = {in, out, release};
    go(dosplit, &a, sizeof a);
    send_int(release, 0);
}

static void put(rat dat, dch *out)
{
    recv_int(out->req);
    send_rat(out->dat, dat);
}

static rat get(dch *in)
{
    send_int(in->req, next_seqno());
    return recv_rat(in->dat);
}

/* Get one rat from each of n demand channels */
static void getn(dch *const *in, int n, rat *out)
{
    if (n != 2) {
        fprintf(stderr, "bad n in getn\n");
        abort();
    }
    wyn_chan *req[2], *dat[2];
    rat it;
    for (int i = 0; i < n; i++) {
        req[i] = in[i]->req;
        dat[i] = NULL;
    }
    for (n = 2 * n; n > 0; n--) {
        int s = next_seqno();
        wyn_case cs[4] = {
            {req[0], WYN_SEND, &s, 0},
            {req[1], WYN_SEND, &s, 0},
            {dat[0], WYN_RECV, &it, 0},
            {dat[1], WYN_RECV, &it, 0},
        };
        int rc = wyn_select(cs, 4, WYN_FOREVER);
        CHECK(rc >= 0 && rc < 4);
        CHECK_EQ(cs[rc].err, 0);
        switch (rc) {
        case 0:
            dat[0] = in[0]->dat;
            req[0] = NULL;
            break;
        case 1:
            dat[1] = in[1]->dat;
            req[1] = NULL;
            break;
        case 2:
            out[0] = it;
            dat[0] = NULL;
            break;
        case 3:
            out[1] = it;
            dat[1] = NULL;
            break;
        }
    }
}

/* Get one rat from each of 2 demand channels */
static void get2(dch *in0, dch *in1, rat out[2])
{
    dch *in[2] = {in0, in1};
    getn(in, 2, out);
}

static void copy(dch *in, dch *out)
{
    for (;;) {
        recv_int(out->req);
        send_rat(out->dat, get(in));
    }
}

struct repeat_args {
    rat dat;
    dch *out;
};

static void repeat(void *arg)
{
    struct repeat_args *a = arg;
    for (;;)
        put(a->dat, a->out);
}

typedef dch *PS;    /* power series */
typedef dch2 *PS2;  /* pair of power series */

static PS Ones;
static PS Twos;

static PS mkPS(void)
{
    return mkdch();
}

static PS2 mkPS2(void)
{
    return mkdch2();
}

/* Conventions: upper-case for power series, lower-case for rationals.
 * Input variables: U,V,...; output variables: ...,Y,Z */

/* Integer gcd; needed for rational arithmetic */
static int64_t gcd(int64_t u, int64_t v)
{
    if (u < 0)
        return gcd(-u, v);
    if (u == 0)
        return v;
    return gcd(v % u, u);
}

/* Make a rational from two ints and from one int */
static rat i2tor(int64_t u, int64_t v)
{
    int64_t g = gcd(u, v);
    rat r;
    if (v > 0) {
        r.num = u / g;
        r.den = v / g;
    } else {
        r.num = -u / g;
        r.den = -v / g;
    }
    return r;
}

static rat itor(int64_t u)
{
    return i2tor(u, 1);
}

static rat zero;
static rat one;

/* End mark and end test */
static rat finis;

static int64_t end(rat u)
{
    if (u.den == 0)
        return 1;
    return 0;
}

/* Operations on rationals */
static rat add(rat u, rat v)
{
    int64_t g = gcd(u.den, v.den);
    return i2tor(u.num * (v.den / g) + v.num * (u.den / g), u.den * (v.den / g));
}

static rat mul(rat u, rat v)
{
    int64_t g1 = gcd(u.num, v.den);
    int64_t g2 = gcd(u.den, v.num);
    rat r;
    r.num = (u.num / g1) * (v.num / g2);
    r.den = (u.den / g2) * (v.den / g1);
    return r;
}

static rat neg(rat u)
{
    return i2tor(-u.num, u.den);
}

static rat sub(rat u, rat v)
{
    return add(u, neg(v));
}

static rat inv(rat u) /* invert a rat */
{
    if (u.num == 0) {
        fprintf(stderr, "zero divide in inv\n");
        abort();
    }
    return i2tor(u.den, u.num);
}

/* print eval in floating point of PS at x=c to n terms */
__attribute__((unused)) static void evaln(rat c, PS U, int n)
{
    double xn = 1;
    double x = (double)c.num / (double)c.den;
    double val = 0;
    for (int i = 0; i < n; i++) {
        rat u = get(U);
        if (end(u) != 0)
            break;
        val = val + x * (double)u.num / (double)u.den;
        xn = xn * x;
    }
    printf("%g\n", val);
}

/* Print n terms of a power series */
static void printn(PS U, int n)
{
    bool done = false;
    for (; !done && n > 0; n--) {
        rat u = get(U);
        if (end(u) != 0)
            done = true;
        else
            pr(u);
    }
    printf("\n");
}

/* Evaluate n terms of power series U at x=c */
__attribute__((unused)) static rat eval(rat c, PS U, int n)
{
    if (n == 0)
        return zero;
    rat y = get(U);
    if (end(y) != 0)
        return zero;
    return add(y, mul(c, eval(c, U, n - 1)));
}

/* Power-series constructors return channels on which power series flow. They
 * start an encapsulated generator that puts the terms of the series on the
 * channel. */

/* Make a pair of power series identical to a given power series */
struct split_args {
    PS U;
    PS2 UU;
};

static void split_co(void *arg)
{
    struct split_args *a = arg;
    split(a->U, a->UU);
}

static PS2 Split(PS U)
{
    PS2 UU = mkdch2();
    struct split_args a = {U, UU};
    go(split_co, &a, sizeof a);
    return UU;
}

/* Add two power series */
struct uvz {
    PS U, V, Z;
};

static void add_co(void *arg)
{
    struct uvz a = *(struct uvz *)arg;
    rat uv[2];
    for (;;) {
        recv_int(a.Z->req);
        get2(a.U, a.V, uv);
        switch (end(uv[0]) + 2 * end(uv[1])) {
        case 0:
            send_rat(a.Z->dat, add(uv[0], uv[1]));
            break;
        case 1:
            send_rat(a.Z->dat, uv[1]);
            copy(a.V, a.Z);
            break;
        case 2:
            send_rat(a.Z->dat, uv[0]);
            copy(a.U, a.Z);
            break;
        case 3:
            send_rat(a.Z->dat, finis);
            break;
        }
    }
}

static PS Add(PS U, PS V)
{
    PS Z = mkPS();
    struct uvz a = {U, V, Z};
    go(add_co, &a, sizeof a);
    return Z;
}

/* Multiply a power series by a constant */
struct cuz {
    rat c;
    int n;
    PS U, Z;
};

static void cmul_co(void *arg)
{
    struct cuz a = *(struct cuz *)arg;
    bool done = false;
    while (!done) {
        recv_int(a.Z->req);
        rat u = get(a.U);
        if (end(u) != 0)
            done = true;
        else
            send_rat(a.Z->dat, mul(a.c, u));
    }
    send_rat(a.Z->dat, finis);
}

static PS Cmul(rat c, PS U)
{
    PS Z = mkPS();
    struct cuz a = {.c = c, .U = U, .Z = Z};
    go(cmul_co, &a, sizeof a);
    return Z;
}

/* Subtract */
static PS Sub(PS U, PS V)
{
    return Add(U, Cmul(neg(one), V));
}

/* Multiply a power series by the monomial x^n */
static void monmul_co(void *arg)
{
    struct cuz a = *(struct cuz *)arg;
    for (; a.n > 0; a.n--)
        put(zero, a.Z);
    copy(a.U, a.Z);
}

static PS Monmul(PS U, int n)
{
    PS Z = mkPS();
    struct cuz a = {.n = n, .U = U, .Z = Z};
    go(monmul_co, &a, sizeof a);
    return Z;
}

/* Multiply by x */
__attribute__((unused)) static PS Xmul(PS U)
{
    return Monmul(U, 1);
}

static PS Rep(rat c)
{
    PS Z = mkPS();
    struct repeat_args a = {c, Z};
    go(repeat, &a, sizeof a);
    return Z;
}

/* Monomial c*x^n */
static void mon_co(void *arg)
{
    struct cuz a = *(struct cuz *)arg;
    if (a.c.num != 0) {
        for (; a.n > 0; a.n = a.n - 1)
            put(zero, a.Z);
        put(a.c, a.Z);
    }
    put(finis, a.Z);
}

__attribute__((unused)) static PS Mon(rat c, int n)
{
    PS Z = mkPS();
    struct cuz a = {.c = c, .n = n, .Z = Z};
    go(mon_co, &a, sizeof a);
    return Z;
}

static void shift_co(void *arg)
{
    struct cuz a = *(struct cuz *)arg;
    put(a.c, a.Z);
    copy(a.U, a.Z);
}

static PS Shift(rat c, PS U)
{
    PS Z = mkPS();
    struct cuz a = {.c = c, .U = U, .Z = Z};
    go(shift_co, &a, sizeof a);
    return Z;
}

/* simple pole at 1: 1/(1-x) = 1 1 1 1 1 ...
 * (Go's commented-out Poly is not ported.) */

/* Multiply. The algorithm is
 *	let U = u + x*UU
 *	let V = v + x*VV
 *	then UV = u*v + x*(u*VV+v*UU) + x*x*UU*VV */
static PS Mul(PS U, PS V);

static void mul_co(void *arg)
{
    struct uvz a = *(struct uvz *)arg;
    rat uv[2];
    recv_int(a.Z->req);
    get2(a.U, a.V, uv);
    if (end(uv[0]) != 0 || end(uv[1]) != 0) {
        send_rat(a.Z->dat, finis);
    } else {
        send_rat(a.Z->dat, mul(uv[0], uv[1]));
        PS2 UU = Split(a.U);
        PS2 VV = Split(a.V);
        PS W = Add(Cmul(uv[0], VV->d[0]), Cmul(uv[1], UU->d[0]));
        recv_int(a.Z->req);
        send_rat(a.Z->dat, get(W));
        copy(Add(W, Mul(UU->d[1], VV->d[1])), a.Z);
    }
}

static PS Mul(PS U, PS V)
{
    PS Z = mkPS();
    struct uvz a = {U, V, Z};
    go(mul_co, &a, sizeof a);
    return Z;
}

/* Differentiate */
static void diff_co(void *arg)
{
    struct uvz a = *(struct uvz *)arg;
    recv_int(a.Z->req);
    rat u = get(a.U);
    if (end(u) == 0) {
        bool done = false;
        for (int i = 1; !done; i++) {
            u = get(a.U);
            if (end(u) != 0) {
                done = true;
            } else {
                send_rat(a.Z->dat, mul(itor(i), u));
                recv_int(a.Z->req);
            }
        }
    }
    send_rat(a.Z->dat, finis);
}

static PS Diff(PS U)
{
    PS Z = mkPS();
    struct uvz a = {U, NULL, Z};
    go(diff_co, &a, sizeof a);
    return Z;
}

/* Integrate, with const of integration */
static void integ_co(void *arg)
{
    struct cuz a = *(struct cuz *)arg;
    put(a.c, a.Z);
    bool done = false;
    for (int i = 1; !done; i++) {
        recv_int(a.Z->req);
        rat u = get(a.U);
        if (end(u) != 0)
            done = true;
        send_rat(a.Z->dat, mul(i2tor(1, i), u));
    }
    send_rat(a.Z->dat, finis);
}

static PS Integ(rat c, PS U)
{
    PS Z = mkPS();
    struct cuz a = {.c = c, .U = U, .Z = Z};
    go(integ_co, &a, sizeof a);
    return Z;
}

/* Binomial theorem (1+x)^c */
static void binom_co(void *arg)
{
    struct cuz a = *(struct cuz *)arg;
    int n = 1;
    rat t = itor(1);
    while (a.c.num != 0) {
        put(t, a.Z);
        t = mul(mul(t, a.c), i2tor(1, n));
        a.c = sub(a.c, one);
        n++;
    }
    put(finis, a.Z);
}

__attribute__((unused)) static PS Binom(rat c)
{
    PS Z = mkPS();
    struct cuz a = {.c = c, .Z = Z};
    go(binom_co, &a, sizeof a);
    return Z;
}

/* Reciprocal of a power series
 *	let U = u + x*UU
 *	let Z = z + x*ZZ
 *	(u+x*UU)*(z+x*ZZ) = 1
 *	z = 1/u
 *	u*ZZ + z*UU +x*UU*ZZ = 0
 *	ZZ = -UU*(z+x*ZZ)/u */
static void recip_co(void *arg)
{
    struct uvz a = *(struct uvz *)arg;
    PS2 ZZ = mkPS2();
    recv_int(a.Z->req);
    rat z = inv(get(a.U));
    send_rat(a.Z->dat, z);
    split(Mul(Cmul(neg(z), a.U), Shift(z, ZZ->d[0])), ZZ);
    copy(ZZ->d[1], a.Z);
}

__attribute__((unused)) static PS Recip(PS U)
{
    PS Z = mkPS();
    struct uvz a = {U, NULL, Z};
    go(recip_co, &a, sizeof a);
    return Z;
}

/* Exponential of a power series with constant term 0 (nonzero constant term
 * would make nonrational coefficients); bug: the constant term is simply
 * ignored.
 *	Z = exp(U)
 *	DZ = Z*DU
 *	integrate to get Z */
static PS Exp(PS U)
{
    PS2 ZZ = mkPS2();
    split(Integ(one, Mul(ZZ->d[0], Diff(U))), ZZ);
    return ZZ->d[1];
}

/* Substitute V for x in U, where the leading term of V is zero
 *	let U = u + x*UU
 *	let V = v + x*VV
 *	then S(U,V) = u + VV*S(V,UU)
 * bug: a nonzero constant term is ignored */
static PS Subst(PS U, PS V);

static void subst_co(void *arg)
{
    struct uvz a = *(struct uvz *)arg;
    PS2 VV = Split(a.V);
    recv_int(a.Z->req);
    rat u = get(a.U);
    send_rat(a.Z->dat, u);
    if (end(u) == 0) {
        if (end(get(VV->d[0])) != 0)
            put(finis, a.Z);
        else
            copy(Mul(VV->d[0], Subst(a.U, VV->d[1])), a.Z);
    }
}

__attribute__((unused)) static PS Subst(PS U, PS V)
{
    PS Z = mkPS();
    struct uvz a = {U, V, Z};
    go(subst_co, &a, sizeof a);
    return Z;
}

/* Monomial Substitution: U(c x^n)
 * Each Ui is multiplied by c^i and followed by n-1 zeros */
static void monsubst_co(void *arg)
{
    struct cuz a = *(struct cuz *)arg; /* a.c is c0 */
    rat c = one;
    for (;;) {
        recv_int(a.Z->req);
        rat u = get(a.U);
        send_rat(a.Z->dat, mul(u, c));
        c = mul(c, a.c);
        if (end(u) != 0) {
            send_rat(a.Z->dat, finis);
            break;
        }
        for (int i = 1; i < a.n; i++) {
            recv_int(a.Z->req);
            send_rat(a.Z->dat, zero);
        }
    }
}

static PS MonSubst(PS U, rat c0, int n)
{
    PS Z = mkPS();
    struct cuz a = {.c = c0, .n = n, .U = U, .Z = Z};
    go(monsubst_co, &a, sizeof a);
    return Z;
}

static void Init(void)
{
    atomic_store(&chnameserial, -1);
    atomic_store(&seqno, 0);
    chnames = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    zero = itor(0);
    one = itor(1);
    finis = i2tor(1, 0);
    Ones = Rep(one);
    Twos = Rep(itor(2));
}

static void check(PS U, rat c, int count, const char *str)
{
    for (int i = 0; i < count; i++) {
        rat r = get(U);
        if (!eq(r, c)) {
            printf("got: ");
            pr(r);
            printf("should get ");
            pr(c);
            printf("\n");
            fflush(stdout);
            fprintf(stderr, "%s\n", str);
            abort();
        }
    }
}

#define N 10

static void checka(PS U, const rat *a, const char *str)
{
    for (int i = 0; i < N; i++)
        check(U, a[i], 1, str);
}

static void test_main(void *arg)
{
    (void)arg;
    Init();
    if (getenv("POWSER1_PRINT")) { /* print */
        printf("Ones: ");
        printn(Ones, 10);
        printf("Twos: ");
        printn(Twos, 10);
        printf("Add: ");
        printn(Add(Ones, Twos), 10);
        printf("Diff: ");
        printn(Diff(Ones), 10);
        printf("Integ: ");
        printn(Integ(zero, Ones), 10);
        printf("CMul: ");
        printn(Cmul(neg(one), Ones), 10);
        printf("Sub: ");
        printn(Sub(Ones, Twos), 10);
        printf("Mul: ");
        printn(Mul(Ones, Ones), 10);
        printf("Exp: ");
        printn(Exp(Ones), 15);
        printf("MonSubst: ");
        printn(MonSubst(Ones, neg(one), 2), 10);
        printf("ATan: ");
        printn(Integ(zero, MonSubst(Ones, neg(one), 2)), 10);
    } else { /* test */
        check(Ones, one, 5, "Ones");
        check(Add(Ones, Ones), itor(2), 0, "Add Ones Ones"); /* 1 1 1 1 1 */
        check(Add(Ones, Twos), itor(3), 0, "Add Ones Twos"); /* 3 3 3 3 3 */
        rat a[N];
        PS d = Diff(Ones);
        for (int i = 0; i < N; i++)
            a[i] = itor(i + 1);
        checka(d, a, "Diff"); /* 1 2 3 4 5 */
        PS in = Integ(zero, Ones);
        a[0] = zero; /* integration constant */
        for (int i = 1; i < N; i++)
            a[i] = i2tor(1, i);
        checka(in, a, "Integ");                             /* 0 1 1/2 1/3 1/4 1/5 */
        check(Cmul(neg(one), Twos), itor(-2), 10, "CMul");  /* -1 -1 -1 -1 -1 */
        check(Sub(Ones, Twos), itor(-1), 0, "Sub Ones Twos"); /* -1 -1 -1 -1 -1 */
        PS m = Mul(Ones, Ones);
        for (int i = 0; i < N; i++)
            a[i] = itor(i + 1);
        checka(m, a, "Mul"); /* 1 2 3 4 5 */
        PS e = Exp(Ones);
        a[0] = itor(1);
        a[1] = itor(1);
        a[2] = i2tor(3, 2);
        a[3] = i2tor(13, 6);
        a[4] = i2tor(73, 24);
        a[5] = i2tor(167, 40);
        a[6] = i2tor(4051, 720);
        a[7] = i2tor(37633, 5040);
        a[8] = i2tor(43817, 4480);
        a[9] = i2tor(4596553, 362880);
        checka(e, a, "Exp"); /* 1 1 3/2 13/6 73/24 */
        PS at = Integ(zero, MonSubst(Ones, neg(one), 2));
        for (int c = 1, i = 0; i < N; i++) {
            if (i % 2 == 0) {
                a[i] = zero;
            } else {
                a[i] = i2tor(c, i);
                c *= -1;
            }
        }
        checka(at, a, "ATan"); /* 0 -1 0 -1/3 0 -1/5 */
        /* (Go's commented-out Revert/Tan check is not ported.) */
    }
}

int main(void)
{
    test_run(test_main, NULL);
    free_made();
    return 0;
}
