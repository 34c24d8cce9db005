package hls

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

type result struct {
	obj *Object
	err error
	at  time.Time
}

func asyncGet(ctx context.Context, m *Manager, file string, q url.Values) chan result {
	ch := make(chan result, 1)
	go func() {
		o, err := m.Get(ctx, "live", "cam", file, q)
		ch <- result{o, err, time.Now()}
	}()
	return ch
}

func msnQuery(msn int64, part int) url.Values {
	q := url.Values{"_HLS_msn": {strconv.FormatInt(msn, 10)}}
	if part >= 0 {
		q.Set("_HLS_part", strconv.Itoa(part))
	}
	return q
}

func pending(ch chan result) bool {
	synctest.Wait()
	select {
	case r := <-ch:
		ch <- r
		return false
	default:
		return true
	}
}

func startLL(t *testing.T, cfg Config, d time.Duration) (*Manager, *Publication, *feeder) {
	m := newTestManager(t, cfg)
	p, err := m.Publish("live", "cam")
	if err != nil {
		t.Fatal(err)
	}
	f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
	if err := f.run(d); err != nil {
		t.Fatal(err)
	}
	return m, p, f
}

func TestBlockingReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, f := startLL(t, testConfig(VariantLowLatency), 5*time.Second)
		defer m.Close()
		pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		openMSN := pl.MediaSequence + int64(len(pl.Segments))
		nParts := len(pl.Parts)
		if nParts == 0 {
			t.Fatalf("no parts in progress")
		}

		// The next part: blocks until it exists, answers at once then.
		ch := asyncGet(t.Context(), m, MediaPlaylistName, msnQuery(openMSN, nParts))
		if !pending(ch) {
			t.Fatalf("answered before the part existed: %+v", <-ch)
		}
		var cutAt time.Time
		f.after = func() {
			if cutAt.IsZero() && !pending(ch) {
				cutAt = time.Now()
			}
		}
		if err := f.run(300 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		r := <-ch
		if r.err != nil || !r.obj.Blocking {
			t.Fatalf("blocking reload: %+v", r)
		}
		if !r.at.Equal(cutAt) {
			t.Errorf("answered at %v, part existed at %v", r.at, cutAt)
		}
		got := parsePlaylist(t, r.obj)
		if len(got.Parts) <= nParts && got.MediaSequence+int64(len(got.Segments)) == openMSN {
			t.Errorf("answer lacks part %d.%d", openMSN, nParts)
		}
		f.after = nil

		// _HLS_msn alone waits for the whole segment.
		ch = asyncGet(t.Context(), m, MediaPlaylistName, msnQuery(openMSN, -1))
		if !pending(ch) {
			t.Fatal("segment not complete yet")
		}
		if err := f.run(time.Second); err != nil {
			t.Fatal(err)
		}
		r = <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := parsePlaylist(t, r.obj); got.MediaSequence+int64(len(got.Segments))-1 < openMSN {
			t.Errorf("segment %d not in the answer", openMSN)
		}

		// A part index past the segment's last part means part 0 of the next.
		ch = asyncGet(t.Context(), m, MediaPlaylistName, msnQuery(openMSN, 50))
		if r := <-ch; r.err != nil {
			t.Fatalf("part past the end of a complete segment whose successor has parts: %v", r.err)
		}

		// Client cancellation returns promptly.
		ctx, cancel := context.WithCancel(t.Context())
		ch = asyncGet(ctx, m, MediaPlaylistName, msnQuery(openMSN+2, -1))
		if !pending(ch) {
			t.Fatal("future segment answered")
		}
		start := time.Now()
		cancel()
		r = <-ch
		if !errors.Is(r.err, context.Canceled) || r.at != start {
			t.Errorf("cancel: %v after %v", r.err, r.at.Sub(start))
		}

		// The publisher stalls: 503 after three target durations.
		pl = parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		openMSN = pl.MediaSequence + int64(len(pl.Segments))
		start = time.Now()
		ch = asyncGet(t.Context(), m, MediaPlaylistName, msnQuery(openMSN, len(pl.Parts)))
		r = <-ch
		if !errors.Is(r.err, ErrUnavailable) || r.at.Sub(start) != 6*time.Second {
			t.Errorf("stall: %v after %v", r.err, r.at.Sub(start))
		}
	})
}

func TestBlockingReloadBadRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, _ := startLL(t, testConfig(VariantLowLatency), 5*time.Second)
		defer m.Close()
		pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		last := pl.MediaSequence + int64(len(pl.Segments)) - 1
		limit := int(3 * time.Second / DefaultPartDuration) // bis §6.2.5.2 Advance Part Limit
		cases := []struct {
			name string
			q    url.Values
		}{
			{"part without msn", url.Values{"_HLS_part": {"1"}}},
			{"msn not a number", url.Values{"_HLS_msn": {"x"}}},
			{"negative part", url.Values{"_HLS_msn": {"1"}, "_HLS_part": {"-1"}}},
			{"msn more than two ahead", msnQuery(last+3, -1)},
			{"part past the advance limit", msnQuery(last+1, len(pl.Parts)+limit)},
			{"next segment part past the limit", msnQuery(last+2, limit)},
		}
		for _, c := range cases {
			if _, err := get(t, m, MediaPlaylistName, c.q); !errors.Is(err, ErrBadRequest) {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		// Within the limits it is a (blocking) request, not a 400.
		ch := asyncGet(t.Context(), m, MediaPlaylistName, msnQuery(last+2, -1))
		if !pending(ch) {
			r := <-ch
			t.Errorf("msn+2: %v", r.err)
		}
	})
}

func TestPreloadHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, f := startLL(t, testConfig(VariantLowLatency), 3*time.Second)
		defer m.Close()
		pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		hint := pl.PreloadHint
		ch := asyncGet(t.Context(), m, hint, nil)
		if !pending(ch) {
			t.Fatalf("hinted part answered before it was complete")
		}
		// A part after the hinted one is not hinted: 404 at once.
		idx := strings.LastIndexByte(strings.TrimSuffix(hint, ".m4s"), '.')
		n, _ := strconv.Atoi(strings.TrimSuffix(hint, ".m4s")[idx+1:])
		later := hint[:idx+1] + strconv.Itoa(n+1) + ".m4s"
		if _, err := get(t, m, later, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("unhinted part: %v", err)
		}
		if err := f.run(300 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		r := <-ch
		if r.err != nil || r.obj.Kind != KindPart {
			t.Fatalf("hinted part: %+v", r)
		}
		again := mustGet(t, m, hint)
		if &again.Body[0] != &r.obj.Body[0] || len(again.Body) != len(r.obj.Body) {
			t.Errorf("hinted part bytes differ from the part")
		}
		// HEAD-like: a cancelled context still gets what exists.
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := m.Get(ctx, "live", "cam", hint, nil); err != nil {
			t.Errorf("existing part with cancelled ctx: %v", err)
		}
		pl = parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		if _, err := m.Get(ctx, "live", "cam", pl.PreloadHint, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("hinted part with cancelled ctx: %v", err)
		}
	})
}

func TestDeltaUpdate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(VariantLowLatency)
		cfg.SegmentCount = 12
		m, _, _ := startLL(t, cfg, 40*time.Second)
		defer m.Close()
		full := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		for _, skip := range []string{"YES", "v2"} {
			o, err := get(t, m, MediaPlaylistName, url.Values{"_HLS_skip": {skip}})
			if err != nil {
				t.Fatal(err)
			}
			d := parsePlaylist(t, o)
			if d.Skipped == 0 || d.Version < 9 {
				t.Fatalf("no EXT-X-SKIP:\n%s", o.Body)
			}
			var shown time.Duration
			for _, s := range d.Segments {
				shown += s.Duration
			}
			if shown < 6*time.Duration(d.TargetDuration)*time.Second-2*time.Second {
				t.Errorf("delta shows %v, skip boundary is %ds", shown, 6*d.TargetDuration)
			}
			if d.Skipped+len(d.Segments) != len(full.Segments) || d.MediaSequence != full.MediaSequence {
				t.Errorf("delta %d+%d segments from %d, full %d from %d", d.Skipped, len(d.Segments), d.MediaSequence, len(full.Segments), full.MediaSequence)
			}
			for i, s := range d.Segments {
				if fs := full.Segments[d.Skipped+i]; fs.URI != s.URI || fs.Map != s.Map {
					t.Errorf("delta segment %d differs", s.MSN)
				}
			}
			if err := rulesCheck(nil, d, rulesFor(VariantLowLatency)); err != nil {
				t.Error(err)
			}
		}
		// Cached per snapshot: the same bytes for every request.
		a, _ := get(t, m, MediaPlaylistName, url.Values{"_HLS_skip": {"YES"}})
		b, _ := get(t, m, MediaPlaylistName, url.Values{"_HLS_skip": {"YES"}})
		if a != b {
			t.Errorf("delta rendered twice")
		}
	})
}

func TestEndlistIgnoresDirectives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, p, _ := startLL(t, testConfig(VariantLowLatency), 5*time.Second)
		defer m.Close()
		p.End(true)
		q := msnQuery(1000, 3)
		q.Set("_HLS_skip", "YES")
		start := time.Now()
		o, err := get(t, m, MediaPlaylistName, q)
		if err != nil || time.Since(start) != 0 {
			t.Fatalf("%v after %v", err, time.Since(start))
		}
		pl := parsePlaylist(t, o)
		if !pl.Endlist || pl.PreloadHint != "" || pl.Skipped != 0 || o.Blocking || !o.Ended {
			t.Errorf("ended playlist %+v\n%s", o, o.Body)
		}
	})
}

func TestNonLLNeverBlocks(t *testing.T) {
	for _, v := range []Variant{VariantMPEGTS, VariantFMP4} {
		synctest.Test(t, func(t *testing.T) {
			m, _, _ := startLL(t, testConfig(v), 5*time.Second)
			defer m.Close()
			start := time.Now()
			o, err := get(t, m, MediaPlaylistName, msnQuery(100, 2))
			if err != nil || o.Blocking || time.Since(start) != 0 {
				t.Errorf("%s: %v blocking=%v", v, err, o != nil && o.Blocking)
			}
		})
	}
}

func TestFirstPlaylistAsEarlyAsPossible(t *testing.T) {
	for _, v := range []Variant{VariantMPEGTS, VariantFMP4, VariantLowLatency} {
		synctest.Test(t, func(t *testing.T) {
			m := newTestManager(t, testConfig(v))
			defer m.Close()
			if _, err := get(t, m, MediaPlaylistName, nil); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown stream: %v", err)
			}
			p, _ := m.Publish("live", "cam")
			f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
			var first time.Duration
			f.after = func() {
				if first != 0 {
					return
				}
				_, errM := get(t, m, MultivariantName, nil)
				o, err := get(t, m, MediaPlaylistName, nil)
				if err == nil {
					if errM != nil {
						t.Errorf("media playlist without multivariant: %v", errM)
					}
					first = f.elapsed()
					if len(o.Body) == 0 {
						t.Errorf("empty playlist")
					}
					return
				}
				if !errors.Is(err, ErrNotFound) || !errors.Is(errM, ErrNotFound) {
					t.Errorf("before the first segment: %v / %v", err, errM)
				}
			}
			if err := f.run(3 * time.Second); err != nil {
				t.Fatal(err)
			}
			// The playlist appears with the sample that closes the first
			// segment (the key frame at 2 s) or, for LL-HLS, the first part.
			want := 2 * time.Second
			if v == VariantLowLatency {
				want = 200 * time.Millisecond
			}
			if first < want || first > want+40*time.Millisecond {
				t.Errorf("%s: first playlist after %v of media, want %v", v, first, want)
			}
		})
	}
}
