package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/livegate/gateway/hls"
	"github.com/livegate/gateway/ingest"
)

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
