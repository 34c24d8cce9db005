package ingest

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/ingest/amf"
)

// event is one call into a fakeSession.
type event struct {
	kind string // "video", "audio", "metadata"
	ts   uint32
	body []byte
	md   amf.Object
}

// fakeSession records what the server hands it.
type fakeSession struct {
	req  *PublishRequest
	done chan struct{}

	mu      sync.Mutex
	events  []event
	ends    []bool
	failOn  string // event kind whose call returns an error
	changed chan struct{}
}

func newFakeSession(req *PublishRequest) *fakeSession {
	return &fakeSession{req: req, done: make(chan struct{}), changed: make(chan struct{}, 1)}
}

func (f *fakeSession) add(e event) error {
	f.mu.Lock()
	f.events = append(f.events, e)
	fail := f.failOn == e.kind
	f.mu.Unlock()
	f.notify()
	if fail {
		return fmt.Errorf("fake session refuses %s", e.kind)
	}
	return nil
}

func (f *fakeSession) notify() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

func (f *fakeSession) Video(ts uint32, body []byte) error {
	return f.add(event{kind: "video", ts: ts, body: bytes.Clone(body)})
}

func (f *fakeSession) Audio(ts uint32, body []byte) error {
	return f.add(event{kind: "audio", ts: ts, body: bytes.Clone(body)})
}

func (f *fakeSession) Metadata(md amf.Object) error { return f.add(event{kind: "metadata", md: md}) }

func (f *fakeSession) End(clean bool) {
	f.mu.Lock()
	f.ends = append(f.ends, clean)
	f.mu.Unlock()
	f.notify()
}

func (f *fakeSession) Done() <-chan struct{} { return f.done }

func (f *fakeSession) snapshot() ([]event, []bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]event(nil), f.events...), append([]bool(nil), f.ends...)
}

// waitFor polls cond until it holds or 5 s pass.
func (f *fakeSession) waitFor(t *testing.T, what string, cond func(events []event, ends []bool) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		ev, ends := f.snapshot()
		if cond(ev, ends) {
			return
		}
		select {
		case <-f.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s: %d events, ends %v", what, len(ev), ends)
		}
	}
}

func (f *fakeSession) waitEnd(t *testing.T, clean bool) {
	t.Helper()
	f.waitFor(t, "End", func(_ []event, ends []bool) bool { return len(ends) > 0 })
	_, ends := f.snapshot()
	if len(ends) != 1 || ends[0] != clean {
		t.Fatalf("End calls %v, want exactly one End(%v)", ends, clean)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitLog waits until the log contains all parts on one line.
func (s *syncBuffer) waitLog(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.String(), "\n") {
			ok := true
			for _, p := range parts {
				if !strings.Contains(line, p) {
					ok = false
					break
				}
			}
			if ok {
				return line
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q in:\n%s", parts, s.String())
	return ""
}

// testServer is a Server on 127.0.0.1:0 whose hook records fake sessions.
type testServer struct {
	*Server
	logs *syncBuffer

	mu       sync.Mutex
	sessions []*fakeSession
	reject   error
	failOn   string
	added    chan *fakeSession
}

func startServer(t *testing.T, configure func(*Server)) *testServer {
	t.Helper()
	ts := &testServer{logs: &syncBuffer{}, added: make(chan *fakeSession, 16)}
	ts.Server = &Server{
		Listen:           "127.0.0.1:0",
		HandshakeTimeout: 2 * time.Second,
		PublishTimeout:   3 * time.Second,
		ReadTimeout:      3 * time.Second,
		Logger:           zerolog.New(ts.logs).Level(zerolog.DebugLevel),
		OnPublish: func(ctx context.Context, req *PublishRequest) (Session, error) {
			ts.mu.Lock()
			defer ts.mu.Unlock()
			if ts.reject != nil {
				return nil, ts.reject
			}
			s := newFakeSession(req)
			s.failOn = ts.failOn
			ts.sessions = append(ts.sessions, s)
			ts.added <- s
			return s, nil
		},
	}
	if configure != nil {
		configure(ts.Server)
	}
	if err := ts.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ts.Close()
		checkGoroutines(t)
		if t.Failed() {
			t.Logf("server log:\n%s", ts.logs.String())
		}
	})
	return ts
}

func (ts *testServer) addr() string { return ts.Addr().String() }

// nextSession waits for the hook to admit a publication.
func (ts *testServer) nextSession(t *testing.T) *fakeSession {
	t.Helper()
	select {
	case s := <-ts.added:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no session admitted")
		return nil
	}
}

// checkGoroutines fails if goroutines of this package outlive Close.
func checkGoroutines(t *testing.T) {
	t.Helper()
	var stacks string
	for range 100 {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		leaked := false
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "ingest.(*conn)") || strings.Contains(g, "ingest.(*Server)") {
				leaked = true
			}
		}
		if !leaked {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("goroutines left after Close:\n%s", stacks)
}
