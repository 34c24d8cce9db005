package hlstest

import (
	"strings"
	"testing"
)

const good = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.0,PART-HOLD-BACK=0.6
#EXT-X-PART-INF:PART-TARGET=0.2
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-DISCONTINUITY-SEQUENCE:1
#EXT-X-MAP:URI="a_init0.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z
#EXTINF:2.00000,
a_10.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="a_init1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:05.000Z
#EXT-X-PART:DURATION=0.2,URI="a_11.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.2,URI="a_11.1.m4s"
#EXTINF:0.40000,
a_11.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:05.400Z
#EXT-X-PART:DURATION=0.2,URI="a_12.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="a_12.1.m4s"
`

func parse(t *testing.T, s string) *MediaPlaylist {
	t.Helper()
	pl, err := ParseMediaPlaylist([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func TestParse(t *testing.T) {
	pl := parse(t, good)
	if pl.TargetDuration != 2 || pl.MediaSequence != 10 || pl.DiscontinuitySequence != 1 || len(pl.Segments) != 2 ||
		len(pl.Parts) != 1 || pl.PreloadHint != "a_12.1.m4s" || pl.PartTarget.Seconds() != 0.2 {
		t.Fatalf("%+v", pl)
	}
	s := pl.Segments[1]
	if s.MSN != 11 || !s.Discontinuity || s.Map != "a_init1.mp4" || len(s.Parts) != 2 || !s.Parts[0].Independent {
		t.Fatalf("%+v", s)
	}
	if err := CheckMediaPlaylist(nil, pl, Rules{FMP4: true, LowLatency: true}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsViolations(t *testing.T) {
	cases := []struct {
		name, from, to, want string
		prev                 string
		rules                Rules
	}{
		{name: "EXTINF over TD", from: "#EXTINF:2.00000,\na_10", to: "#EXTINF:2.60000,\na_10", want: "rounds to 3"},
		{name: "no PDT", from: "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n", to: "", want: "PROGRAM-DATE-TIME"},
		{name: "overlapping PDT", from: "00:00:05.000Z", to: "00:00:01.000Z", want: "overlaps"},
		{name: "part over target", from: "DURATION=0.2,URI=\"a_12.0", to: "DURATION=0.3,URI=\"a_12.0", want: "PART-TARGET"},
		{name: "short hold back", from: "PART-HOLD-BACK=0.6", to: "PART-HOLD-BACK=0.4", want: "PART-HOLD-BACK"},
		{name: "map without discontinuity", from: "#EXT-X-DISCONTINUITY\n", to: "", want: "EXT-X-MAP changes"},
		{name: "parts do not add up", from: "#EXTINF:0.40000,", to: "#EXTINF:0.50000,", want: "parts last"},
		{name: "hint after endlist", from: "#EXT-X-PRELOAD-HINT", to: "#EXT-X-ENDLIST\n#EXT-X-PRELOAD-HINT", want: "after EXT-X-ENDLIST"},
		{name: "TD changed", prev: strings.Replace(good, "TARGETDURATION:2", "TARGETDURATION:3", 1), want: "changed from 3 to 2"},
		{name: "MSN went back", prev: strings.Replace(good, "MEDIA-SEQUENCE:10", "MEDIA-SEQUENCE:11", 1), want: "went back"},
		{name: "segment changed", prev: strings.Replace(good, "#EXTINF:2.00000,", "#EXTINF:1.90000,", 1), want: "segment 10 changed"},
		{name: "endlist removed", prev: good + "#EXT-X-ENDLIST\n", want: "ENDLIST went away"},
		{name: "window too long", rules: Rules{MaxSegments: 1}, want: "window of 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good
			if c.from != "" {
				if !strings.Contains(s, c.from) {
					t.Fatalf("%q not in the playlist", c.from)
				}
				s = strings.Replace(s, c.from, c.to, 1)
			}
			var prev *MediaPlaylist
			if c.prev != "" {
				prev = parse(t, c.prev)
			}
			r := c.rules
			r.FMP4, r.LowLatency = true, true
			err := CheckMediaPlaylist(prev, parse(t, s), r)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
		})
	}
}

func TestDiscontinuitySequenceAccounting(t *testing.T) {
	prev := parse(t, good)
	// Segment 10 leaves; 11 (with the discontinuity) stays: DSN unchanged.
	next := strings.Replace(good, "MEDIA-SEQUENCE:10", "MEDIA-SEQUENCE:11", 1)
	next = strings.Replace(next, "#EXT-X-MAP:URI=\"a_init0.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:2.00000,\na_10.m4s\n", "", 1)
	if err := CheckMediaPlaylist(prev, parse(t, next), Rules{FMP4: true, LowLatency: true}); err != nil {
		t.Fatal(err)
	}
	bumped := strings.Replace(next, "SEQUENCE:1\n", "SEQUENCE:2\n", 1)
	if err := CheckMediaPlaylist(prev, parse(t, bumped), Rules{FMP4: true, LowLatency: true}); err == nil {
		t.Fatal("DSN bumped without a discontinuity leaving")
	}
}
