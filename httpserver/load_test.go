package httpserver

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestServeForLoad keeps a server with a fixed fake origin running for an
// external load generator, e.g.
//
//	HTTPSERVER_LOAD_SECONDS=30 go test -run TestServeForLoad ./httpserver/ &
//	wrk -t1 -c64 -d10s http://127.0.0.1:18080/live/cam/main.m3u8
//
// It listens on HTTPSERVER_LOAD_ADDR (default 127.0.0.1:18080), stops by
// itself after HTTPSERVER_LOAD_SECONDS (at most 600), and is skipped
// unless that variable is set.
func TestServeForLoad(t *testing.T) {
	secs, err := strconv.Atoi(os.Getenv("HTTPSERVER_LOAD_SECONDS"))
	if err != nil || secs <= 0 {
		t.Skip("set HTTPSERVER_LOAD_SECONDS to run a server for load tests")
	}
	secs = min(secs, 600)
	addr := os.Getenv("HTTPSERVER_LOAD_ADDR")
	if addr == "" {
		addr = "127.0.0.1:18080"
	}
	s := &Server{Listen: addr, Origin: newBenchOrigin(), Logger: zerolog.Nop()}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("serving on %s for %d s", s.Addr(), secs)
	time.Sleep(time.Duration(secs) * time.Second)
}
