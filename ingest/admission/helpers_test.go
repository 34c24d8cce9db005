package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// secret is a key that must never show up in logs or errors.
const secret = "s3cr3t-Key-0123456789abcdef"

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newAdmitter builds an Admitter logging at Debug to the test log and to the
// returned buffer, closed at cleanup.
func newAdmitter(t *testing.T, cfg Config) (*Admitter, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = zerolog.New(io.MultiWriter(zerolog.NewTestWriter(t), logs)).Level(zerolog.DebugLevel)
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a, logs
}

func request(app, key string) *Request {
	return &Request{
		App:     app,
		Key:     key,
		Query:   url.Values{"token": {"abc"}, "x": {"1", "2"}},
		Remote:  "127.0.0.1:54321",
		Connect: map[string]any{"app": app, "tcUrl": "rtmp://127.0.0.1/" + app, "flashVer": "FMLE/3.0", "fpad": false, "capabilities": 15.0},
		ConnID:  "c42",
	}
}

// rejection asserts that err is a *Rejection with the given code.
func rejection(t *testing.T, err error, code string) *Rejection {
	t.Helper()
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("error %v (%T) is not a *Rejection", err, err)
	}
	if rej.Code != code {
		t.Fatalf("code = %q, want %q (reason: %s)", rej.Code, code, rej.Reason)
	}
	if rej.Description == "" || rej.Reason == "" {
		t.Fatalf("rejection without description or reason: %+v", rej)
	}
	return rej
}

// hookServer is an httptest server on 127.0.0.1 that records the requests
// it receives and answers with handle.
type hookServer struct {
	*httptest.Server
	reqs chan recorded
}

type recorded struct {
	header http.Header
	method string
	body   []byte
}

func newHookServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *hookServer {
	t.Helper()
	hs := &hookServer{reqs: make(chan recorded, 64)}
	var (
		mu sync.Mutex
		n  int
	)
	hs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		select {
		case hs.reqs <- recorded{header: r.Header.Clone(), method: r.Method, body: body}:
		default:
		}
		handle(w, r, i)
	}))
	t.Cleanup(hs.Close)
	return hs
}

// next returns the next recorded request, failing after a bounded wait.
func (hs *hookServer) next(t *testing.T) recorded {
	t.Helper()
	select {
	case r := <-hs.reqs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the server")
		return recorded{}
	}
}

// hangingHandler blocks until the client gives up or the test ends. It is
// registered after the server so that its release runs before the server's
// Close (cleanups run last-in first-out).
func hangingHandler(t *testing.T) func(http.ResponseWriter, *http.Request, int) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(_ http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

// closedURL returns an http URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/hook"
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return m
}

// admitWithin calls Admit and fails if it takes longer than limit.
func admitWithin(t *testing.T, a *Admitter, req *Request, limit time.Duration) (Decision, error) {
	t.Helper()
	start := time.Now()
	d, err := a.Admit(context.Background(), req)
	if el := time.Since(start); el > limit {
		t.Fatalf("Admit took %v, want under %v", el, limit)
	}
	return d, err
}

// waitFor polls cond every 10ms for up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkGoroutines fails if more goroutines than base remain after a
// bounded wait (idle HTTP connections take a moment to wind down).
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
