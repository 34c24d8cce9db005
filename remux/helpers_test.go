package remux

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// Parameter sets produced by x264 (ffmpeg testsrc2, libx264).
var (
	sps320 = mustHex("6764000dacd94141fb0110000003001000000303c0f1429960") // 320x240, 30 fps VUI
	sps640 = mustHex("6764001eacd940a03db011000003000100000300320f162d96") // 640x480, 25 fps VUI
	ppsX   = mustHex("68ebe3cb22c0")
	// AudioSpecificConfig: AAC-LC 44.1 kHz mono; AAC-LC 48 kHz stereo;
	// AAC-LC 48 kHz stereo with frameLengthFlag (960-sample frames).
	asc44mono   = []byte{0x12, 0x08}
	asc48stereo = []byte{0x11, 0x90}
	asc48s960   = []byte{0x11, 0x94}
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// recSample is a copy of a Sample as seen by the sink.
type recSample struct {
	Track    *Track
	ID, Gen  int
	DTS, PTS int64
	Base     int64
	Key      bool
	NALUs    [][]byte
	Payload  []byte
}

// recSink records everything and checks the Sink contract: a sample's
// track is in the latest SetTracks call, DTS strictly increases per track.
type recSink struct {
	t       testing.TB
	sets    [][]*Track
	samples []recSample
	lastDTS map[int]int64
	failSet error
	failW   error
}

func newRecSink(t testing.TB) *recSink { return &recSink{t: t, lastDTS: map[int]int64{}} }

func (s *recSink) SetTracks(tracks []*Track) error {
	if s.failSet != nil {
		return s.failSet
	}
	s.sets = append(s.sets, slices.Clone(tracks))
	return nil
}

func (s *recSink) WriteSample(smp *Sample) error {
	if s.failW != nil {
		return s.failW
	}
	if len(s.sets) == 0 || !slices.Contains(s.sets[len(s.sets)-1], smp.Track) {
		s.t.Errorf("sample of track %d gen %d not in the latest SetTracks", smp.Track.ID, smp.Track.Generation)
	}
	if last, ok := s.lastDTS[smp.Track.ID]; ok && smp.DTS <= last {
		s.t.Errorf("track %d: DTS %d after %d", smp.Track.ID, smp.DTS, last)
	}
	s.lastDTS[smp.Track.ID] = smp.DTS
	r := recSample{Track: smp.Track, ID: smp.Track.ID, Gen: smp.Track.Generation, DTS: smp.DTS, PTS: smp.PTS, Base: smp.Base, Key: smp.Key,
		Payload: bytes.Clone(smp.Payload)}
	for _, n := range smp.NALUs {
		r.NALUs = append(r.NALUs, bytes.Clone(n))
	}
	s.samples = append(s.samples, r)
	return nil
}

func (s *recSink) byTrack(id int) []recSample {
	var out []recSample
	for _, x := range s.samples {
		if x.ID == id {
			out = append(out, x)
		}
	}
	return out
}

// logBuf collects log lines for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) count(substr string) int { return strings.Count(l.String(), substr) }

func newTestRemuxer(t testing.TB, opts ...Option) (*Remuxer, *recSink, *logBuf) {
	sink := newRecSink(t)
	lb := &logBuf{}
	return NewRemuxer(sink, zerolog.New(lb).Level(zerolog.DebugLevel), opts...), sink, lb
}

func h264Track(t testing.TB, sps []byte) *Track {
	tr, err := NewH264Track([][]byte{sps}, [][]byte{ppsX})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func aacTrack(t testing.TB, asc []byte) *Track {
	tr, err := NewAACTrack(asc)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var (
	idr   = [][]byte{{0x65, 0x88, 0x84, 0x00}}
	slice = [][]byte{{0x41, 0x9a, 0x02}}
)

func aacFrame(n int) []byte { return []byte{0x21, 0x10, byte(n), byte(n >> 8)} }

var errSink = errors.New("sink failed")

func describe(s []recSample) string {
	var b strings.Builder
	for _, x := range s {
		fmt.Fprintf(&b, "[%d g%d dts=%d pts=%d key=%v] ", x.ID, x.Gen, x.DTS, x.PTS, x.Key)
	}
	return b.String()
}
