package main

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livegate/gateway/hls/hlstest"
)

// playlistWatch polls a media playlist and checks every snapshot, and every
// change between snapshots, against the HLS rules (hlstest.CheckMediaPlaylist).
type playlistWatch struct {
	mu        sync.Mutex
	snapshots int
	errs      []string
	last      *hlstest.MediaPlaylist
	seen      map[int64]string // MSN → segment URI, every segment ever listed
	stop      context.CancelFunc
	done      chan struct{}
}

func watchPlaylist(t *testing.T, url string, rules hlstest.Rules) *playlistWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &playlistWatch{stop: cancel, done: make(chan struct{}), seen: map[int64]string{}}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 3000; i++ { // bounded: at most 5 minutes
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			code, _, body := httpGetQuiet(url)
			if code != 200 {
				continue
			}
			cur, err := hlstest.ParseMediaPlaylist(body)
			w.mu.Lock()
			if err != nil {
				w.errs = append(w.errs, "parse: "+err.Error())
			} else {
				if err := hlstest.CheckMediaPlaylist(w.last, cur, rules); err != nil {
					w.errs = append(w.errs, err.Error())
				}
				for _, s := range cur.Segments {
					w.seen[s.MSN] = s.URI
				}
				w.last = cur
				w.snapshots++
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(w.finish)
	return w
}

func (w *playlistWatch) finish() {
	w.stop()
	<-w.done
}

// check stops the watch and reports every violation seen.
func (w *playlistWatch) check(t *testing.T) {
	t.Helper()
	w.finish()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.snapshots < 3 {
		t.Errorf("only %d playlist snapshots", w.snapshots)
	}
	for i, e := range w.errs {
		if i == 10 {
			t.Errorf("... %d more", len(w.errs)-10)
			break
		}
		t.Errorf("playlist rule: %s", e)
	}
}

func (w *playlistWatch) current() *hlstest.MediaPlaylist {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// The playlist over a stream's life: a sliding window that never goes back,
// a segment that left the window still served, a publisher that dies without
// unpublishing and does not return (EXT-X-ENDLIST after the reconnect
// window), and 404 once the retention time has passed.
func TestE2EPlaylistLifecycle(t *testing.T) {
	t.Parallel()
	src := clip(t, 8)
	for _, variant := range variants {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(variant)
			cfg.HLS.SegmentCount = 3
			cfg.HLS.ReconnectWindow = 2 * time.Second
			cfg.HLS.Retention = 3 * time.Second
			gw := startGateway(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			pub := publishFFmpeg(t, ctx, src, rtmpURL(gw, "live", "life"))
			index := httpURL(gw, "live/life/index.m3u8")
			if code, _, _ := httpGet(t, index); code != 404 {
				t.Errorf("index.m3u8 before the first segment: status %d, want 404", code)
			}
			if !waitFor(10*time.Second, func() bool { c, _, _ := httpGet(t, index); return c == 200 }) {
				t.Fatal("no playlist")
			}
			media := mediaPlaylistURL(t, gw, "live", "life")
			w := watchPlaylist(t, media, hlstest.Rules{FMP4: variant != "mpegts", LowLatency: variant == "lowlatency", MaxSegments: cfg.HLS.SegmentCount + 1}) // +1: RFC 8216 §6.2.2 keeps 3 x TD when segments are a little short

			// Wait until the first segment has left the window, then fetch it.
			if !waitFor(15*time.Second, func() bool { c := w.current(); return c != nil && c.MediaSequence >= 2 }) {
				t.Fatal("window never slid")
			}
			w.mu.Lock()
			retired := w.seen[0]
			w.mu.Unlock()
			if retired == "" {
				t.Fatal("segment 0 was never listed")
			}
			retiredURL := httpURL(gw, "live/life/"+retired)
			if code, _, _ := httpGet(t, retiredURL); code != 200 {
				t.Errorf("segment 0 after leaving the playlist: status %d, want 200 (RFC 8216 §6.2.2)", code)
			}

			_ = pub.Process.Signal(syscall.SIGKILL)
			_ = pub.Wait()
			killed := time.Now()
			var ended time.Duration
			if !waitFor(10*time.Second, func() bool {
				c := w.current()
				if c != nil && c.Endlist {
					ended = time.Since(killed)
					return true
				}
				return false
			}) {
				t.Fatal("no EXT-X-ENDLIST after the reconnect window")
			}
			if ended < cfg.HLS.ReconnectWindow-200*time.Millisecond {
				t.Errorf("EXT-X-ENDLIST %v after the drop, before the %v reconnect window", ended, cfg.HLS.ReconnectWindow)
			}
			w.check(t)

			if !waitFor(cfg.HLS.Retention+3*time.Second, func() bool { c, _, _ := httpGet(t, media); return c == 404 }) {
				t.Error("media playlist still served after the retention time")
			}
			for _, u := range []string{index, retiredURL} {
				if code, h, _ := httpGet(t, u); code != 404 || !strings.Contains(h.Get("Cache-Control"), "no-store") {
					t.Errorf("%s after retention: status %d Cache-Control %q, want 404 no-store", u, code, h.Get("Cache-Control"))
				}
			}
		})
	}
}
