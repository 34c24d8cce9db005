package httpserver

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RequestKind classifies a request for metrics by what it asked for.
type RequestKind uint8

// Request kinds. Every request is exactly one of them.
const (
	KindMultivariant RequestKind = iota // index.m3u8
	KindPlaylist                        // a media playlist
	KindSegment                         // a media segment
	KindPart                            // an LL-HLS part
	KindInit                            // an fMP4 init section
	KindPage                            // an HTML page or a static asset
	KindAPI                             // /api/...
	KindOther                           // health, metrics, anything else
	numKinds
)

var kindNames = [numKinds]string{"multivariant", "playlist", "segment", "part", "init", "page", "api", "other"}

// String returns the kind's metric label value.
func (k RequestKind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "other"
}

// classify tells the kind of a request from its path alone, so that it
// costs no cooperation from the handlers: /{app}/{stream}/{file} names an
// HLS object by its file name (see hls/names.go).
func classify(path string) RequestKind {
	if path == "/" {
		return KindPage
	}
	first, rest, two := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch {
	case first == "api":
		return KindAPI
	case first == "static":
		return KindPage
	case !two:
		return KindOther // /healthz, /readyz, /metrics, /favicon.ico...
	}
	_, file, three := strings.Cut(rest, "/")
	switch {
	case !three || file == "":
		return KindPage // /{app}/{stream}, /{app}/{stream}/
	case strings.IndexByte(file, '/') >= 0:
		return KindOther
	case file == "index.m3u8":
		return KindMultivariant
	case strings.HasSuffix(file, ".m3u8"):
		return KindPlaylist
	case strings.HasSuffix(file, ".mp4"):
		return KindInit
	case isPartName(file):
		return KindPart
	case strings.HasSuffix(file, ".m4s"), strings.HasSuffix(file, ".ts"):
		return KindSegment
	}
	return KindOther
}

// isPartName reports whether file names an LL-HLS part:
// <prefix>_<msn>.<part>.m4s has two dots, a segment one.
func isPartName(file string) bool {
	return strings.HasSuffix(file, ".m4s") && strings.Count(file, ".") == 2
}

// statusCodes are the codes counted by their own label value; others are
// counted by class (2xx, 4xx...). The set is bounded so the number of
// series is too.
var statusCodes = [...]int{200, 204, 206, 301, 304, 400, 401, 404, 405, 412, 416, 499, 500, 503}

const numCodes = len(statusCodes) + 5 // + 1xx..5xx

var codeNames = func() [numCodes]string {
	var n [numCodes]string
	for i, c := range statusCodes {
		n[i] = strconv.Itoa(c)
	}
	for i := range 5 {
		n[len(statusCodes)+i] = strconv.Itoa(i+1) + "xx"
	}
	return n
}()

func codeIndex(code int) int {
	for i, c := range statusCodes {
		if c == code {
			return i
		}
	}
	class := code/100 - 1
	if class < 0 || class > 4 {
		class = 4 // nonsense codes count as server errors
	}
	return len(statusCodes) + class
}

// waitBounds are the upper bounds, in seconds, of the LL-HLS blocking wait
// histogram. A wait ends within three target durations (bis §6.2.5.2).
var waitBounds = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64}

// serverStats are the live counters behind Stats: atomics only, so that
// counting costs each request a few uncontended atomic adds.
type serverStats struct {
	requests [numKinds][numCodes]atomic.Uint64
	sent     [numKinds]atomic.Uint64

	blocking         atomic.Int64 // requests that may wait, now
	blockingRejected atomic.Uint64
	blockingTimeouts atomic.Uint64
	waits            [len(waitBounds) + 1]atomic.Uint64 // last: above every bound
	waitCount        atomic.Uint64
	waitSumNs        atomic.Uint64
}

func (st *serverStats) observeWait(d time.Duration) {
	sec := d.Seconds()
	i := 0
	for i < len(waitBounds) && sec > waitBounds[i] {
		i++
	}
	st.waits[i].Add(1)
	st.waitCount.Add(1)
	st.waitSumNs.Add(uint64(max(d, 0)))
}

// Stats are the Server's counters, for metrics.
type Stats struct {
	// Requests counts finished requests by kind and status (only the
	// non-zero pairs).
	Requests []RequestCount
	// SentBytes counts response body bytes by request kind (index: RequestKind).
	SentBytes [numKinds]uint64
	// BlockingInFlight is the number of requests that may wait (LL-HLS
	// blocking playlist reloads and part requests) in progress now.
	BlockingInFlight int64
	// BlockingRejected counts such requests answered 503 at once because
	// MaxBlockingRequests were in progress; BlockingTimeouts those answered
	// 503 because what they waited for did not come in time.
	BlockingRejected, BlockingTimeouts uint64
	// BlockingWait is the distribution of their wait, in seconds.
	BlockingWait Histogram
}

// RequestCount is the number of requests of one kind answered with one
// status code or class.
type RequestCount struct {
	Kind RequestKind
	// Code is a status code ("200") or, for codes not counted alone, a
	// class ("2xx").
	Code  string
	Count uint64
}

// Histogram is a cumulative histogram: Counts[i] observations were at most
// Bounds[i]; Count is the total and Sum their sum.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Stats returns a snapshot of the Server's counters. Counters are read one
// by one: a snapshot taken under load may be off by the requests in flight.
func (s *Server) Stats() Stats {
	st := &s.stats
	var out Stats
	for k := range numKinds {
		for c := range numCodes {
			if n := st.requests[k][c].Load(); n > 0 {
				out.Requests = append(out.Requests, RequestCount{Kind: k, Code: codeNames[c], Count: n})
			}
		}
		out.SentBytes[k] = st.sent[k].Load()
	}
	out.BlockingInFlight = st.blocking.Load()
	out.BlockingRejected = st.blockingRejected.Load()
	out.BlockingTimeouts = st.blockingTimeouts.Load()
	h := Histogram{Bounds: waitBounds[:], Counts: make([]uint64, len(waitBounds))}
	var cum uint64
	for i := range waitBounds {
		cum += st.waits[i].Load()
		h.Counts[i] = cum
	}
	h.Count = st.waitCount.Load()
	h.Sum = time.Duration(st.waitSumNs.Load()).Seconds()
	out.BlockingWait = h
	return out
}

// recorderPool recycles the per-request recorders of countRequests.
var recorderPool = sync.Pool{New: func() any { return new(statusRecorder) }}

// countRequests counts every request by kind and status, and its body
// bytes by kind. It sits outside recoverPanics so that it sees the 500 of
// a recovered panic.
func (s *Server) countRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorderPool.Get().(*statusRecorder)
		*rec = statusRecorder{ResponseWriter: w}
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK
				if r.Context().Err() != nil {
					status = 499 // nginx's "client closed request"
				}
			}
			k := classify(r.URL.Path)
			s.stats.requests[k][codeIndex(status)].Add(1)
			if rec.bytes > 0 {
				s.stats.sent[k].Add(uint64(rec.bytes))
			}
			*rec = statusRecorder{}
			recorderPool.Put(rec)
		}()
		next.ServeHTTP(rec, r)
	})
}
