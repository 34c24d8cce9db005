package flv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/livegate/gateway/ingest/rtmptest/ertmp"
	"github.com/livegate/gateway/remux"
)

// Real bitstreams, encoded once per test binary by ffmpeg (tests skip
// without it, except in CI where it is required).
var media struct {
	sync.Mutex
	dir   string
	paths map[string]string
}

func requireFFmpeg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ffmpeg is required in CI: %v", err)
		}
		t.Skip("ffmpeg not on PATH")
	}
}

// encoded returns the file name encoded with ffmpeg args (once).
func encoded(t testing.TB, name string, args ...string) string {
	t.Helper()
	requireFFmpeg(t)
	media.Lock()
	defer media.Unlock()
	if p, ok := media.paths[name]; ok {
		return p
	}
	if media.dir == "" {
		d, err := os.MkdirTemp("", "flv-ertmp-")
		if err != nil {
			t.Fatal(err)
		}
		media.dir, media.paths = d, map[string]string{}
	}
	p, err := ertmp.Encode(filepath.Join(media.dir, name), args...)
	if err != nil {
		t.Fatal(err)
	}
	media.paths[name] = p
	return p
}

func TestMain(m *testing.M) {
	code := m.Run()
	if media.dir != "" {
		os.RemoveAll(media.dir)
	}
	os.Exit(code)
}

// lavfi video source of w x h at 30 fps for 2 s.
func testsrc(size string) []string {
	return []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=30", "-t", "2", "-pix_fmt", "yuv420p"}
}

func hevcTrack(t testing.TB, size string) *ertmp.Track {
	p := encoded(t, "hevc-"+size+".ts", append(testsrc(size), "-c:v", "libx265", "-preset", "ultrafast",
		"-x265-params", "bframes=2:keyint=30:min-keyint=30:scenecut=0:log-level=error", "-f", "mpegts")...)
	tr, err := ertmp.ReadMPEGTSHEVC(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func av1Track(t testing.TB, size string) *ertmp.Track {
	p := encoded(t, "av1-"+size+".ivf", append(testsrc(size), "-c:v", "libsvtav1", "-preset", "12", "-g", "30", "-f", "ivf")...)
	tr, err := ertmp.ReadIVF(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func vp9Track(t testing.TB, size string) *ertmp.Track {
	p := encoded(t, "vp9-"+size+".ivf", append(testsrc(size), "-c:v", "libvpx-vp9", "-deadline", "realtime",
		"-cpu-used", "8", "-g", "30", "-f", "ivf")...)
	tr, err := ertmp.ReadIVF(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func sine(rate string) []string {
	return []string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=" + rate, "-t", "2"}
}

func opusTrack(t testing.TB) *ertmp.Track {
	p := encoded(t, "opus.ogg", append(sine("48000"), "-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-f", "ogg")...)
	tr, err := ertmp.ReadOggOpus(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func aacTrackMedia(t testing.TB) *ertmp.Track {
	p := encoded(t, "aac.adts", append(sine("44100"), "-ac", "2", "-c:a", "aac", "-f", "adts")...)
	tr, err := ertmp.ReadADTS(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func ac3Track(t testing.TB, fourCC string) *ertmp.Track {
	format := "ac3"
	if fourCC == ertmp.EAC3 {
		format = "eac3"
	}
	p := encoded(t, "audio."+format, append(sine("48000"), "-ac", "2", "-c:a", format, "-f", format)...)
	tr, err := ertmp.ReadAC3(p, fourCC)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func mp3Track(t testing.TB) *ertmp.Track {
	p := encoded(t, "audio.mp3", append(sine("44100"), "-ac", "1", "-c:a", "libmp3lame", "-write_xing", "0",
		"-id3v2_version", "0", "-f", "mp3")...)
	tr, err := ertmp.ReadMP3(p)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// feed sends messages to a fresh demuxer and returns the fixture.
func feed(t testing.TB, msgs []ertmp.Message) *fixture {
	t.Helper()
	f := newFixture(t)
	for _, m := range msgs {
		if m.Video {
			f.video(t, m.Timestamp, m.Body)
		} else {
			f.audio(t, m.Timestamp, m.Body)
		}
	}
	if err := f.r.Close(); err != nil {
		t.Fatal(err)
	}
	return f
}

// trackOf returns the last configuration of the (kind, source) track.
func (f *fixture) trackOf(kind remux.Kind, source int) *remux.Track {
	for i := len(f.sink.sets) - 1; i >= 0; i-- {
		for _, tr := range f.sink.sets[i] {
			if tr.Kind == kind && tr.SourceID == source {
				return tr
			}
		}
	}
	return nil
}

// samplesOf returns the samples of the track with id.
func (f *fixture) samplesOf(id int) []recSample {
	var out []recSample
	for _, s := range f.sink.samples {
		if s.ID == id {
			out = append(out, s)
		}
	}
	return out
}

// units converts a duration to a clock of rate Hz, rounding down.
func units(d time.Duration, rate int) int64 {
	return int64(d) * int64(rate) / int64(time.Second)
}

// unitsRound converts a duration to a clock of rate Hz, rounding to the
// nearest (the sources' durations are truncated to the nanosecond).
func unitsRound(d time.Duration, rate int) int64 {
	return (int64(d)*int64(rate) + int64(time.Second)/2) / int64(time.Second)
}

// checkTiming compares the samples of a track with the source frames: the
// same number, key flags and DTS/PTS within tol clock units of the source
// (relative to the first DTS).
func checkTiming(t *testing.T, name string, got []recSample, want []ertmp.Frame, rate int, tol int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d samples, source has %d frames", name, len(got), len(want))
		return
	}
	bad := 0
	g0, w0 := got[0].DTS, unitsRound(want[0].DTS, rate)
	for i := range got {
		wd, wp := unitsRound(want[i].DTS, rate)-w0, unitsRound(want[i].PTS, rate)-w0
		gd, gp := got[i].DTS-g0, got[i].PTS-g0
		if absInt(wd-gd) > tol || absInt(wp-gp) > tol || got[i].Key != want[i].Key {
			if bad < 5 {
				t.Errorf("%s frame %d: dts %d pts %d key %v, source dts %d pts %d key %v",
					name, i, gd, gp, got[i].Key, wd, wp, want[i].Key)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d frames differ", name, bad, len(got))
	}
}

func absInt(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
