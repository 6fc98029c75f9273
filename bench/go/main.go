// wynbench — the Go twin of bench/wyn_bench.c (docs: /work/shared/BENCH.md).
//
//	bench-go -workload NAME|all -workers W -n N -runs R [-quick]
//
// prints, per workload, one line
//
//	workload=<name> workers=<W> n=<N> ns_per_op=<float> total_ms=<float> [key=value ...]
//
// A figure is the median of R runs after a warm-up (at least one run and 200 ms), in this process. Only the
// workload itself is timed (goroutine start-up of the program is not). Every workload
// checks its own result and the program exits 1 when one is wrong (2 for bad flags).
// Both twins implement the same algorithm with the same channel capacities, so the
// ratio wyn/Go compares the runtimes, not the programs. Standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// result is what one timed run reports.
type result struct {
	elapsed time.Duration
	extra   string // " key=value ..." (same keys as the C twin)
}

type workload struct {
	name   string
	defN   int64 // BENCH.md's default N
	quickN int64 // -quick: a smoke-sized N
	ops    func(n int64, w int) float64
	run    func(n int64, w int) result
}

func fail(format string, args ...interface{}) {
	os.Stdout.Sync()
	fmt.Fprintf(os.Stderr, "bench-go: FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// ---- spawn: N goroutines each doing one atomic add; wait with a WaitGroup ----
func runSpawn(n int64, w int) result {
	var cnt int64
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			atomic.AddInt64(&cnt, 1)
			wg.Done()
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	if c := atomic.LoadInt64(&cnt); c != n {
		fail("spawn: counter %d, want %d", c, n)
	}
	return result{elapsed: d}
}

// ---- skynet: 10-ary tree, one result channel (cap 10) per parent ----
func skynetNode(c chan<- int64, num, size int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64, 10)
	sub := size / 10
	for i := int64(0); i < 10; i++ {
		go skynetNode(rc, num+i*sub, sub)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynetCoroutines(n int64) int64 { // nodes of the tree: n + n/10 + ... + 1
	var t int64
	for s := n; s >= 1; s /= 10 {
		t += s
	}
	return t
}

func runSkynet(n int64, w int) result {
	c := make(chan int64, 1)
	t0 := time.Now()
	go skynetNode(c, 0, n)
	sum := <-c
	d := time.Since(t0)
	if want := n * (n - 1) / 2; sum != want {
		fail("skynet: sum %d, want %d", sum, want)
	}
	return result{elapsed: d, extra: fmt.Sprintf(" coroutines=%d", skynetCoroutines(n))}
}

// ---- pingpong: two goroutines, two unbuffered channels, N round trips ----
func runPingpong(n int64, w int) result {
	a2b := make(chan int64)
	b2a := make(chan int64)
	var bad int64
	var wg sync.WaitGroup
	wg.Add(2)
	t0 := time.Now()
	go func() { // A
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			a2b <- i
			if v := <-b2a; v != i+1 {
				atomic.AddInt64(&bad, 1)
			}
		}
	}()
	go func() { // B
		defer wg.Done()
		for i := int64(0); i < n; i++ {
			v := <-a2b
			if v != i {
				atomic.AddInt64(&bad, 1)
			}
			b2a <- v + 1
		}
	}()
	wg.Wait()
	d := time.Since(t0)
	if bad != 0 {
		fail("pingpong: %d values out of order", bad)
	}
	return result{elapsed: d}
}

// ---- yield: 2W goroutines each yielding N times, checking that yield hands over ----
//
// Each goroutine publishes in its own cache line how many yields it has started. Every
// `sample`-th yield it snapshots the others' counts before yielding and compares after:
// at 1 worker every other goroutine that still has yields to do should have started
// another one meanwhile; at more workers at least one should have. A sample where
// that did not happen is a miss (see the tolerance below; yield_miss_pct).
// The owner's store is a plain store (it is the only writer; an aligned 8-byte store is
// atomic on amd64) so that no locked instruction sits in the measured loop, matching
// the C twin's relaxed store; the readers use atomic loads. `sample` is a power of two,
// tested with a mask: a division in the loop would cost about as much as the yield.
type padded struct {
	v int64
	_ [56]byte
}

func runYield(n int64, w int) result {
	k := 2 * w
	cnt := make([]padded, k)
	sample := int64(16)
	if w > 1 {
		sample = 256 // reading lines other cores write costs cache misses
	}
	var fails, misses, checks int64
	var wg sync.WaitGroup
	wg.Add(k)
	t0 := time.Now()
	for g := 0; g < k; g++ {
		go func(me int) {
			defer wg.Done()
			snap := make([]int64, k)
			var myChecks, myFails, myMisses int64
			for it := int64(1); it <= n; it++ {
				check := it&(sample-1) == 0
				if check {
					for j := 0; j < k; j++ {
						snap[j] = atomic.LoadInt64(&cnt[j].v)
					}
				}
				cnt[me].v = it // plain store: see the comment above
				runtime.Gosched()
				if !check {
					continue
				}
				eligible, advanced := 0, 0
				for j := 0; j < k; j++ {
					if j == me || snap[j] >= n {
						continue // finished ones start no further yield
					}
					eligible++
					if atomic.LoadInt64(&cnt[j].v) != snap[j] {
						advanced++
					}
				}
				if eligible == 0 {
					continue
				}
				myChecks++
				if w == 1 && advanced != eligible {
					myFails++
				}
				if advanced == 0 {
					myMisses++
				}
			}
			atomic.AddInt64(&checks, myChecks)
			atomic.AddInt64(&fails, myFails)
			atomic.AddInt64(&misses, myMisses)
		}(g)
	}
	wg.Wait()
	d := time.Since(t0)
	for j := 0; j < k; j++ {
		if cnt[j].v != n {
			fail("yield: goroutine %d did %d yields, want %d", j, cnt[j].v, n)
		}
	}
	// Go's Gosched does not promise strict round robin: every 61st scheduling round
	// a P takes from the global queue first, which can hand the yielder straight back
	// (about 1% of yields at 1 worker), and at more workers a P whose local queue is
	// empty takes the yielder back from the global queue while the others sit in the
	// other P's queue. So the twin only fails when yield looks like a no-op; the C
	// twin is strict at 1 worker, as wyn's API promises. yield_miss_pct reports it.
	missed := fails
	if w > 1 {
		missed = misses
	}
	if checks == 0 && n >= 2*sample {
		fail("yield: no yield could be checked")
	}
	if missed*2 > checks {
		fail("yield: %d of %d sampled yields resumed before the other goroutines ran", missed, checks)
	}
	pct := 0.0
	if checks > 0 {
		pct = 100 * float64(missed) / float64(checks)
	}
	return result{elapsed: d, extra: fmt.Sprintf(" yield_miss_pct=%.2f", pct)}
}

// ---- chan_spsc: one producer, one consumer, channel capacity 1024 ----
func runChanSPSC(n int64, w int) result {
	ch := make(chan int64, 1024)
	done := make(chan int64, 1)
	t0 := time.Now()
	go func() {
		for i := int64(1); i <= n; i++ {
			ch <- i
		}
	}()
	go func() {
		var s int64
		for i := int64(0); i < n; i++ {
			s += <-ch
		}
		done <- s
	}()
	s := <-done
	d := time.Since(t0)
	if want := n * (n + 1) / 2; s != want {
		fail("chan_spsc: sum %d, want %d", s, want)
	}
	return result{elapsed: d}
}

// ---- chan_mpmc: 4 producers, 4 consumers, one channel capacity 1024, N in total ----
const mpmcProducers, mpmcConsumers = 4, 4

func runChanMPMC(n int64, w int) result {
	ch := make(chan int64, 1024)
	type part struct{ sum, count int64 }
	parts := make(chan part, mpmcConsumers)
	var pwg sync.WaitGroup
	pwg.Add(mpmcProducers)
	t0 := time.Now()
	for p := 0; p < mpmcProducers; p++ {
		go func(p int64) {
			defer pwg.Done()
			for i := p; i < n; i += mpmcProducers {
				ch <- i + 1
			}
		}(int64(p))
	}
	for c := 0; c < mpmcConsumers; c++ {
		go func() {
			var pt part
			for v := range ch {
				pt.sum += v
				pt.count++
			}
			parts <- pt
		}()
	}
	pwg.Wait()
	close(ch)
	var sum, count int64
	for c := 0; c < mpmcConsumers; c++ {
		pt := <-parts
		sum += pt.sum
		count += pt.count
	}
	d := time.Since(t0)
	if want := n * (n + 1) / 2; sum != want || count != n {
		fail("chan_mpmc: sum %d count %d, want %d and %d", sum, count, want, n)
	}
	return result{elapsed: d}
}

// ---- ring: 503 goroutines, unbuffered inboxes, a token passed N hops ----
const ringSize = 503

func runRing(n int64, w int) result {
	inbox := make([]chan int64, ringSize)
	for i := range inbox {
		inbox[i] = make(chan int64)
	}
	done := make(chan int, 1)
	var wg sync.WaitGroup
	wg.Add(ringSize)
	for i := 0; i < ringSize; i++ {
		go func(id int) {
			defer wg.Done()
			in, out := inbox[id], inbox[(id+1)%ringSize]
			for t := range in {
				if t == 0 {
					done <- id
					return
				}
				out <- t - 1
			}
		}(i)
	}
	t0 := time.Now()
	inbox[0] <- n
	last := <-done
	d := time.Since(t0)
	for i := range inbox { // the token is gone: release the others
		close(inbox[i])
	}
	wg.Wait()
	if want := int(n % ringSize); last != want {
		fail("ring: token stopped at %d, want %d", last, want)
	}
	return result{elapsed: d, extra: fmt.Sprintf(" last=%d", last)}
}

// ---- fib: fib(N); n >= 15 spawns fib(n-1) and computes fib(n-2) inline ----
const fibCutoff = 15

func fibSerial(n int) int64 {
	if n < 2 {
		return int64(n)
	}
	return fibSerial(n-1) + fibSerial(n-2)
}

// fibResult carries a subtree's value and its spawn count to the parent, so no
// counter is shared between the workers (a shared atomic would bounce its cache
// line at every spawn and measure that).
type fibResult struct{ value, spawns int64 }

func fibPar(n int) fibResult {
	if n < fibCutoff {
		return fibResult{fibSerial(n), 0}
	}
	ch := make(chan fibResult, 1)
	go func() { ch <- fibPar(n - 1) }()
	b := fibPar(n - 2)
	a := <-ch
	return fibResult{a.value + b.value, 1 + a.spawns + b.spawns}
}

// fibSeq is the same tree with no goroutines: the leaves' cost alone, on one thread.
// fib's ratio wyn/Go includes the two compilers' code for fibSerial; total_ms -
// serial_ms at 1 worker is the runtime's share.
func fibSeq(n int) int64 {
	if n < fibCutoff {
		return fibSerial(n)
	}
	return fibSeq(n-1) + fibSeq(n-2)
}

var fibSink int64

func fibSerialMs(n int) float64 {
	t0 := time.Now()
	fibSink = fibSeq(n)
	return float64(time.Since(t0).Nanoseconds()) / 1e6
}

func fibExpect(n int) (value, spawns int64) {
	a, b := int64(0), int64(1) // fib(0), fib(1)
	for i := 0; i < n; i++ {
		a, b = b, a+b
	}
	s := make([]int64, n+1) // spawns(m) = 1 + spawns(m-1) + spawns(m-2) for m >= cutoff
	for m := fibCutoff; m <= n; m++ {
		s[m] = 1 + s[m-1] + s[m-2]
	}
	return a, s[n]
}

func runFib(n int64, w int) result {
	t0 := time.Now()
	r := fibPar(int(n))
	d := time.Since(t0)
	v, spawns := r.value, r.spawns
	wantV, wantS := fibExpect(int(n))
	if v != wantV || spawns != wantS {
		fail("fib: value %d spawns %d, want %d and %d", v, spawns, wantV, wantS)
	}
	return result{elapsed: d, extra: fmt.Sprintf(" spawns=%d value=%d", spawns, v)}
}

// ---- driver ----
func perN(n int64, w int) float64     { return float64(n) }
func perOne(n int64, w int) float64   { return 1 }
func perYield(n int64, w int) float64 { return float64(2 * int64(w) * n) }

// The order of `all` (the C twin uses the same order and adds switch_floor last).
var workloads = []workload{
	{"spawn", 1000000, 10000, perN, runSpawn},
	{"skynet", 1000000, 10000, perOne, runSkynet},
	{"pingpong", 1000000, 10000, perN, runPingpong},
	{"yield", 10000000, 100000, perYield, runYield},
	{"chan_spsc", 10000000, 100000, perN, runChanSPSC},
	{"chan_mpmc", 10000000, 100000, perN, runChanMPMC},
	{"ring", 10000000, 100000, perN, runRing},
	{"fib", 35, 27, perOne, runFib},
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func validN(name string, n int64) error {
	switch name {
	case "skynet":
		for m := n; m > 1; m /= 10 {
			if m%10 != 0 {
				return fmt.Errorf("skynet: -n (leaves) must be a power of 10, got %d", n)
			}
		}
		if n < 1 {
			return fmt.Errorf("skynet: -n must be >= 1")
		}
	case "fib":
		if n < 1 || n > 60 {
			return fmt.Errorf("fib: -n is the argument of fib, 1..60, got %d (with -workload all, use -quick or no -n)", n)
		}
	default:
		if n < 1 {
			return fmt.Errorf("%s: -n must be >= 1", name)
		}
	}
	return nil
}

func main() {
	name := flag.String("workload", "all", "workload name, or all")
	workers := flag.Int("workers", runtime.NumCPU(), "worker threads (GOMAXPROCS)")
	nFlag := flag.Int64("n", 0, "N (0: the workload's default)")
	runs := flag.Int("runs", 5, "timed runs (the median is reported), after one warm-up")
	quick := flag.Bool("quick", false, "smoke-sized default N")
	flag.Parse()
	if flag.NArg() != 0 || *workers < 1 || *runs < 1 || *nFlag < 0 {
		fmt.Fprintln(os.Stderr, "usage: bench-go -workload NAME|all -workers W -n N -runs R [-quick]")
		os.Exit(2)
	}
	var sel []workload
	switch *name {
	case "all":
		sel = workloads
	case "switch_floor":
		fmt.Fprintln(os.Stderr, "bench-go: switch_floor has no Go twin (raw fcontext only); skipped")
		return
	default:
		for _, wl := range workloads {
			if wl.name == *name {
				sel = append(sel, wl)
			}
		}
		if sel == nil {
			fmt.Fprintf(os.Stderr, "bench-go: unknown workload %q\n", *name)
			os.Exit(2)
		}
	}
	w := *workers
	runtime.GOMAXPROCS(w)
	ns := make([]int64, len(sel))
	for i, wl := range sel { // check every N first, then run
		ns[i] = *nFlag
		if ns[i] == 0 {
			ns[i] = wl.defN
			if *quick {
				ns[i] = wl.quickN
			}
		}
		if err := validN(wl.name, ns[i]); err != nil {
			fmt.Fprintln(os.Stderr, "bench-go:", err)
			os.Exit(2)
		}
	}
	for i, wl := range sel {
		n := ns[i]
		var times []time.Duration
		var last result
		// Warm-up: at least one run and at least 200 ms, so short workloads are
		// not timed on a CPU still ramping up (the C twin does the same).
		warmStart := time.Now()
		for r := 0; r == 0 || time.Since(warmStart) < 200*time.Millisecond; r++ {
			runtime.GC()
			last = wl.run(n, w)
		}
		for r := 0; r < *runs; r++ {
			runtime.GC() // start each run from a collected heap, outside the timing
			last = wl.run(n, w)
			times = append(times, last.elapsed)
		}
		med := median(times)
		more := ""
		if wl.name == "fib" { // after the timed runs, so it cannot disturb them
			more = fmt.Sprintf(" serial_ms=%.3f", fibSerialMs(int(n)))
		}
		fmt.Printf("workload=%s workers=%d n=%d ns_per_op=%.2f total_ms=%.3f%s%s\n",
			wl.name, w, n, float64(med.Nanoseconds())/wl.ops(n, w),
			float64(med.Nanoseconds())/1e6, last.extra, more)
	}
}
