package hls

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestTakeoverRejectRefusesSecondPublisher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(VariantFMP4)
		cfg.Takeover = TakeoverReject
		m := newTestManager(t, cfg)
		defer m.Close()
		p1, err := m.Publish("live", "cam", WithRemote("127.0.0.1:1000"))
		if err != nil {
			t.Fatal(err)
		}
		f1 := newFeeder(t, p1, videoTrack(1, 0), audioTrack(2))
		if err := f1.run(3 * time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Publish("live", "cam", WithRemote("127.0.0.1:2000")); !errors.Is(err, ErrStreamBusy) {
			t.Fatalf("second publish: %v, want ErrStreamBusy", err)
		}
		select {
		case <-p1.Done():
			t.Fatal("the live publication was ended by a refused publish")
		default:
		}
		if err := f1.run(time.Second); err != nil {
			t.Fatalf("the first publisher's writes after a refused publish: %v", err)
		}
		if info := m.Streams(); len(info) != 1 || info[0].Publisher != "127.0.0.1:1000" {
			t.Fatalf("streams %+v", info)
		}

		// Once the first publisher is gone (lost, waiting for a reconnect)
		// the name is free again and the playlist continues.
		p1.End(false)
		p2, err := m.Publish("live", "cam", WithRemote("127.0.0.1:2000"))
		if err != nil {
			t.Fatalf("publish after the first publisher left: %v", err)
		}
		f2 := newFeeder(t, p2, videoTrack(1, 0), audioTrack(2))
		if err := f2.run(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
		disc := 0
		for _, s := range pl.Segments {
			if s.Discontinuity {
				disc++
			}
		}
		if disc != 1 || pl.Endlist {
			t.Errorf("%d discontinuities, endlist %v", disc, pl.Endlist)
		}
	})
}

func TestTakeoverDefaultIsNewestWins(t *testing.T) {
	m := newTestManager(t, testConfig(VariantFMP4))
	defer m.Close()
	p1, err := m.Publish("live", "cam")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := m.Publish("live", "cam", WithRemote("10.0.0.2:5"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p1.Done():
	default:
		t.Fatal("old publication's Done not closed")
	}
	if info := m.Streams(); len(info) != 1 || !info[0].Live || info[0].Publisher != "10.0.0.2:5" {
		t.Fatalf("streams %+v", info)
	}
	p2.End(true)
}

func TestMaxStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(VariantFMP4)
		cfg.MaxStreams = 2
		cfg.ReconnectWindow = 5 * time.Second
		m := newTestManager(t, cfg)
		defer m.Close()
		a, err := m.Publish("live", "a")
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.Publish("live", "b")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Publish("live", "c"); !errors.Is(err, ErrTooManyStreams) {
			t.Fatalf("third stream: %v, want ErrTooManyStreams", err)
		}
		if len(m.Streams()) != 2 {
			t.Fatalf("a refused publish left a stream: %+v", m.Streams())
		}
		// Taking over an active name never counts.
		b2, err := m.Publish("live", "b")
		if err != nil {
			t.Fatalf("takeover at the limit: %v", err)
		}
		// Nor does resuming a stream that waits for its publisher.
		a.End(false)
		a2, err := m.Publish("live", "a")
		if err != nil {
			t.Fatalf("reconnect at the limit: %v", err)
		}
		// An ended stream frees its slot, but publishing it again takes one.
		a2.End(true)
		c, err := m.Publish("live", "c")
		if err != nil {
			t.Fatalf("publish after a stream ended: %v", err)
		}
		if _, err := m.Publish("live", "a"); !errors.Is(err, ErrTooManyStreams) {
			t.Fatalf("republishing an ended stream at the limit: %v", err)
		}
		// A stream whose reconnect window ran out frees its slot.
		c.End(false)
		time.Sleep(cfg.ReconnectWindow + time.Second)
		synctest.Wait()
		if _, err := m.Publish("live", "d"); err != nil {
			t.Fatalf("publish after a reconnect window ran out: %v", err)
		}
		_ = b
		b2.End(true)
	})
}

func TestKickEndsStream(t *testing.T) {
	for _, v := range []Variant{VariantMPEGTS, VariantLowLatency} {
		t.Run(string(v), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := newTestManager(t, testConfig(v))
				defer m.Close()
				if err := m.Kick("live", "cam"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("kick of an unknown stream: %v", err)
				}
				p, _ := m.Publish("live", "cam")
				f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
				if err := f.run(5 * time.Second); err != nil {
					t.Fatal(err)
				}
				before := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
				if err := m.Kick("live", "cam"); err != nil {
					t.Fatal(err)
				}
				select {
				case <-p.Done():
				default:
					t.Fatal("Done not closed by Kick")
				}
				if err := f.run(time.Second); !errors.Is(err, ErrKicked) {
					t.Fatalf("write after Kick: %v", err)
				}
				p.End(false) // the ingest side reports the lost connection afterwards
				obj := mustGet(t, m, MediaPlaylistName)
				after := parsePlaylist(t, obj)
				if !after.Endlist || !obj.Ended {
					t.Fatalf("no EXT-X-ENDLIST after Kick:\n%s", obj.Body)
				}
				// The segment in progress was closed, not thrown away.
				if len(after.Segments) <= len(before.Segments) {
					t.Errorf("%d segments after Kick, %d before", len(after.Segments), len(before.Segments))
				}
				info := m.Streams()
				if len(info) != 1 || info[0].Live || !info[0].Ended || info[0].Publisher != "" {
					t.Fatalf("streams after Kick %+v", info)
				}
				if err := m.Kick("live", "cam"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("second Kick: %v", err)
				}
				// The publisher may come back: the playlist continues.
				p2, err := m.Publish("live", "cam")
				if err != nil {
					t.Fatal(err)
				}
				f2 := newFeeder(t, p2, videoTrack(1, 0), audioTrack(2))
				if err := f2.run(4 * time.Second); err != nil {
					t.Fatal(err)
				}
				body := string(mustGet(t, m, MediaPlaylistName).Body)
				if strings.Contains(body, "#EXT-X-ENDLIST") || !strings.Contains(body, "#EXT-X-DISCONTINUITY") {
					t.Errorf("republished after Kick:\n%s", body)
				}
			})
		})
	}
}

func TestStreamsCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, testConfig(VariantFMP4))
		defer m.Close()
		start := time.Now()
		p, _ := m.Publish("live", "cam", WithRemote("192.0.2.7:4444"))
		f := newFeeder(t, p, videoTrack(1, 0), nil)
		// 30 fps of 2000-byte frames, counted as the ingest side would.
		f.after = func() { p.CountReceived(2000) }
		if err := f.run(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		info := m.Streams()[0]
		if info.Publisher != "192.0.2.7:4444" || !info.PublishedAt.Equal(start) {
			t.Errorf("publisher %q since %v, want since %v", info.Publisher, info.PublishedAt, start)
		}
		if info.FramesIn != 600 || info.BytesIn != 600*2000 {
			t.Errorf("frames %d bytes %d", info.FramesIn, info.BytesIn)
		}
		const want = 30 * 2000 * 8
		if info.BitrateIn < want*9/10 || info.BitrateIn > want*11/10 {
			t.Errorf("bitrate in %d, want about %d", info.BitrateIn, want)
		}
		if info.SegmentsWritten < 8 || info.TargetDuration != 2*time.Second {
			t.Errorf("segments written %d, target duration %v", info.SegmentsWritten, info.TargetDuration)
		}
		st := m.Stats()
		if st.SegmentsWritten != info.SegmentsWritten || st.Variant != VariantFMP4 {
			t.Errorf("stats %+v", st)
		}
		// Nothing received for a whole window: the rate falls to 0.
		time.Sleep(RateWindow + time.Second)
		if r := m.Streams()[0].BitrateIn; r != 0 {
			t.Errorf("bitrate in after %v of silence: %d", RateWindow, r)
		}
		p.End(true)
		if info := m.Streams()[0]; info.Publisher != "" || info.BytesIn != 600*2000 {
			t.Errorf("after the end: %+v", info)
		}
	})
}

func TestStatsCountDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newTestManager(t, testConfig(VariantFMP4))
		defer m.Close()
		p, _ := m.Publish("live", "cam")
		f := newFeeder(t, p, videoTrack(1, 0), audioTrack(2))
		// Start mid-GOP: frames before the first key frame are dropped.
		f.gk = 1
		if err := f.run(3 * time.Second); err != nil {
			t.Fatal(err)
		}
		st := m.Stats()
		if st.DroppedBeforeKeyFrame == 0 {
			t.Errorf("no drop before the first key frame counted: %+v", st)
		}
		p.End(true)
	})
}

func TestRateMeter(t *testing.T) {
	var m rateMeter
	t0 := time.Unix(1_000_000, 0)
	if r := m.rate(t0); r != 0 {
		t.Fatalf("empty meter: %d", r)
	}
	// 1000 bytes every 100 ms for 30 s: 80 kbit/s.
	for i := range 300 {
		m.add(t0.Add(time.Duration(i)*100*time.Millisecond), 1000)
	}
	now := t0.Add(30 * time.Second)
	if r := m.rate(now); r < 76_000 || r > 84_000 {
		t.Errorf("steady rate %d, want about 80000", r)
	}
	if m.bytes() != 300_000 {
		t.Errorf("bytes %d", m.bytes())
	}
	// Half a window later with nothing added: about half the rate.
	if r := m.rate(now.Add(RateWindow / 2)); r < 30_000 || r > 50_000 {
		t.Errorf("rate half a window after the last add: %d", r)
	}
	if r := m.rate(now.Add(RateWindow + 2*time.Second)); r != 0 {
		t.Errorf("rate after a silent window: %d", r)
	}
	// A young meter divides by its age, not by the whole window.
	var y rateMeter
	for i := range 30 {
		y.add(t0.Add(time.Duration(i)*100*time.Millisecond), 1000)
	}
	if r := y.rate(t0.Add(3 * time.Second)); r < 76_000 || r > 84_000 {
		t.Errorf("young meter rate %d, want about 80000", r)
	}
}

func TestConfigRejectsBadTakeover(t *testing.T) {
	cfg := testConfig(VariantFMP4)
	cfg.Takeover = "sometimes"
	if _, err := NewManager(cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v", err)
	}
	cfg.Takeover = ""
	cfg.MaxStreams = -1
	if _, err := NewManager(cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v", err)
	}
}
