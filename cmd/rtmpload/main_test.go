package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest"
	"github.com/livegate/gateway/ingest/amf"
)

func TestParseFlags(t *testing.T) {
	base := []string{"-file", "x.flv", "-duration", "10s"}
	cases := []struct {
		name    string
		args    []string
		wantErr string
		app     string
		stream  string
		addr    string
	}{
		{name: "defaults", args: base, app: "live", stream: "load", addr: "127.0.0.1:1935"},
		{name: "app only", args: append(base, "-url", "rtmp://127.0.0.1:2000/app"), app: "app", stream: "load", addr: "127.0.0.1:2000"},
		{name: "localhost", args: append(base, "-url", "rtmp://localhost/a/b"), app: "a", stream: "b", addr: "localhost:1935"},
		{name: "ipv6 loopback", args: append(base, "-url", "rtmp://[::1]:1935/a/b"), app: "a", stream: "b", addr: "[::1]:1935"},
		{name: "remote refused", args: append(base, "-url", "rtmp://192.0.2.1/live"), wantErr: "not a loopback"},
		{name: "name refused", args: append(base, "-url", "rtmp://example.com/live"), wantErr: "not a loopback"},
		{name: "remote allowed", args: append(base, "-url", "rtmp://192.0.2.1/live", "-allow-remote"), app: "live", stream: "load", addr: "192.0.2.1:1935"},
		{name: "remote http refused", args: append(base, "-http", "http://192.0.2.1:8080"), wantErr: "not a loopback"},
		{name: "no duration", args: []string{"-file", "x.flv"}, wantErr: "-duration is required"},
		{name: "long duration", args: []string{"-file", "x.flv", "-duration", "11m"}, wantErr: "exceeds"},
		{name: "no file", args: []string{"-duration", "1s"}, wantErr: "-file is required"},
		{name: "too many", args: append(base, "-n", "100000"), wantErr: "-n"},
		{name: "bad scheme", args: append(base, "-url", "http://127.0.0.1/live"), wantErr: "scheme"},
		{name: "deep path", args: append(base, "-url", "rtmp://127.0.0.1/a/b/c"), wantErr: "path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.app != tc.app || o.name != tc.stream || o.addr != tc.addr {
				t.Errorf("app, name, addr = %q, %q, %q; want %q, %q, %q", o.app, o.name, o.addr, tc.app, tc.stream, tc.addr)
			}
		})
	}
}

func TestParseProc(t *testing.T) {
	// A command name with spaces and parentheses, as proc(5) allows.
	stat := []byte("1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 300 1000000 2000 18446744073709551615\n")
	cpu, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; cpu != want {
		t.Errorf("cpu = %v, want %v", cpu, want)
	}
	if _, err := parseStatCPU([]byte("1234 (x) S 1")); err == nil {
		t.Error("short stat accepted")
	}
	status := []byte("Name:\tgw\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\n")
	if got := parseStatusKB(status, "VmRSS:"); got != 10240 {
		t.Errorf("VmRSS = %d, want 10240", got)
	}
	if got := parseStatusKB(status, "VmSwap:"); got != 0 {
		t.Errorf("VmSwap = %d, want 0", got)
	}
	// Our own process must be readable.
	s, err := sampleProc(os.Getpid())
	if err != nil || s.rss <= 0 {
		t.Errorf("sampleProc(self) = %+v, %v", s, err)
	}
}

// recorder is an ingest.Session that keeps what one publication received.
type recorder struct {
	mu       sync.Mutex
	key      string
	video    []uint32
	audio    int
	configs  int // AVC sequence headers
	aconfigs int // AAC sequence headers
	meta     bool
	clean    []bool
	done     chan struct{}
}

func (r *recorder) Video(ts uint32, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if body[0]&0x0f == 7 && body[1] == 0 {
		r.configs++
		return nil
	}
	r.video = append(r.video, ts)
	return nil
}

func (r *recorder) Audio(_ uint32, body []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if body[0]>>4 == 10 && body[1] == 0 {
		r.aconfigs++
		return nil
	}
	r.audio++
	return nil
}

func (r *recorder) Metadata(amf.Object) error {
	r.mu.Lock()
	r.meta = true
	r.mu.Unlock()
	return nil
}

func (r *recorder) End(clean bool) {
	r.mu.Lock()
	r.clean = append(r.clean, clean)
	r.mu.Unlock()
}

func (r *recorder) Done() <-chan struct{} { return r.done }

// TestLoadAgainstIngest runs the tool against the gateway's RTMP server
// with a one-second clip, long enough to loop, and checks what every
// publication received.
func TestLoadAgainstIngest(t *testing.T) {
	before := runtime.NumGoroutine()
	defer checkGoroutines(t, before)
	var mu sync.Mutex
	var recs []*recorder
	srv := &ingest.Server{
		Listen:    "127.0.0.1:0",
		TLSListen: "127.0.0.1:0",
		OnPublish: func(_ context.Context, req *ingest.PublishRequest) (ingest.Session, error) {
			r := &recorder{key: req.Key, done: make(chan struct{})}
			mu.Lock()
			recs = append(recs, r)
			mu.Unlock()
			return r, nil
		},
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	file := filepath.Join(t.TempDir(), "clip.flv")
	if err := os.WriteFile(file, buildFLV(t, testClipTags(t, 20000)), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 4
	o, err := parseFlags([]string{
		"-file", file, "-n", "4", "-duration", "1500ms", "-ramp", "200ms", "-progress", "0",
		"-url", "rtmp://" + srv.Addr().String() + "/live/t", "-pid", "0",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadTest(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res.print(&out)
	t.Logf("summary:\n%s", out.String())
	if res.failed() {
		t.Fatal("run failed")
	}
	if !strings.Contains(out.String(), "4 ok, 0 failed") {
		t.Error("summary does not say 4 ok")
	}
	// Nominal rate: 25 × 20000 B + 50 × 3 B per second, about 4 Mbit/s.
	perStream := float64(res.sentWin) * 8 / res.window.Seconds() / n
	if perStream < 3.5e6 || perStream > 4.5e6 {
		t.Errorf("%.2f Mbit/s per stream, want about 4", perStream/1e6)
	}

	// Unpublish is asynchronous from the server's side: wait for the ends.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		ended := 0
		for _, r := range recs {
			r.mu.Lock()
			ended += len(r.clean)
			r.mu.Unlock()
		}
		mu.Unlock()
		if ended == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recs) != n {
		t.Fatalf("%d publications, want %d", len(recs), n)
	}
	keys := map[string]bool{}
	for _, r := range recs {
		r.mu.Lock()
		keys[r.key] = true
		if !r.meta || r.configs != 1 || r.aconfigs != 1 {
			t.Errorf("%s: metadata %v, %d AVC and %d AAC sequence headers; want metadata and 1 each", r.key, r.meta, r.configs, r.aconfigs)
		}
		if len(r.clean) != 1 || !r.clean[0] {
			t.Errorf("%s: ends %v, want one clean end", r.key, r.clean)
		}
		// The window alone is 1.5 s: the clip looped, and timestamps kept
		// increasing by the 40 ms frame interval across the loop.
		if len(r.video) < 30 {
			t.Errorf("%s: %d video frames, want more than a pass (25)", r.key, len(r.video))
		}
		for i := 1; i < len(r.video); i++ {
			if d := r.video[i] - r.video[i-1]; d != 40 {
				t.Errorf("%s: video frame %d at %d ms after %d ms", r.key, i, r.video[i], r.video[i-1])
				break
			}
		}
		r.mu.Unlock()
	}
	for i := range n {
		if name := "t-" + string(rune('0'+i)); !keys[name] {
			t.Errorf("no publication %s (got %v)", name, keys)
		}
	}
}

// checkGoroutines fails the test when more goroutines run than before it
// started, after giving exiting ones a moment.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
