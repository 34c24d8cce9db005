package httpserver

import (
	"hash/maphash"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/livegate/gateway/hls"
)

// Viewer estimate and output rate. A player of a live stream fetches its
// media playlist at least once per target duration (RFC 8216 §6.3.4) and a
// segment or part about as often, so the distinct clients (IP address and
// User-Agent) that fetched a stream's media playlist, segments or parts in
// the last two target durations estimate its viewers. Behind a CDN each
// edge counts as one viewer.
const (
	// maxClientsPerStream bounds the clients remembered per stream: past
	// it, new clients are not counted until old ones expire.
	maxClientsPerStream = 10000
	// defaultViewerWindow is used before a stream's target duration is known.
	defaultViewerWindow = 12 * time.Second
	minViewerWindow     = 2 * time.Second
	// outWindowSec is the window of the output rate, as for the input.
	outWindowSec = int64(hls.RateWindow / time.Second)
	outBuckets   = outWindowSec + 2
	// minTrafficPrune is the number of tracked streams below which the
	// table is not pruned on insert.
	minTrafficPrune = 64
)

// traffic accounts, per stream, for the bytes served and the clients seen.
// Entries exist only for streams that served something, and are dropped
// when the origin no longer lists the stream, so memory follows the
// streams the origin holds.
type traffic struct {
	seed maphash.Seed

	mu      sync.RWMutex
	streams map[trafficKey]*streamTraffic
	pruneAt int
}

type trafficKey struct{ app, stream string }

// streamTraffic is one stream's account.
type streamTraffic struct {
	mu      sync.Mutex
	bytes   uint64
	first   int64 // unix second of the first byte counted
	buckets [outBuckets]struct {
		sec int64
		n   uint64
	}
	window  time.Duration    // viewer window: two target durations
	clients map[uint64]int64 // client hash → last request, unix ns
}

// StreamTraffic is what the Server served for one stream.
type StreamTraffic struct {
	App, Stream string
	// BytesSent counts the response body bytes of the stream's HLS objects.
	BytesSent uint64
	// BitrateOut is their rate in bits/s over the last hls.RateWindow.
	BitrateOut int
	// Viewers is the number of distinct clients (IP address and
	// User-Agent) that fetched the stream's media playlist, segments or
	// parts within the last two target durations.
	Viewers int
}

func newTraffic() *traffic {
	return &traffic{
		seed:    maphash.MakeSeed(),
		streams: make(map[trafficKey]*streamTraffic),
		pruneAt: minTrafficPrune,
	}
}

// clientID hashes the request's client IP and User-Agent.
func (t *traffic) clientID(r *http.Request) uint64 {
	ip := r.RemoteAddr
	if i := strings.LastIndexByte(ip, ':'); i >= 0 {
		ip = ip[:i]
	}
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteString(ip)
	h.WriteByte(0)
	h.WriteString(r.Header.Get("User-Agent"))
	return h.Sum64()
}

// record counts n body bytes of obj served for app/stream to the client of
// r; playlist, segment and part requests also count the client as a viewer.
// live lists the origin's streams, for pruning.
func (t *traffic) record(r *http.Request, app, stream string, obj *hls.Object, n int64, now time.Time, live func() []hls.StreamInfo) {
	viewer := obj.Kind == hls.KindMediaPlaylist || obj.Kind == hls.KindSegment || obj.Kind == hls.KindPart
	if n <= 0 && !viewer {
		return
	}
	st := t.entry(app, stream, live)
	var id uint64
	if viewer {
		id = t.clientID(r)
	}
	sec := now.Unix()
	st.mu.Lock()
	defer st.mu.Unlock()
	if n > 0 {
		st.bytes += uint64(n)
		if st.first == 0 {
			st.first = sec
		}
		b := &st.buckets[sec%outBuckets]
		if b.sec != sec {
			b.sec, b.n = sec, 0
		}
		b.n += uint64(n)
	}
	if !viewer {
		return
	}
	st.window = viewerWindow(obj.TargetDuration)
	if _, ok := st.clients[id]; !ok && len(st.clients) >= maxClientsPerStream {
		st.expireLocked(now)
		if len(st.clients) >= maxClientsPerStream {
			return // saturated: the estimate stays at the bound
		}
	}
	st.clients[id] = now.UnixNano()
}

func viewerWindow(td time.Duration) time.Duration {
	if td <= 0 {
		return defaultViewerWindow
	}
	return max(2*td, minViewerWindow)
}

// entry returns the account of app/stream, creating it.
func (t *traffic) entry(app, stream string, live func() []hls.StreamInfo) *streamTraffic {
	k := trafficKey{app, stream}
	t.mu.RLock()
	st := t.streams[k]
	t.mu.RUnlock()
	if st != nil {
		return st
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.streams[k]; st != nil {
		return st
	}
	if len(t.streams) >= t.pruneAt {
		t.pruneLocked(live())
	}
	// Keys outlive the request: copy them off its URL.
	st = &streamTraffic{clients: make(map[uint64]int64)}
	t.streams[trafficKey{strings.Clone(app), strings.Clone(stream)}] = st
	return st
}

// pruneLocked drops the accounts of streams the origin no longer holds.
func (t *traffic) pruneLocked(streams []hls.StreamInfo) {
	keep := make(map[trafficKey]bool, len(streams))
	for _, si := range streams {
		keep[trafficKey{si.App, si.Name}] = true
	}
	for k := range t.streams {
		if !keep[k] {
			delete(t.streams, k)
		}
	}
	t.pruneAt = max(minTrafficPrune, 2*len(t.streams))
}

// expireLocked forgets clients not seen within the viewer window.
func (st *streamTraffic) expireLocked(now time.Time) {
	cut := now.Add(-st.window).UnixNano()
	for id, seen := range st.clients {
		if seen < cut {
			delete(st.clients, id)
		}
	}
}

// snapshotLocked reads the account at now.
func (st *streamTraffic) snapshotLocked(now time.Time) (bytes uint64, rate, viewers int) {
	sec := now.Unix()
	from := sec - outWindowSec
	var n uint64
	for _, b := range st.buckets {
		if b.sec >= from && b.sec <= sec {
			n += b.n
		}
	}
	if n > 0 {
		elapsed := max(now.Sub(time.Unix(max(from, st.first), 0)).Seconds(), 1)
		rate = int(float64(n) * 8 / elapsed)
	}
	st.expireLocked(now)
	return st.bytes, rate, len(st.clients)
}

// snapshot returns the accounts of the given streams (zero for those that
// served nothing yet) and drops those of streams no longer listed.
func (t *traffic) snapshot(streams []hls.StreamInfo, now time.Time) []StreamTraffic {
	t.mu.Lock()
	t.pruneLocked(streams)
	out := make([]StreamTraffic, len(streams))
	for i, si := range streams {
		out[i] = StreamTraffic{App: si.App, Stream: si.Name}
		if st := t.streams[trafficKey{si.App, si.Name}]; st != nil {
			st.mu.Lock()
			out[i].BytesSent, out[i].BitrateOut, out[i].Viewers = st.snapshotLocked(now)
			st.mu.Unlock()
		}
	}
	t.mu.Unlock()
	return out
}
