package flv

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/livegate/gateway/remux"
)

// Parameter sets from x264 and x265 (ffmpeg testsrc2).
var (
	sps320 = mustHex("6764000dacd94141fb0110000003001000000303c0f1429960") // H.264 320x240
	sps640 = mustHex("6764001eacd940a03db011000003000100000300320f162d96") // H.264 640x480
	ppsX   = mustHex("68ebe3cb22c0")

	hevcVPS = mustHex("40010c01ffff01600000030090000003000003003c959809")
	hevcSPS = mustHex("42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003003c10") // 320x240
	hevcPPS = mustHex("4401c172b46240")

	// x264's record for sps320 as ffmpeg's FLV muxer sends it, with the
	// High profile extension (chroma_format, bit depths, 0 SPS ext).
	x264Record = mustHex("0164000dffe10019" + "6764000dacd94141fb0110000003001000000303c0f1429960" +
		"010006" + "68ebe3cb22c0" + "fdf8f800")

	asc44mono   = []byte{0x12, 0x08}
	asc48stereo = []byte{0x11, 0x90}
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// avcRecord builds an AVCDecoderConfigurationRecord.
func avcRecord(lengthSize int, sps, pps [][]byte, ext []byte) []byte {
	b := []byte{1, 0x64, 0, 0x0d, 0xfc | byte(lengthSize-1), 0xe0 | byte(len(sps))}
	for _, s := range sps {
		b = append(b, byte(len(s)>>8), byte(len(s)))
		b = append(b, s...)
	}
	b = append(b, byte(len(pps)))
	for _, p := range pps {
		b = append(b, byte(len(p)>>8), byte(len(p)))
		b = append(b, p...)
	}
	return append(b, ext...)
}

// hevcRecord builds an HEVCDecoderConfigurationRecord with one array per
// parameter set type.
func hevcRecord(lengthSize int, vps, sps, pps []byte) []byte {
	b := make([]byte, 23)
	b[0] = 1
	b[21] = 0x0c | byte(lengthSize-1)
	b[22] = 3
	for _, n := range [][]byte{vps, sps, pps} {
		b = append(b, 0x80|(n[0]>>1)&0x3f, 0, 1, byte(len(n)>>8), byte(len(n)))
		b = append(b, n...)
	}
	return b
}

// lengthPrefixed frames NAL units with lengthSize-byte big-endian lengths.
func lengthPrefixed(lengthSize int, nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		l := len(n)
		for i := lengthSize - 1; i >= 0; i-- {
			b = append(b, byte(l>>(8*i)))
		}
		b = append(b, n...)
	}
	return b
}

// videoTag builds a legacy VIDEODATA body with the AVCVIDEOPACKET layout.
func videoTag(frameType, codecID, packetType byte, cts int32, payload []byte) []byte {
	b := []byte{frameType<<4 | codecID, packetType, byte(cts >> 16), byte(cts >> 8), byte(cts)}
	return append(b, payload...)
}

func aacTag(packetType byte, payload []byte) []byte {
	return append([]byte{0xaf, packetType}, payload...)
}

// adts builds an ADTS frame (AAC-LC, no CRC) around raw.
func adts(freqIndex, channels byte, raw []byte) []byte {
	n := len(raw) + 7
	return append([]byte{
		0xff, 0xf1,
		(2-1)<<6 | freqIndex<<2 | channels>>2,
		(channels&3)<<6 | byte(n>>11),
		byte(n >> 3),
		byte(n<<5) | 0x1f,
		0xfc,
	}, raw...)
}

type recSample struct {
	ID, Gen  int
	Codec    remux.Codec
	DTS, PTS int64
	Key      bool
	NALUs    [][]byte
	Payload  []byte
}

// recSink records what reaches the segmenter side and checks the Sink
// contract: a sample's track is in the latest SetTracks call and DTS
// strictly increases per track (in time: a new configuration may change
// the clock rate).
type recSink struct {
	t       testing.TB
	sets    [][]*remux.Track
	samples []recSample
	last    map[int]lastDTS
}

type lastDTS struct{ dts, rate int64 }

func newRecSink(t testing.TB) *recSink { return &recSink{t: t, last: map[int]lastDTS{}} }

func (s *recSink) SetTracks(ts []*remux.Track) error {
	s.sets = append(s.sets, slices.Clone(ts))
	return nil
}

func (s *recSink) WriteSample(smp *remux.Sample) error {
	if len(s.sets) == 0 || !slices.Contains(s.sets[len(s.sets)-1], smp.Track) {
		s.t.Errorf("sample of track %d not in the latest SetTracks", smp.Track.ID)
	}
	rate := int64(smp.Track.ClockRate)
	if l, ok := s.last[smp.Track.ID]; ok && (l.rate == rate && smp.DTS <= l.dts || l.rate != rate && smp.DTS*l.rate < l.dts*rate) {
		s.t.Errorf("track %d: DTS %d (clock %d) after %d (clock %d)", smp.Track.ID, smp.DTS, rate, l.dts, l.rate)
	}
	s.last[smp.Track.ID] = lastDTS{smp.DTS, rate}
	r := recSample{ID: smp.Track.ID, Gen: smp.Track.Generation, Codec: smp.Track.Codec,
		DTS: smp.DTS, PTS: smp.PTS, Key: smp.Key, Payload: bytes.Clone(smp.Payload)}
	for _, n := range smp.NALUs {
		r.NALUs = append(r.NALUs, bytes.Clone(n))
	}
	s.samples = append(s.samples, r)
	return nil
}

func (s *recSink) byCodec(c remux.Codec) []recSample {
	var out []recSample
	for _, x := range s.samples {
		if x.Codec == c {
			out = append(out, x)
		}
	}
	return out
}

func (s *recSink) lastSet() []*remux.Track {
	if len(s.sets) == 0 {
		return nil
	}
	return s.sets[len(s.sets)-1]
}

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

func (l *logBuf) count(s string) int { return strings.Count(l.String(), s) }

type fixture struct {
	d    *Demuxer
	r    *remux.Remuxer
	sink *recSink
	logs *logBuf
}

func newFixture(t testing.TB) *fixture {
	lb := &logBuf{}
	log := zerolog.New(lb).Level(zerolog.DebugLevel)
	sink := newRecSink(t)
	r := remux.NewRemuxer(sink, log)
	return &fixture{d: NewDemuxer(r, log), r: r, sink: sink, logs: lb}
}

func (f *fixture) video(t testing.TB, ts uint32, body []byte) {
	t.Helper()
	if err := f.d.Video(ts, body); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) audio(t testing.TB, ts uint32, body []byte) {
	t.Helper()
	if err := f.d.Audio(ts, body); err != nil {
		t.Fatal(err)
	}
}
