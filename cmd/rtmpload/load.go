package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// behindLimit is the lateness from which a stream counts as not keeping up
// with real time.
const behindLimit = time.Second

// result is what a run measured.
type result struct {
	opts *options
	clip *clip

	ramp   time.Duration // from the first start until the window opened
	window time.Duration // measurement window actually run
	early  bool          // the run was interrupted (signal) before the end

	streams             []*publisher
	sentTotal, sentWin  int64
	selfCPU             time.Duration
	setupMax, setupMean time.Duration

	gwStart, gwEnd, gwBase procSample
	gwErr                  error

	httpOK, httpTried int
	httpErrs          []string
}

// loadTest runs the streams and measures.
func loadTest(ctx context.Context, o *options, progress io.Writer) (*result, error) {
	c, err := loadClip(o.file, uint32(o.chunkSize))
	if err != nil {
		return nil, err
	}
	res := &result{opts: o, clip: c}
	fmt.Fprintf(progress, "rtmpload: %d streams to rtmp://%s/%s/%s-{0..%d}: %s, %.2f Mbit/s, %d messages, loop %.2f s\n",
		o.n, o.addr, o.app, o.name, o.n-1, o.file, c.bitrate()/1e6, len(c.tags), float64(c.period)/1000)

	if o.pid > 0 {
		if res.gwBase, err = sampleProc(o.pid); err != nil {
			return nil, fmt.Errorf("-pid: %w", err)
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var finished atomic.Int64
	begin := time.Now()
	for i := range o.n {
		p := &publisher{
			addr:      o.addr,
			app:       o.app,
			name:      fmt.Sprintf("%s-%d", o.name, i),
			clip:      c,
			chunkSize: uint32(o.chunkSize),
			setup:     o.setup,
		}
		res.streams = append(res.streams, p)
		delay := o.ramp * time.Duration(i) / time.Duration(o.n)
		wg.Go(func() {
			defer finished.Add(1)
			select {
			case <-time.After(delay):
			case <-runCtx.Done():
				p.fail(fmt.Errorf("not started: %w", context.Cause(runCtx)))
				return
			}
			p.run(runCtx)
		})
	}

	allDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(allDone)
	}()

	// The window opens when every stream has started or failed; a slow
	// setup can hold it back by at most the setup timeout.
	settled := func() bool {
		n := int64(0)
		for _, p := range res.streams {
			if p.started.Load() {
				n++
			}
		}
		return n+finished.Load() >= int64(o.n)
	}
	limit := time.After(o.ramp + o.setup)
	tick := time.NewTicker(10 * time.Millisecond)
wait:
	for !settled() {
		select {
		case <-tick.C:
		case <-limit:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	tick.Stop()

	winStart := time.Now()
	res.ramp = winStart.Sub(begin)
	sentStart := res.sent()
	cpuStart := selfCPU()
	if o.pid > 0 {
		res.gwStart, res.gwErr = sampleProc(o.pid)
	}
	fmt.Fprintf(progress, "rtmpload: window opens after %.1f s: %d streams publishing\n", res.ramp.Seconds(), res.live())

	var ticks <-chan time.Time
	if o.progress > 0 {
		t := time.NewTicker(o.progress)
		defer t.Stop()
		ticks = t.C
	}
	end := time.NewTimer(o.duration)
	defer end.Stop()
	lastSent, lastAt := sentStart, winStart
loop:
	for {
		select {
		case <-end.C:
			break loop
		case <-ctx.Done():
			res.early = true
			break loop
		case <-allDone:
			// Every stream failed: nothing left to measure.
			res.early = true
			break loop
		case now := <-ticks:
			s := res.sent()
			fmt.Fprintf(progress, "rtmpload: %5.0f s  %d live  %.1f Mbit/s  max lag %v\n",
				now.Sub(winStart).Seconds(), res.live(), float64(s-lastSent)*8/now.Sub(lastAt).Seconds()/1e6, res.maxLag())
			lastSent, lastAt = s, now
		}
	}
	res.window = time.Since(winStart)
	res.sentWin = res.sent() - sentStart
	res.selfCPU = selfCPU() - cpuStart
	if o.pid > 0 && res.gwErr == nil {
		res.gwEnd, res.gwErr = sampleProc(o.pid)
	}
	if o.http != "" && !res.early {
		res.checkHTTP(ctx)
	}

	cancel()
	wg.Wait()
	res.sentTotal = res.sent()
	var sum time.Duration
	n := 0
	for _, p := range res.streams {
		if p.setupDur > 0 {
			sum += p.setupDur
			n++
			res.setupMax = max(res.setupMax, p.setupDur)
		}
	}
	if n > 0 {
		res.setupMean = sum / time.Duration(n)
	}
	return res, nil
}

// sent is the byte count of all streams so far.
func (r *result) sent() int64 {
	var n int64
	for _, p := range r.streams {
		n += p.sent.Load()
	}
	return n
}

// live counts the streams publishing now.
func (r *result) live() int {
	n := 0
	for _, p := range r.streams {
		if p.started.Load() && !p.failed.Load() {
			n++
		}
	}
	return n
}

// maxLag is the largest lateness of any stream.
func (r *result) maxLag() time.Duration {
	var m int64
	for _, p := range r.streams {
		m = max(m, p.lagMax.Load())
	}
	return time.Duration(m) * time.Microsecond
}

// checkHTTP fetches every stream's multivariant playlist, a few at a time.
func (r *result) checkHTTP(ctx context.Context) {
	const workers = 16
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
	}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(r.streams)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(r.streams) || ctx.Err() != nil {
					return
				}
				u := fmt.Sprintf("%s/%s/%s/index.m3u8", r.opts.http, r.opts.app, r.streams[i].name)
				err := get(ctx, client, u)
				mu.Lock()
				r.httpTried++
				if err == nil {
					r.httpOK++
				} else {
					r.httpErrs = append(r.httpErrs, err.Error())
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// get fetches u and requires a 200 with a playlist body.
func get(ctx context.Context, client *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if !strings.HasPrefix(string(body), "#EXTM3U") {
		return fmt.Errorf("GET %s: not a playlist", u)
	}
	return nil
}

// failed reports whether the run should exit non-zero.
func (r *result) failed() bool {
	for _, p := range r.streams {
		if p.err != nil {
			return true
		}
	}
	return r.early || r.httpOK < r.httpTried || r.gwErr != nil
}

// print writes the summary.
func (r *result) print(w io.Writer) {
	o := r.opts
	ok, behind := 0, 0
	errs := map[string]int{}
	for _, p := range r.streams {
		if p.err != nil {
			errs[p.err.Error()]++
			continue
		}
		ok++
		if time.Duration(p.lagMax.Load())*time.Microsecond > behindLimit {
			behind++
		}
	}
	secs := r.window.Seconds()
	nominal := r.clip.bitrate() * float64(o.n)
	achieved := float64(r.sentWin) * 8 / secs

	fmt.Fprintf(w, "streams      %d ok, %d failed (of %d)", ok, o.n-ok, o.n)
	if r.early {
		fmt.Fprint(w, "; the window was cut short")
	}
	fmt.Fprintln(w)
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return errs[keys[i]] > errs[keys[j]] })
	for i, k := range keys {
		if i == 5 {
			fmt.Fprintf(w, "             ... %d more kinds of error\n", len(keys)-i)
			break
		}
		fmt.Fprintf(w, "  error      %d× %s\n", errs[k], k)
	}
	fmt.Fprintf(w, "setup        mean %v, max %v (dial, handshake, connect, publish)\n",
		r.setupMean.Round(time.Millisecond), r.setupMax.Round(time.Millisecond))
	fmt.Fprintf(w, "window       %.1f s after a %.1f s ramp\n", secs, r.ramp.Seconds())
	fmt.Fprintf(w, "sent         %s in the window, %s in all\n", bytesString(r.sentWin), bytesString(r.sentTotal))
	if secs < 1 {
		// Rates over a window this short would mean nothing.
		return
	}
	fmt.Fprintf(w, "rate         %.1f Mbit/s = %.2f per stream (clip %.2f Mbit/s: %.1f%% of nominal)\n",
		achieved/1e6, achieved/1e6/float64(o.n), r.clip.bitrate()/1e6, 100*achieved/nominal)
	fmt.Fprintf(w, "lag          max %v; %d streams more than %v behind real time\n",
		r.maxLag().Round(time.Millisecond), behind, behindLimit)
	fmt.Fprintf(w, "tool CPU     %.1f%% of one core\n", 100*r.selfCPU.Seconds()/secs)
	if o.pid > 0 {
		if r.gwErr != nil {
			fmt.Fprintf(w, "gateway      %v\n", r.gwErr)
		} else {
			wall := r.gwEnd.at.Sub(r.gwStart.at).Seconds()
			cpu := 100 * (r.gwEnd.cpu - r.gwStart.cpu).Seconds() / wall
			fmt.Fprintf(w, "gateway CPU  %.1f%% of one core = %.3f%% per stream\n", cpu, cpu/float64(o.n))
			fmt.Fprintf(w, "gateway RSS  %s (%s before the run, %s per stream), peak %s\n",
				mib(r.gwEnd.rss), mib(r.gwBase.rss), mib((r.gwEnd.rss-r.gwBase.rss)/int64(o.n)), mib(r.gwEnd.hwm))
		}
	}
	if r.httpTried > 0 || o.http != "" {
		fmt.Fprintf(w, "http         %d/%d index.m3u8 answered 200\n", r.httpOK, r.httpTried)
		for i, e := range r.httpErrs {
			if i == 5 {
				fmt.Fprintf(w, "             ... %d more\n", len(r.httpErrs)-i)
				break
			}
			fmt.Fprintf(w, "  error      %s\n", e)
		}
	}
}

// bytesString formats n bytes in decimal units.
func bytesString(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// mib formats n bytes in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
