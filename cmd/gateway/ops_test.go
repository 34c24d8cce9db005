package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
	"github.com/livegate/gateway/ingest"
)

func TestLoadConfigOpsKeys(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"bad takeover", "hls:\n  takeover: maybe\n", "hls.takeover"},
		{"negative max streams", "hls:\n  maxStreams: -1\n", "hls.maxStreams"},
		{"no blocking requests", "http:\n  maxBlockingRequests: 0\n", "http.maxBlockingRequests"},
		{"token with a space", "http:\n  apiToken: \"a b\"\n", "http.apiToken"},
		{"metrics token with a newline", "http:\n  metricsToken: \"a\\nb\"\n", "http.metricsToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "hls:\n  takeover: reject\n  maxStreams: 0\nhttp:\n  apiToken: t0k3n\n  maxBlockingRequests: 5\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HLS.Takeover != "reject" || cfg.HLS.MaxStreams != 0 || cfg.HTTP.APIToken != "t0k3n" || cfg.HTTP.MaxBlockingRequests != 5 {
		t.Fatalf("unexpected %+v %+v", cfg.HLS, cfg.HTTP)
	}
}

func TestPublishErrorMapping(t *testing.T) {
	cases := []struct {
		err    error
		code   string
		result string
	}{
		{hls.ErrStreamBusy, ingest.CodePublishBadName, "busy"},
		{fmt.Errorf("x: %w", hls.ErrTooManyStreams), ingest.CodePublishRejected, "busy"},
		{hls.ErrInvalidName, ingest.CodePublishBadName, "badname"},
		{hls.ErrClosed, ingest.CodePublishFailed, "failed"},
	}
	for _, tc := range cases {
		var c publishCounters
		c.refusedBySegmenter(tc.err)
		got := map[string]uint64{"busy": c.busy.Load(), "badname": c.rejectedBadName.Load(), "failed": c.failed.Load()}
		if pe := publishError(tc.err); pe.Code != tc.code || got[tc.result] != 1 {
			t.Errorf("%v: code %s counters %v", tc.err, pe.Code, got)
		}
	}
	if !errors.Is(hls.ErrStreamBusy, hls.ErrStreamBusy) {
		t.Fatal("unreachable")
	}
}

// The collector's metrics follow Prometheus naming conventions, and a
// scrape of an idle gateway works.
func TestMetricsLint(t *testing.T) {
	cfg := testConfig("fmp4")
	app, err := NewApp(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	problems, err := testutil.CollectAndLint(newGatewayCollector(app))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(newMetricsRegistry(app))
	if err != nil || n < 20 {
		t.Fatalf("gathered %d metrics: %v", n, err)
	}
}
