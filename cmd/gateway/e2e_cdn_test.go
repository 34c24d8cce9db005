package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livegate/gateway/hls"
	"github.com/livegate/gateway/hls/hlstest"
)

// The gateway behind a real cache. nginx runs docs/nginx-cache.conf, the
// example operators copy, with only its addresses and paths replaced, and
// the tests check through it what a CDN edge must get right: new segments
// reach players within a target duration, media is fetched from the origin
// once and then served from the cache with the same bytes, playlists are
// cached briefly, LL-HLS delivery directives are separate cache entries
// that block until their part exists, errors are not cached, and nothing
// stale is served after a publisher reconnects.

// cdnSlack absorbs polling intervals and scheduling under -race on a busy
// CI machine in the timing bounds below.
const cdnSlack = 300 * time.Millisecond

// Each variant is one test with one stream: a viewer watches it through
// the cache from before it exists until it ends, across a publisher that is
// killed and comes back, while the test probes the cache's behaviour.
func TestE2ECDNCache(t *testing.T) {
	t.Parallel()
	requireNginx(t)
	src := clip(t, 8)

	t.Run("fmp4", func(t *testing.T) {
		t.Parallel()
		cfg := testConfig("fmp4")
		// TD 2 s gives playlists max-age=1, which nginx keeps for less than
		// 2 s (it counts whole seconds): within one target duration.
		cfg.HLS.SegmentDuration = 2 * time.Second
		gw := startGateway(t, cfg)
		cdn := startNginxCache(t, gw.HTTPAddr().String())
		testCDNFMP4(t, gw, cdn, src)
	})

	t.Run("lowlatency", func(t *testing.T) {
		t.Parallel()
		gw := startGateway(t, testConfig("lowlatency"))
		cdn := startNginxCache(t, gw.HTTPAddr().String())
		testCDNLowLatency(t, gw, cdn, src)
	})
}

// testCDNFMP4: 404s are not cached; a viewer polling through the cache sees
// every new segment within one target duration of the origin; init and
// segments are a MISS once and then HITs with the origin's bytes and
// headers, whatever other query arguments come along; concurrent first
// requests reach the origin once; playlists are HITs within their max-age
// and fetched again after it; a reconnect leaves nothing stale.
func testCDNFMP4(t *testing.T, gw *App, cdn *nginxCache, src string) {
	const stream = "cdn"
	o, k := streamURLs(gw, cdn, stream)
	media := hls.MediaPlaylistName

	// Before the stream exists: 404, no-store, CORS, and never a HIT.
	for range 2 {
		r := cdnGetT(t, k(media))
		if r.code != http.StatusNotFound || r.cache() == "HIT" ||
			r.hdr.Get("Cache-Control") != "no-store" || r.hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("playlist before the stream exists, through the cache: %s, want 404 no-store with CORS, not a HIT", r)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := watchCDN(t, o(media), k, false)
	pub := publishFFmpeg(t, ctx, src, rtmpURL(gw, "live", stream))

	// The 404s the cache passed on must not outlive the origin's: the first
	// request after the origin has the playlist gets it. (The watcher checks
	// the same on every poll.)
	var cacheBefore, cacheAfter cdnResponse
	if !waitFor(15*time.Second, func() bool {
		cacheBefore = cdnGet(k(media))
		if cdnGet(o(media)).code != http.StatusOK {
			return false
		}
		cacheAfter = cdnGet(k(media))
		return true
	}) {
		t.Fatal("the origin never served the media playlist")
	}
	if cacheAfter.code != http.StatusOK {
		t.Fatalf("cache just after the origin had the playlist: %s (just before: %s), want 200", cacheAfter, cacheBefore)
	}

	var pl *hlstest.MediaPlaylist
	if !waitFor(15*time.Second, func() bool {
		pl = parseMediaResponse(t, cdnGetT(t, o(media)))
		return pl != nil && len(pl.Segments) >= 2
	}) {
		t.Fatal("no two segments at the origin")
	}

	// Init and segment: MISS, then HIT, with the origin's bytes and headers,
	// other query arguments ignored.
	checkMissThenHit(t, o, k, pl.Segments[0].Map)
	checkMissThenHit(t, o, k, pl.Segments[0].URI)

	// Concurrent first requests for a segment coalesce (proxy_cache_lock):
	// one goes to the origin, the others are answered from the cache.
	seg := pl.Segments[1].URI
	want := cdnGetT(t, o(seg))
	rs := cdnGetConcurrently(k(seg), 8)
	if misses := countCacheStatus(rs, "MISS"); misses != 1 {
		t.Errorf("8 concurrent first requests for %s: %d MISS, want 1 (cacheStatuses %v)", seg, misses, cacheStatuses(rs))
	}
	for _, r := range rs {
		if r.code != http.StatusOK || !bytes.Equal(r.body, want.body) {
			t.Errorf("coalesced request for %s: %s, %d bytes, want 200 with the origin's %d bytes", seg, r, len(r.body), len(want.body))
		}
	}

	// From now on the viewer fetches every object it sees listed, so that
	// the cache holds them before the publisher dies.
	w.startPrefetch()
	again := cdnReconnect(t, ctx, gw, w, pub, src, stream)

	// While the second publisher runs: playlist TTL and a CORS preflight.
	checkPlaylistTTL(t, o, k)
	req, _ := http.NewRequest(http.MethodOptions, k(media), nil)
	req.Header.Set("Origin", "https://player.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "range")
	if r := cdnDo(req); r.code != http.StatusNoContent || r.hdr.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(r.hdr.Get("Access-Control-Allow-Headers"), "Range") {
		t.Errorf("preflight through the cache: %s, want 204 with the origin's CORS headers", r)
	}

	if err := again.Wait(); err != nil {
		t.Fatalf("second ffmpeg: %v", err)
	}
	w.check(t, o, k)
}

// testCDNLowLatency: LL-HLS blocking playlist reloads through the cache
// answer as soon as the origin does, each directive is its own cache
// entry, concurrent requests for one directive coalesce, a preload-hinted
// part arrives complete, and a reconnect leaves nothing stale.
func testCDNLowLatency(t *testing.T, gw *App, cdn *nginxCache, src string) {
	const stream = "cdn-ll"
	o, k := streamURLs(gw, cdn, stream)
	media := hls.MediaPlaylistName
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := watchCDN(t, o(media), k, true)
	pub := publishFFmpeg(t, ctx, src, rtmpURL(gw, "live", stream))

	var pl *hlstest.MediaPlaylist
	if !waitFor(15*time.Second, func() bool {
		pl = parseMediaResponse(t, cdnGet(o(media)))
		return pl != nil && len(pl.Segments) >= 1 && pl.PreloadHint != ""
	}) {
		t.Fatal("no LL-HLS playlist with a segment and a preload hint at the origin")
	}

	// A player's blocking reloads, each asking for the hinted part, sent to
	// the cache and, at the same moment, to the origin directly.
	msn, part, ok := parsePartName(pl.PreloadHint)
	if !ok {
		t.Fatalf("preload hint %q", pl.PreloadHint)
	}
	type reload struct {
		q    string
		resp cdnResponse
	}
	var reloads []reload
	var lags, waits []time.Duration
	for range 6 {
		q := fmt.Sprintf("?_HLS_msn=%d&_HLS_part=%d", msn, part)
		var or, cr cdnResponse
		var wg sync.WaitGroup
		wg.Go(func() { or = cdnGet(o(media) + q) })
		wg.Go(func() { cr = cdnGet(k(media) + q) })
		wg.Wait()
		if or.code != http.StatusOK || cr.code != http.StatusOK || cr.cache() != "MISS" {
			t.Fatalf("blocking reload %s: origin %s, cache %s; want 200 and a cache MISS", q, or, cr)
		}
		cpl := parseMediaResponse(t, cr)
		if cpl == nil || !playlistSatisfies(cpl, msn, part) {
			t.Fatalf("blocking reload %s through the cache: the playlist lacks part %d.%d:\n%s", q, msn, part, cr.body)
		}
		lags = append(lags, cr.done.Sub(or.done))
		waits = append(waits, cr.done.Sub(cr.start))
		reloads = append(reloads, reload{q, cr})
		if msn, part, ok = parsePartName(cpl.PreloadHint); !ok {
			t.Fatalf("playlist after %s has no preload hint:\n%s", q, cr.body)
		}
	}
	// The median, so that one stall of a loaded test machine does not count.
	if med := slices.Sorted(slices.Values(lags))[len(lags)/2]; med > cdnSlack {
		t.Errorf("blocking reloads through the cache answered a median %v after the origin's (%v)", med, roundDurations(lags))
	}
	t.Logf("blocking reloads through the cache: held %v, answered after the origin by %v", roundDurations(waits), roundDurations(lags))

	// The same directive again is a HIT with the same playlist; other query
	// arguments and another argument order are the same entry; _HLS_skip
	// makes another one. (Each reload above was a MISS already: with one
	// shared entry the later ones would have been HITs with an old
	// playlist.)
	// nginx keeps these max-age=1 entries for at least a second; later
	// than that (a stalled test), a refetch proves nothing either way.
	last := reloads[len(reloads)-1]
	m, p := directiveOf(last.q)
	for _, q := range []string{last.q, last.q + "&cb=7", fmt.Sprintf("?_HLS_part=%d&x=1&_HLS_msn=%d", p, m)} {
		r := cdnGetT(t, k(media)+q)
		if r.cache() != "HIT" && r.start.Sub(last.resp.done) > 900*time.Millisecond {
			t.Logf("blocking reload %s again: %v after the first answer, too late to expect a HIT", q, r.start.Sub(last.resp.done))
			continue
		}
		if r.cache() != "HIT" || !bytes.Equal(r.body, last.resp.body) {
			t.Errorf("blocking reload %s again: %s, want a HIT with the playlist of %s", q, r, last.q)
		}
	}
	if r := cdnGetT(t, k(media)+last.q+"&_HLS_skip=YES"); r.code != http.StatusOK || r.cache() == "HIT" {
		t.Errorf("blocking reload %s&_HLS_skip=YES: %s, want its own cache entry (not a HIT)", last.q, r)
	}
	prev := reloads[len(reloads)-2]
	if r := cdnGetT(t, k(media)+prev.q); r.cache() == "HIT" &&
		(!bytes.Equal(r.body, prev.resp.body) || bytes.Equal(r.body, last.resp.body)) {
		t.Errorf("blocking reload %s again: a HIT with another playlist than its own", prev.q)
	}

	// Concurrent viewers asking for the same next part: one request goes to
	// the origin, the others wait on nginx's cache lock and get its answer.
	q := fmt.Sprintf("?_HLS_msn=%d&_HLS_part=%d", msn, part)
	rs := cdnGetConcurrently(k(media)+q, 6)
	if misses := countCacheStatus(rs, "MISS"); misses != 1 {
		t.Errorf("6 concurrent blocking reloads %s: %d MISS, want 1 (cacheStatuses %v)", q, misses, cacheStatuses(rs))
	}
	first, lastDone := rs[0].done, rs[0].done
	for _, r := range rs {
		if r.code != http.StatusOK || !bytes.Equal(r.body, rs[0].body) {
			t.Errorf("coalesced blocking reload %s: %s, want 200 and one playlist for all", q, r)
		}
		first, lastDone = earlier(first, r.done), later(lastDone, r.done)
	}
	// nginx polls its cache lock every 500 ms; waiting until the 10 s lock
	// timeout would mean the lock was never released.
	spread := lastDone.Sub(first)
	if spread > 3*time.Second {
		t.Errorf("coalesced blocking reloads answered over %v, want within a few of nginx's 500 ms lock polls", spread)
	}
	t.Logf("6 coalesced blocking reloads: one origin request, answered over %v (nginx polls its cache lock every 500 ms)", spread.Round(time.Millisecond))

	// A preload-hinted part, requested through the cache before it exists,
	// arrives whole: the origin's bytes, a complete fMP4 fragment.
	pl = parseMediaResponse(t, cdnGetT(t, o(media)))
	if pl == nil || pl.PreloadHint == "" {
		t.Fatal("no preload hint")
	}
	hint := pl.PreloadHint
	r := cdnGetT(t, k(hint))
	if r.code != http.StatusOK || r.cache() != "MISS" {
		t.Fatalf("preload-hinted part %s through the cache: %s, want 200 MISS", hint, r)
	}
	want := cdnGetT(t, o(hint))
	if !bytes.Equal(r.body, want.body) {
		t.Errorf("preload-hinted part %s through the cache: %d bytes, the origin has %d other bytes", hint, len(r.body), len(want.body))
	}
	if boxes, err := fmp4Boxes(r.body); err != nil || !slices.Contains(boxes, "moof") || !slices.Contains(boxes, "mdat") {
		t.Errorf("preload-hinted part %s through the cache: boxes %v, %v; want a complete moof+mdat fragment", hint, boxes, err)
	}
	if again := cdnGetT(t, k(hint)); again.cache() != "HIT" || !bytes.Equal(again.body, want.body) {
		t.Errorf("preload-hinted part %s again: %s, want a HIT with the same bytes", hint, again)
	}
	t.Logf("preload-hinted part held %v through the cache, %d bytes", r.done.Sub(r.start).Round(time.Millisecond), len(r.body))

	// The viewer now fetches every part, segment and preload hint it sees,
	// so that the cache holds them when the publisher dies.
	w.startPrefetch()
	again := cdnReconnect(t, ctx, gw, w, pub, src, stream)
	if err := again.Wait(); err != nil {
		t.Fatalf("second ffmpeg: %v", err)
	}
	w.check(t, o, k)
}

// cdnReconnect waits until the viewer has fetched a few objects through the
// cache, kills the publisher (no unpublish: the stream waits for it), and
// publishes the clip's first 3 s again on the same name within the
// reconnect window. It returns the new publisher, which ends the stream.
func cdnReconnect(t *testing.T, ctx context.Context, gw *App, w *cdnWatch, pub *exec.Cmd, src, stream string) *exec.Cmd {
	t.Helper()
	if !waitFor(5*time.Second, func() bool { return w.prefetched() >= 3 }) {
		t.Fatal("the viewer fetched no objects through the cache")
	}
	_ = pub.Process.Signal(syscall.SIGKILL)
	_ = pub.Wait()
	if !waitFor(5*time.Second, func() bool { s := streamInfo(t, gw, "live", stream); return s != nil && !s.Live }) {
		t.Fatal("the gateway did not notice the publisher's death")
	}
	w.markKill()
	return publishFFmpeg(t, ctx, src, rtmpURL(gw, "live", stream), "-t", "3")
}

// cdnWatch is a viewer behind the cache. Every 50 ms it polls the media
// playlist at the origin and, right after, through the cache, and records
// when each segment first appears in each view; it checks that the cached
// playlist never goes back and is never an error while the origin has one;
// once prefetching, it fetches every object listed (and every LL-HLS
// preload hint) through the cache the first time it appears, keeping the
// bytes for a comparison with the origin at the end.
type cdnWatch struct {
	mu          sync.Mutex
	polls       int
	errs        []string
	prev        *hlstest.MediaPlaylist
	originSeen  map[int64]time.Time
	cacheSeen   map[int64]time.Time
	td, maxAge  int
	cacheStatus map[string]int
	timeline    []pollRecord
	uris        map[int64]string  // MSN → segment URI
	bodies      map[string][]byte // URI → bytes first fetched through the cache
	last        int64             // last MSN through the cache
	killedAt    int64             // last MSN when the publisher was killed
	disc        bool
	prefetch    bool
	hintBusy    bool
	hints       int

	stop context.CancelFunc
	done chan struct{} // closed when the cache showed EXT-X-ENDLIST or the watch stopped
	wg   sync.WaitGroup
}

const cdnPoll = 50 * time.Millisecond

func watchCDN(t *testing.T, origin string, k func(string) string, ll bool) *cdnWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &cdnWatch{
		originSeen: map[int64]time.Time{}, cacheSeen: map[int64]time.Time{}, cacheStatus: map[string]int{},
		uris: map[int64]string{}, bodies: map[string][]byte{}, last: -1, killedAt: -1,
		stop: cancel, done: make(chan struct{}),
	}
	w.wg.Go(func() {
		defer close(w.done)
		for i := 0; i < 1200; i++ { // bounded: 1 minute
			select {
			case <-ctx.Done():
				return
			case <-time.After(cdnPoll):
			}
			if w.poll(origin, k, ll) {
				return
			}
		}
	})
	t.Cleanup(w.finish)
	return w
}

// poll looks once; it reports whether the cache showed EXT-X-ENDLIST.
func (w *cdnWatch) poll(origin string, k func(string) string, ll bool) (ended bool) {
	or := cdnGet(origin)
	cr := cdnGet(k(hls.MediaPlaylistName))
	opl, _ := hlstest.ParseMediaPlaylist(or.body)
	cpl, err := hlstest.ParseMediaPlaylist(cr.body)

	w.mu.Lock()
	if or.code == http.StatusOK && opl != nil {
		w.td = opl.TargetDuration
		for _, s := range opl.Segments {
			if _, ok := w.originSeen[s.MSN]; !ok {
				w.originSeen[s.MSN] = or.done
			}
		}
	}
	switch {
	case cr.code == http.StatusNotFound && or.code == http.StatusNotFound:
		w.mu.Unlock()
		return false // not started yet
	case cr.code != http.StatusOK:
		w.errs = append(w.errs, fmt.Sprintf("playlist through the cache: %s while the origin answered %s", cr, or))
		w.mu.Unlock()
		return false
	case err != nil:
		w.errs = append(w.errs, fmt.Sprintf("playlist through the cache does not parse: %v", err))
		w.mu.Unlock()
		return false
	}
	w.polls++
	w.cacheStatus[cr.cache()]++
	rec := pollRecord{originDone: or.done, cacheStart: cr.start, originLast: -1,
		cacheLast: lastMSN(cpl), cacheEnd: cpl.Endlist, status: cr.cache(), cacheControl: cr.hdr.Get("Cache-Control")}
	if or.code == http.StatusOK && opl != nil {
		rec.originLast, rec.originEnd = lastMSN(opl), opl.Endlist
	}
	w.timeline = append(w.timeline, rec)
	if a, ok := maxAgeOf(cr.hdr); ok && !cpl.Endlist {
		w.maxAge = a
	}
	if p := w.prev; p != nil && (cpl.MediaSequence < p.MediaSequence || lastMSN(cpl) < lastMSN(p)) {
		w.errs = append(w.errs, fmt.Sprintf("playlist through the cache went back: media sequence %d→%d, last MSN %d→%d",
			p.MediaSequence, cpl.MediaSequence, lastMSN(p), lastMSN(cpl)))
	}
	w.prev = cpl
	w.last = max(w.last, lastMSN(cpl))
	w.disc = w.disc || cpl.DiscontinuitySequence > 0
	var objects []string
	for _, s := range cpl.Segments {
		w.disc = w.disc || s.Discontinuity
		if _, ok := w.cacheSeen[s.MSN]; !ok {
			w.cacheSeen[s.MSN] = cr.done
		}
		if u, ok := w.uris[s.MSN]; ok && u != s.URI {
			w.errs = append(w.errs, fmt.Sprintf("MSN %d was %s, now %s", s.MSN, u, s.URI))
		}
		w.uris[s.MSN] = s.URI
		objects = append(objects, s.Map, s.URI)
		for _, p := range s.Parts {
			objects = append(objects, p.URI)
		}
	}
	for _, p := range cpl.Parts {
		objects = append(objects, p.URI)
	}
	prefetch := w.prefetch
	objects = slices.DeleteFunc(objects, func(u string) bool { _, ok := w.bodies[u]; return ok || u == "" })
	hint := ""
	if prefetch && ll && cpl.PreloadHint != "" && !w.hintBusy {
		if _, ok := w.bodies[cpl.PreloadHint]; !ok {
			hint, w.hintBusy = cpl.PreloadHint, true
			w.hints++
		}
	}
	w.mu.Unlock()

	if prefetch {
		for _, u := range slices.Compact(objects) {
			w.store(u, cdnGet(k(u)), true)
		}
	}
	if hint != "" {
		// A hinted part blocks until it is complete: fetch it beside the
		// polling, one at a time. A hint may go unused (404) when the
		// publisher dies; what matters is that nothing wrong is cached.
		w.wg.Go(func() {
			r := cdnGet(k(hint))
			w.mu.Lock()
			w.hintBusy = false
			w.mu.Unlock()
			w.store(hint, r, false)
		})
	}
	return cpl.Endlist
}

// pollRecord is one look at both views, for diagnostics.
type pollRecord struct {
	originDone, cacheStart time.Time
	originLast, cacheLast  int64
	originEnd, cacheEnd    bool
	status, cacheControl   string
}

// logTimeline logs the polls between from and to (w.mu held).
func (w *cdnWatch) logTimeline(t *testing.T, from, to time.Time) {
	t.Helper()
	var b strings.Builder
	for _, r := range w.timeline {
		if r.originDone.Before(from) || r.originDone.After(to) {
			continue
		}
		fmt.Fprintf(&b, "  %s origin last %d end %v | %s cache last %d end %v %s %q\n",
			r.originDone.Format("15:04:05.000"), r.originLast, r.originEnd,
			r.cacheStart.Format("15:04:05.000"), r.cacheLast, r.cacheEnd, r.status, r.cacheControl)
	}
	t.Logf("polls around it:\n%s", b.String())
}

// store keeps the bytes first fetched for uri; a later fetch (a hinted part
// listed by then) must have the same bytes.
func (w *cdnWatch) store(uri string, r cdnResponse, must bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.code != http.StatusOK {
		if must {
			w.errs = append(w.errs, fmt.Sprintf("%s through the cache: %s", uri, r))
		}
		return
	}
	if b, ok := w.bodies[uri]; ok {
		if !bytes.Equal(b, r.body) {
			w.errs = append(w.errs, fmt.Sprintf("%s: two fetches through the cache, different bytes", uri))
		}
		return
	}
	w.bodies[uri] = r.body
}

func (w *cdnWatch) startPrefetch() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.prefetch = true
}

func (w *cdnWatch) prefetched() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.bodies)
}

func (w *cdnWatch) markKill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.killedAt = w.last
}

func (w *cdnWatch) finish() {
	w.stop()
	w.wg.Wait()
}

// check waits for the cache to show EXT-X-ENDLIST and checks everything
// the viewer saw.
func (w *cdnWatch) check(t *testing.T, o, k func(string) string) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(15 * time.Second):
		t.Error("the cache never showed EXT-X-ENDLIST")
	}
	w.finish()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, e := range w.errs {
		if i == 5 {
			t.Errorf("... %d more", len(w.errs)-5)
			break
		}
		t.Error(e)
	}

	// Staleness. nginx keeps a response with max-age=N for N to N+1
	// seconds (its clock counts whole seconds), so the viewer may be shown
	// a playlist older than the origin's for up to max-age + 1 s; when the
	// target duration is longer than that, for less than one target
	// duration. It is measured from a poll where the origin already had
	// something newer to a later request (its start) that the cache still
	// answered with the older playlist: a stalled test process can hide
	// staleness, never invent it.
	if w.td == 0 || w.maxAge == 0 {
		t.Fatalf("no target duration (%d) or max-age (%d) seen", w.td, w.maxAge)
	}
	limit := time.Duration(w.maxAge+1) * time.Second
	want := fmt.Sprintf("max-age %d s + 1 s", w.maxAge)
	if td := time.Duration(w.td) * time.Second; td >= limit {
		limit, want = td, fmt.Sprintf("one target duration (%v)", td)
	}
	var stalest time.Duration
	var stalestAt, newerAt pollRecord
	for i, r := range w.timeline {
		for _, o := range w.timeline[:i+1] {
			if o.originLast > r.cacheLast || (o.originEnd && !r.cacheEnd) {
				if d := r.cacheStart.Sub(o.originDone); d > stalest {
					stalest, stalestAt, newerAt = d, r, o
				}
				break // the earliest newer origin state is the one to measure from
			}
		}
	}
	if stalest > limit+cdnSlack {
		t.Errorf("at %s the cache still answered a playlist ending at MSN %d (ended %v); the origin had MSN %d (ended %v) %v earlier; want within %s",
			stalestAt.cacheStart.Format("15:04:05.000"), stalestAt.cacheLast, stalestAt.cacheEnd,
			newerAt.originLast, newerAt.originEnd, stalest.Round(time.Millisecond), want)
		w.logTimeline(t, newerAt.originDone.Add(-2*time.Second), stalestAt.cacheStart.Add(time.Second))
	}

	// When each segment was first seen in each view, for the log.
	var lags []time.Duration
	for msn, ot := range w.originSeen {
		if ct, ok := w.cacheSeen[msn]; ok {
			lags = append(lags, max(ct.Sub(ot), 0))
		} else {
			t.Errorf("segment %d: at the origin, never through the cache", msn)
		}
	}
	if len(lags) < 3 {
		t.Fatalf("only %d segments seen in both views", len(lags))
	}
	slices.Sort(lags)
	if w.cacheStatus["HIT"] == 0 || w.cacheStatus["HIT"] == w.polls {
		t.Errorf("playlist polls through the cache: %v, want HITs and refetches", w.cacheStatus)
	}
	t.Logf("through the cache (TD %d s, max-age %d s): longest staleness %v; %d segments first seen after the origin by median %v, max %v; playlist polls %v",
		w.td, w.maxAge, stalest.Round(time.Millisecond), len(lags), lags[len(lags)/2].Round(time.Millisecond),
		lags[len(lags)-1].Round(time.Millisecond), w.cacheStatus)

	// The reconnect: the playlist went on with a discontinuity.
	if w.killedAt < 0 {
		t.Fatal("the publisher was never killed")
	}
	if !w.disc {
		t.Error("no discontinuity through the cache after the reconnect")
	}
	if w.last <= w.killedAt {
		t.Errorf("last MSN %d through the cache, no further than %d at the kill", w.last, w.killedAt)
	}

	// Nothing stale: every object, first fetched through the cache when it
	// appeared (many before the publisher died), has the origin's bytes now
	// and is a HIT with those bytes.
	var stale []string
	kinds := map[string]int{}
	for uri, cached := range w.bodies {
		kinds[cdnObjectKind(uri)]++
		ob, cb := cdnGet(o(uri)), cdnGet(k(uri))
		if ob.code != http.StatusOK || !bytes.Equal(ob.body, cached) || cb.cache() != "HIT" || !bytes.Equal(cb.body, cached) {
			stale = append(stale, fmt.Sprintf("%s: first through the cache %d bytes; now origin %s %d bytes, cache %s %d bytes",
				uri, len(cached), ob, len(ob.body), cb, len(cb.body)))
		}
	}
	slices.Sort(stale)
	for i, s := range stale {
		if i == 5 {
			t.Errorf("... %d more", len(stale)-5)
			break
		}
		t.Errorf("stale or changed object: %s", s)
	}
	ll := w.hints > 0
	if kinds["segment"] < 3 || kinds["init"] < 2 || (ll && kinds["part"] < 5) {
		t.Errorf("objects compared: %v, want at least 3 segments, 2 inits (one per publisher) and, for LL-HLS, 5 parts", kinds)
	}
	t.Logf("reconnect through the cache: %d playlist polls, MSN %d at the kill, %d at the end; objects identical to the origin: %v; preload hints fetched: %d",
		w.polls, w.killedAt, w.last, kinds, w.hints)
}

// checkMissThenHit fetches a media object twice through the cache: a MISS,
// then a HIT, both with the origin's bytes and headers; a third request
// with other query arguments is the same cache entry.
func checkMissThenHit(t *testing.T, o, k func(string) string, name string) {
	t.Helper()
	if name == "" {
		t.Fatal("no object name in the playlist")
	}
	want := cdnGetT(t, o(name))
	if want.code != http.StatusOK {
		t.Fatalf("origin %s: %s", name, want)
	}
	for i, r := range []cdnResponse{cdnGetT(t, k(name)), cdnGetT(t, k(name)), cdnGetT(t, k(name)+"?cb=1&token=viewer42")} {
		wantStatus := "HIT"
		if i == 0 {
			wantStatus = "MISS"
		}
		if r.code != http.StatusOK || r.cache() != wantStatus {
			t.Errorf("%s through the cache, request %d: %s, want 200 %s", name, i+1, r, wantStatus)
			continue
		}
		if !bytes.Equal(r.body, want.body) {
			t.Errorf("%s through the cache, request %d: %d bytes differ from the origin's %d", name, i+1, len(r.body), len(want.body))
		}
		for _, h := range []string{"Cache-Control", "Content-Type", "Etag", "Last-Modified", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers"} {
			if r.hdr.Get(h) != want.hdr.Get(h) {
				t.Errorf("%s through the cache, request %d: %s %q, origin sent %q", name, i+1, h, r.hdr.Get(h), want.hdr.Get(h))
			}
		}
	}
	if cc := want.hdr.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("%s: Cache-Control %q, want immutable", name, cc)
	}
}

// checkPlaylistTTL: a media playlist is a HIT within its max-age and is
// fetched again after it. The identity encoding is a cache entry of its own
// (the watcher polls the gzip one), so nobody else refreshes it.
func checkPlaylistTTL(t *testing.T, o, k func(string) string) {
	t.Helper()
	media := hls.MediaPlaylistName
	identity := []string{"Accept-Encoding", "identity"}
	var fresh, hit cdnResponse
	for attempt := 0; ; attempt++ {
		if !waitFor(5*time.Second, func() bool {
			fresh = cdnGet(k(media), identity...)
			return fresh.code == http.StatusOK && fresh.cache() != "HIT"
		}) {
			t.Fatalf("media playlist through the cache: never a fresh fetch (last %s)", fresh)
		}
		hit = cdnGetT(t, k(media), identity...)
		// nginx keeps the entry for at least max-age (1 s or more); a
		// second request later than that (a stalled test) proves nothing.
		if hit.cache() == "HIT" || hit.start.Sub(fresh.done) < 900*time.Millisecond || attempt == 2 {
			break
		}
	}
	maxAge, ok := maxAgeOf(fresh.hdr)
	if !ok || fresh.hdr.Get("Content-Encoding") != "" {
		t.Fatalf("media playlist: Cache-Control %q Content-Encoding %q, want a max-age and identity", fresh.hdr.Get("Cache-Control"), fresh.hdr.Get("Content-Encoding"))
	}
	if hit.cache() != "HIT" || !bytes.Equal(hit.body, fresh.body) || hit.hdr.Get("Content-Encoding") != "" {
		t.Errorf("media playlist again %v later: %s, want a HIT with the same identity bytes", hit.start.Sub(fresh.done).Round(time.Millisecond), hit)
	}
	if gz := cdnGetT(t, k(media), "Accept-Encoding", "gzip, deflate, br"); gz.code != http.StatusOK || gz.hdr.Get("Content-Encoding") != "gzip" {
		t.Errorf("media playlist for a gzip client: %s Content-Encoding %q, want gzip", gz, gz.hdr.Get("Content-Encoding"))
	}
	// nginx keeps max-age=N for N to N+1 seconds (whole-second clock).
	time.Sleep(time.Duration(maxAge)*time.Second + time.Second + 100*time.Millisecond)
	before := parseMediaResponse(t, cdnGetT(t, o(media)))
	again := cdnGetT(t, k(media), identity...)
	if again.code != http.StatusOK || again.cache() == "HIT" {
		t.Fatalf("media playlist %d s after a max-age of %d s: %s, want it fetched again (EXPIRED, REVALIDATED or MISS)",
			maxAge+1, maxAge, again)
	}
	if got := parseMediaResponse(t, again); got != nil && before != nil && lastMSN(got) < lastMSN(before) {
		t.Errorf("refetched playlist ends at MSN %d, the origin already had %d", lastMSN(got), lastMSN(before))
	}
	t.Logf("playlist max-age %d s: fresh %s, at once HIT, after %d s %s", maxAge, fresh.cache(), maxAge+1, again.cache())
}

// cdnObjectKind names a media object by its file name (hls/names.go).
func cdnObjectKind(uri string) string {
	switch {
	case strings.Contains(uri, "_init"):
		return "init"
	case strings.Count(uri, ".") == 2:
		return "part"
	default:
		return "segment"
	}
}

// --- nginx ---

// nginxCache is an nginx started by a test in front of one gateway.
type nginxCache struct {
	base      string // http://127.0.0.1:PORT
	accessLog string
}

func (c *nginxCache) url(path string) string {
	return c.base + "/" + strings.TrimPrefix(path, "/")
}

// requireNginx returns the nginx binary (Debian installs it in /usr/sbin,
// which is not on every user's PATH); it skips without one, except in CI.
func requireNginx(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	requireTool(t, "nginx")
	return ""
}

// nginxSite renders docs/nginx-cache.conf for a test. The four strings the
// file's header names are replaced in its directives; each must occur
// exactly once there, so the shipped example and the tested one cannot
// drift apart.
func nginxSite(t *testing.T, origin, listen, cacheDir, accessLog string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "nginx-cache.conf"))
	if err != nil {
		t.Fatal(err)
	}
	repl := []struct{ old, new string }{
		{"127.0.0.1:8080", origin},
		{"listen 80 default_server;", "listen " + listen + " default_server;"},
		{"/var/cache/nginx-livegate", cacheDir},
		{"/var/log/nginx/livegate-cache.log", accessLog},
	}
	counts := make([]int, len(repl))
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		for j, r := range repl {
			counts[j] += strings.Count(l, r.old)
			l = strings.ReplaceAll(l, r.old, r.new)
		}
		lines[i] = l
	}
	for j, r := range repl {
		if counts[j] != 1 {
			t.Fatalf("docs/nginx-cache.conf: %q occurs %d times outside comments, want once", r.old, counts[j])
		}
	}
	return strings.Join(lines, "\n")
}

// startNginxCache starts nginx with docs/nginx-cache.conf in front of
// origin (host:port), on a free loopback port, with every file it writes
// in a temporary directory. It stops when the test ends.
func startNginxCache(t *testing.T, origin string) *nginxCache {
	t.Helper()
	bin := requireNginx(t)
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ { // another process may take the free port first
		c, err := tryStartNginx(t, bin, origin)
		if err == nil {
			return c
		}
		lastErr = err
		t.Logf("nginx start, attempt %d: %v", attempt, err)
	}
	t.Fatalf("nginx did not start: %v", lastErr)
	return nil
}

func tryStartNginx(t *testing.T, bin, origin string) (*nginxCache, error) {
	dir := t.TempDir()
	port := freeLoopbackPort(t)
	listen := "127.0.0.1:" + strconv.Itoa(port)
	c := &nginxCache{base: "http://" + listen, accessLog: filepath.Join(dir, "access.log")}
	site := nginxSite(t, origin, listen, filepath.Join(dir, "cache"), c.accessLog)
	if err := os.WriteFile(filepath.Join(dir, "livegate-cache.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	// The main configuration Debian's /etc/nginx/nginx.conf would be, with
	// every path in dir. As root, the workers run as root too so that they
	// can use the test's private temporary directory.
	var userLine string
	if os.Geteuid() == 0 {
		if u, err := user.Current(); err == nil {
			if g, err := user.LookupGroupId(u.Gid); err == nil {
				userLine = fmt.Sprintf("user %s %s;", u.Username, g.Name)
			}
		}
	}
	errorLog := filepath.Join(dir, "error.log")
	mainConf := fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[3]s notice;
events { worker_connections 512; }
http {
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    access_log off;
    include %[2]s/livegate-cache.conf;
}
`, userLine, dir, errorLog)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(mainConf), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", errorLog, "-g", "daemon off;")
	// nginx forks workers: a process group of its own lets the cleanup
	// reach them if the master does not stop them itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM) // fast shutdown: the master stops its workers
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("nginx error log:\n%s", tailFile(errorLog, 40))
			t.Logf("nginx access log:\n%s", tailFile(c.accessLog, 80))
		}
	})

	// Ready when a request through nginx reaches the gateway.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("nginx exited: %s", tailFile(errorLog, 10))
		default:
		}
		if r := cdnGet(c.url("healthz")); r.code == http.StatusOK && string(r.body) == "ok" && r.hdr.Get("X-Cache-Status") != "" {
			return c, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("nginx not answering on %s: %s", listen, tailFile(errorLog, 10))
}

func tailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(l[max(len(l)-lines, 0):], "\n")
}

// --- HTTP ---

// cdnClient sends requests as a player would: its own Accept-Encoding
// (gzip unless told otherwise) and bodies decoded here, so that tests see
// what the cache answered.
var cdnClient = &http.Client{
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
	Timeout:   20 * time.Second,
}

// cdnResponse is one answer, its body decoded, with when it was asked and
// when it was complete.
type cdnResponse struct {
	code        int
	hdr         http.Header
	body        []byte
	start, done time.Time
	err         error
}

func (r cdnResponse) cache() string { return r.hdr.Get("X-Cache-Status") }

func (r cdnResponse) String() string {
	if r.err != nil {
		return r.err.Error()
	}
	return fmt.Sprintf("%d %s (X-Cache-Status %q, Cache-Control %q)", r.code, http.StatusText(r.code), r.cache(), r.hdr.Get("Cache-Control"))
}

// cdnGet GETs url with header pairs hdr; errors are in the response's err.
func cdnGet(url string, hdr ...string) cdnResponse {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return cdnResponse{err: err, hdr: http.Header{}}
	}
	req.Header.Set("Accept-Encoding", "gzip")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return cdnDo(req)
}

func cdnDo(req *http.Request) cdnResponse {
	r := cdnResponse{start: time.Now(), hdr: http.Header{}}
	resp, err := cdnClient.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	r.code, r.hdr = resp.StatusCode, resp.Header
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			r.err = err
			return r
		}
		body = zr
	}
	r.body, r.err = io.ReadAll(body)
	r.done = time.Now()
	return r
}

func cdnGetT(t *testing.T, url string, hdr ...string) cdnResponse {
	t.Helper()
	r := cdnGet(url, hdr...)
	if r.err != nil {
		t.Fatalf("GET %s: %v", url, r.err)
	}
	return r
}

// cdnGetConcurrently sends n GETs of url at once.
func cdnGetConcurrently(url string, n int) []cdnResponse {
	rs := make([]cdnResponse, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range rs {
		wg.Go(func() {
			<-start
			rs[i] = cdnGet(url)
		})
	}
	close(start)
	wg.Wait()
	return rs
}

func countCacheStatus(rs []cdnResponse, status string) int {
	n := 0
	for _, r := range rs {
		if r.cache() == status {
			n++
		}
	}
	return n
}

func cacheStatuses(rs []cdnResponse) []string {
	var s []string
	for _, r := range rs {
		if r.err != nil {
			s = append(s, r.err.Error())
		} else {
			s = append(s, strconv.Itoa(r.code)+" "+r.cache())
		}
	}
	return s
}

// streamURLs returns URL builders for a stream's objects at the origin and
// through the cache.
func streamURLs(gw *App, cdn *nginxCache, stream string) (origin, cache func(string) string) {
	return func(f string) string { return httpURL(gw, "live/"+stream+"/"+f) },
		func(f string) string { return cdn.url("live/" + stream + "/" + f) }
}

// maxAgeOf returns Cache-Control's max-age.
func maxAgeOf(h http.Header) (int, bool) {
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "max-age="); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}

// --- playlists and media ---

func parseMediaResponse(t *testing.T, r cdnResponse) *hlstest.MediaPlaylist {
	t.Helper()
	if r.err != nil || r.code != http.StatusOK {
		return nil
	}
	pl, err := hlstest.ParseMediaPlaylist(r.body)
	if err != nil {
		t.Fatalf("media playlist does not parse: %v\n%s", err, r.body)
	}
	return pl
}

// lastMSN is the MSN of the last segment, counting the one in progress
// when it has parts.
func lastMSN(pl *hlstest.MediaPlaylist) int64 {
	last := pl.MediaSequence + int64(pl.Skipped) + int64(len(pl.Segments)) - 1
	if len(pl.Parts) > 0 {
		last++
	}
	return last
}

// playlistSatisfies reports whether pl holds part `part` of segment msn (or, when
// that segment ended with fewer parts, anything after it): what a blocking
// reload asked for (bis §6.2.5.2).
func playlistSatisfies(pl *hlstest.MediaPlaylist, msn int64, part int) bool {
	for _, s := range pl.Segments {
		if s.MSN == msn {
			return part < len(s.Parts) || lastMSN(pl) > msn
		}
	}
	open := pl.MediaSequence + int64(pl.Skipped) + int64(len(pl.Segments))
	return msn == open && part < len(pl.Parts)
}

// parsePartName parses "<prefix>_<msn>.<part>.m4s" (hls/names.go).
func parsePartName(uri string) (msn int64, part int, ok bool) {
	_, rest, found := strings.Cut(uri, "_")
	rest, isM4S := strings.CutSuffix(rest, ".m4s")
	a, b, dot := strings.Cut(rest, ".")
	if !found || !isM4S || !dot {
		return 0, 0, false
	}
	m, err1 := strconv.ParseInt(a, 10, 64)
	p, err2 := strconv.Atoi(b)
	return m, p, err1 == nil && err2 == nil
}

func directiveOf(q string) (msn int64, part int) {
	_, _ = fmt.Sscanf(q, "?_HLS_msn=%d&_HLS_part=%d", &msn, &part)
	return msn, part
}

// fmp4Boxes lists the top-level box types of b and fails unless the boxes
// cover b exactly (ISO/IEC 14496-12 §4.2: size includes the header).
func fmp4Boxes(b []byte) ([]string, error) {
	var types []string
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return types, fmt.Errorf("%d stray bytes at %d", len(b)-off, off)
		}
		size := int(binary.BigEndian.Uint32(b[off:]))
		if size == 1 && len(b)-off >= 16 {
			size = int(binary.BigEndian.Uint64(b[off+8:]))
		}
		if size < 8 || size > len(b)-off {
			return types, fmt.Errorf("box %q at %d: size %d, %d bytes left", b[off+4:off+8], off, size, len(b)-off)
		}
		types = append(types, string(b[off+4:off+8]))
		off += size
	}
	return types, nil
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func roundDurations(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
