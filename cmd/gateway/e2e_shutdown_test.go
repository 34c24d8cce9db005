package main

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest/rtmptest"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var gatewayBin struct {
	once sync.Once
	path string
	err  error
}

// gatewayBinary builds cmd/gateway once per test process, for the tests
// that need the real process (signals, exit codes).
func gatewayBinary(t *testing.T) string {
	t.Helper()
	gatewayBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "gateway-bin-")
		if err != nil {
			gatewayBin.err = err
			return
		}
		gatewayBin.path = filepath.Join(dir, "gateway")
		if out, err := exec.Command("go", "build", "-o", gatewayBin.path, ".").CombinedOutput(); err != nil {
			gatewayBin.err = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if gatewayBin.err != nil {
		t.Fatalf("build: %v", gatewayBin.err)
	}
	return gatewayBin.path
}

// runBinary starts the gateway process with a config on free loopback ports
// and waits until it serves /healthz.
func runBinary(t *testing.T, bin, extra string) (cmd *exec.Cmd, rtmpAddr, httpBase string, logs *bytes.Buffer) {
	t.Helper()
	rtmpAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	httpBase = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf("log: {level: info, format: json}\nrtmp: {listen: %q}\nrtmps: {listen: \"127.0.0.1:0\"}\nhttp: {listen: %q}\nhls: {segmentDuration: 1s}\n%s",
		rtmpAddr, strings.TrimPrefix(httpBase, "http://"), extra)
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logs = &bytes.Buffer{}
	cmd = exec.Command(bin, "-config", path)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	if !waitFor(10*time.Second, func() bool { c, _, _ := httpGetQuiet(httpBase + "/healthz"); return c == 200 }) {
		t.Fatal("gateway did not start")
	}
	return cmd, rtmpAddr, httpBase, logs
}

// publishTags sends the 5 s clip's tags at 4x real time on an open
// publication and leaves it open.
func publishTags(t *testing.T, rtmpAddr, stream string) *rtmptest.Client {
	t.Helper()
	tags := opsTags(t)
	c, err := rtmptest.Dial(rtmpAddr, rtmptest.Options{Timeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if st, err := c.PublishFlow("live", stream); err != nil || st.Code() != "NetStream.Publish.Start" {
		t.Fatalf("publish: %v %v", st, err)
	}
	if err := opsSend(t, c, tags, 0, math.MaxUint32, 0, 4); err != nil {
		t.Fatal(err)
	}
	return c
}

// SIGTERM drains: /readyz turns 503, the publisher is told and disconnected,
// the playlist ends with EXT-X-ENDLIST and is still served for
// shutdown.serveEnded, and the process exits 0 within shutdown.drainTimeout.
func TestE2EGracefulShutdown(t *testing.T) {
	t.Parallel()
	bin := gatewayBinary(t)
	cmd, rtmpAddr, base, logs := runBinary(t, bin, "shutdown: {drainTimeout: 8s, serveEnded: 3s}\n")
	c := publishTags(t, rtmpAddr, "drain")
	media := base + "/live/drain/stream.m3u8"
	if code, _, _ := httpGet(t, media); code != 200 {
		t.Fatalf("playlist before shutdown: %d", code)
	}

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	st, err := c.WaitStatus()
	if err != nil || !strings.HasPrefix(st.Code(), "NetStream.Unpublish") {
		t.Errorf("publisher got %v, %v; want an unpublish onStatus before the close", st, err)
	}
	if code, _, _ := httpGet(t, base+"/readyz"); code != 503 {
		t.Errorf("/readyz while draining: %d, want 503", code)
	}
	var body []byte
	if !waitFor(2*time.Second, func() bool {
		var code int
		code, _, body = httpGet(t, media)
		return code == 200 && bytes.Contains(body, []byte("#EXT-X-ENDLIST"))
	}) {
		t.Errorf("no EXT-X-ENDLIST served while draining:\n%s", body)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
		if took := time.Since(start); took < 3*time.Second || took > 9*time.Second {
			t.Errorf("stopped after %v, want after serveEnded (3s) and within drainTimeout (8s)", took)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the process did not exit")
	}
	if !strings.Contains(logs.String(), `"message":"stopped"`) {
		t.Errorf("no clean stop in the log")
	}
}

// A second signal ends the process at once, without waiting for the drain.
func TestE2ESecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	bin := gatewayBinary(t)
	cmd, _, _, _ := runBinary(t, bin, "shutdown: {drainTimeout: 30s, serveEnded: 20s}\n")
	_ = cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("exit status 0 after a forced stop, want non-zero")
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("took %v after the second signal", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the process did not exit after a second signal")
	}
}
