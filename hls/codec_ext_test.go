package hls

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/livegate/gateway/remux"
)

// av1TestSeqHdr is an SVT-AV1 320x240 sequence header OBU (main profile,
// level 2.0, 8 bits 4:2:0) with obu_size, as E-RTMP's av1C carries it.
const av1TestSeqHdr = "0a0b000000043cffbcfbf90040"

func mustTrack(t testing.TB, tr *remux.Track, err error) *remux.Track {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// extCase is one codec of the Enhanced RTMP set fed through the segmenter
// with synthetic samples.
type extCase struct {
	name   string
	track  func(t testing.TB) *remux.Track
	entry  string // fMP4 sample entry type
	config string // its configuration box
	codecs string // CODECS entry
	frame  int64  // frame duration, track clock (audio)
}

func extCases() []extCase {
	return []extCase{
		{name: "AV1", entry: "av01", config: "av1C", codecs: "av01.0.00M.08.0.110.01.01.01.0",
			track: func(t testing.TB) *remux.Track {
				b, _ := hex.DecodeString(av1TestSeqHdr)
				tr, err := remux.NewAV1Track(b)
				return mustTrack(t, tr, err)
			}},
		{name: "VP9", entry: "vp09", config: "vpcC", codecs: "vp09.02.31.10.01.09.16.09.00",
			track: func(t testing.TB) *remux.Track {
				tr, err := remux.NewVP9Track(remux.VP9Config{Profile: 2, Level: 31, BitDepth: 10, ChromaSubsampling: 1,
					ColourPrimaries: 9, TransferCharacteristics: 16, MatrixCoefficients: 9}, 1280, 720)
				return mustTrack(t, tr, err)
			}},
		{name: "Opus", entry: "Opus", config: "dOps", codecs: "opus", frame: 960,
			track: func(t testing.TB) *remux.Track {
				tr, err := remux.NewOpusTrack(remux.OpusConfig{Version: 1, ChannelCount: 2, PreSkip: 3840, InputSampleRate: 44100})
				return mustTrack(t, tr, err)
			}},
		{name: "FLAC", entry: "fLaC", config: "dfLa", codecs: "fLaC", frame: 4096,
			track: func(t testing.TB) *remux.Track {
				// STREAMINFO: block size 4096, frame sizes unknown, 44.1 kHz,
				// 2 channels, 16 bits, length unknown, no MD5.
				si, _ := hex.DecodeString("10001000000000000000" + "0ac442f0" + "00000000" + strings.Repeat("00", 16))
				tr, err := remux.NewFLACTrack(si)
				return mustTrack(t, tr, err)
			}},
		{name: "AC-3", entry: "ac-3", config: "dac3", codecs: "ac-3", frame: 1536,
			track: func(t testing.TB) *remux.Track {
				tr, err := remux.NewAC3Track(remux.AC3Config{Fscod: 0, BitRateCode: 10, Bsid: 8, Acmod: 2})
				return mustTrack(t, tr, err)
			}},
		{name: "E-AC-3", entry: "ec-3", config: "dec3", codecs: "ec-3", frame: 1536,
			track: func(t testing.TB) *remux.Track {
				tr, err := remux.NewEAC3Track(remux.EAC3Config{SampleRate: 48000, Bsid: 16, Acmod: 7, LfeOn: true, Blocks: 6, DataRate: 384})
				return mustTrack(t, tr, err)
			}},
		{name: "MP3", entry: "mp4a", config: "esds", codecs: "mp4a.40.34", frame: 1152,
			track: func(t testing.TB) *remux.Track {
				tr, err := remux.NewMPEGAudioTrack(remux.MPEGAudioConfig{Layer: 3, SampleRate: 44100})
				return mustTrack(t, tr, err)
			}},
	}
}

// feedExt publishes 7 s of synthetic samples: 30 fps video with a key
// frame every second (parts of 200 ms mostly start between key frames),
// and audio frames of their codec's duration.
func feedExt(t *testing.T, m *Manager, v, a *remux.Track, aFrame int64) {
	t.Helper()
	p, err := m.Publish("live", "cam")
	if err != nil {
		t.Fatal(err)
	}
	var tracks []*remux.Track
	for _, tr := range []*remux.Track{v, a} {
		if tr != nil {
			tracks = append(tracks, tr)
		}
	}
	if err := p.SetTracks(tracks); err != nil {
		t.Fatal(err)
	}
	const seconds = 7
	payload := make([]byte, 200)
	var vi, ai int64
	for {
		vt, at := int64(1<<62), int64(1<<62) // ns
		if v != nil {
			vt = vi * 1e9 / 30
		}
		if a != nil {
			at = ai * aFrame * 1e9 / int64(a.ClockRate)
		}
		if min(vt, at) >= seconds*1e9 {
			break
		}
		s := &remux.Sample{}
		if vt <= at {
			s.Track, s.DTS, s.Key = v, vi*3000, vi%30 == 0
			s.PTS = s.DTS
			payload[0] = byte(vi)
			if sampleFraming(v.Codec) == framingNALU {
				nalu := []byte{0x41, byte(vi)}
				if s.Key {
					nalu[0] = 0x65
				}
				s.NALUs = [][]byte{nalu}
			} else {
				s.Payload = payload
			}
			vi++
		} else {
			s.Track, s.DTS, s.PTS, s.Key, s.Payload = a, ai*aFrame, ai*aFrame, true, payload[:100]
			ai++
		}
		if err := p.WriteSample(s); err != nil {
			t.Fatal(err)
		}
	}
	p.End(true)
}

// firstSampleKey reports whether the first sample of track id in an fMP4
// fragment is a sync sample (ISO/IEC 14496-12 §8.8.8 trun, as
// appendFragment writes it: data offset present, no first_sample_flags).
func firstSampleKey(b []byte, id uint32) (key, found bool) {
	var cur uint32
	mp4Boxes(b, func(typ string, body []byte) {
		switch {
		case typ == "tfhd":
			cur = binary.BigEndian.Uint32(body[4:])
		case typ == "trun" && cur == id && !found:
			found = true
			flags := binary.BigEndian.Uint32(body) & 0xffffff
			key = flags&trunFlags == 0 || binary.BigEndian.Uint32(body[20:])&sampleIsNonSync == 0
		}
	})
	return key, found
}

// TestExtCodecsFMP4 feeds each Enhanced RTMP codec through the fMP4 and
// LL-HLS variants and checks the init sample entry, the CODECS attribute
// and that every segment and INDEPENDENT part starts on a key frame.
func TestExtCodecsFMP4(t *testing.T) {
	for _, c := range extCases() {
		for _, variant := range []Variant{VariantFMP4, VariantLowLatency} {
			t.Run(c.name+"/"+string(variant), func(t *testing.T) {
				tr := c.track(t)
				var v, a *remux.Track
				want := []string{}
				if tr.IsVideo() {
					tr.ID = 1
					v, a = tr, audioTrack(2)
					want = append(want, c.codecs, "mp4a.40.2")
				} else {
					tr.ID = 2
					v, a = videoTrack(1, 0), tr
					want = append(want, "avc1.42c028", c.codecs)
				}
				m := newTestManager(t, testConfig(variant))
				defer m.Close()
				feedExt(t, m, v, a, max(c.frame, 1024))

				mv := string(mustGet(t, m, MultivariantName).Body)
				if !strings.Contains(mv, `CODECS="`+strings.Join(want, ",")+`"`) {
					t.Errorf("CODECS: want %q in\n%s", strings.Join(want, ","), mv)
				}
				pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName))
				if len(pl.Segments) < 3 || !pl.IndependentSegments {
					t.Fatalf("%d segments, independent %v", len(pl.Segments), pl.IndependentSegments)
				}
				init := mustGet(t, m, pl.Segments[0].Map).Body
				if findConfigBox(init, c.entry, c.config) == nil {
					t.Errorf("init has no %s/%s", c.entry, c.config)
				}
				for _, s := range pl.Segments {
					if key, ok := firstSampleKey(mustGet(t, m, s.URI).Body, 1); !ok || !key {
						t.Errorf("segment %s does not start on a video key frame", s.URI)
					}
					for _, pt := range s.Parts {
						key, ok := firstSampleKey(mustGet(t, m, pt.URI).Body, 1)
						if pt.Independent && (!ok || !key) {
							t.Errorf("INDEPENDENT part %s does not start on a key frame", pt.URI)
						}
					}
				}
			})
		}
	}
}

// TestExtCodecsLeftOutOfTS checks that an MPEG-TS variant serves what it
// can carry when a track's codec is fMP4-only, and says so in CODECS.
func TestExtCodecsLeftOutOfTS(t *testing.T) {
	for _, c := range extCases() {
		t.Run(c.name, func(t *testing.T) {
			tr := c.track(t)
			if carries(VariantMPEGTS, tr.Codec) {
				t.Skip("carried in MPEG-TS (MP3: TestMP3InTS)")
			}
			var v, a *remux.Track
			want := ""
			if tr.IsVideo() {
				tr.ID = 1
				v, a, want = tr, audioTrack(2), "mp4a.40.2"
			} else {
				tr.ID = 2
				v, a, want = videoTrack(1, 0), tr, "avc1.42c028"
			}
			m := newTestManager(t, testConfig(VariantMPEGTS))
			defer m.Close()
			feedExt(t, m, v, a, max(c.frame, 1024))
			mv := string(mustGet(t, m, MultivariantName).Body)
			if !strings.Contains(mv, `CODECS="`+want+`"`) {
				t.Errorf("want only %q served:\n%s", want, mv)
			}
			if pl := parsePlaylist(t, mustGet(t, m, MediaPlaylistName)); len(pl.Segments) < 2 {
				t.Errorf("%d segments", len(pl.Segments))
			}
		})
	}
}

// TestPatchInit checks that dOps and vpcC carry the track's values rather
// than mediacommon's defaults.
func TestPatchInit(t *testing.T) {
	for _, c := range extCases() {
		if c.config != "dOps" && c.config != "vpcC" {
			continue
		}
		tr := c.track(t)
		tr.ID = 1
		var mux fmp4Muxer
		init, err := mux.begin([]*trackState{{src: tr, id: 1, clock: int64(tr.ClockRate)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := findConfigBox(init, c.entry, c.config)
		switch c.config {
		case "dOps":
			if len(b) < 11 || binary.BigEndian.Uint16(b[2:]) != 3840 || binary.BigEndian.Uint32(b[4:]) != 44100 {
				t.Errorf("dOps %x", b)
			}
		case "vpcC":
			if len(b) < 12 || b[4] != 2 || b[5] != 31 || b[6] != 10<<4|1<<1 || b[7] != 9 || b[8] != 16 || b[9] != 9 {
				t.Errorf("vpcC %x", b)
			}
		}
	}
}
