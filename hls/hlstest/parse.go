// Package hlstest checks HLS media playlists against the rules of RFC 8216
// and draft-pantos-hls-rfc8216bis, one snapshot at a time and across
// successive snapshots of a live playlist. It is meant for tests (unit and
// end to end) and parses playlists itself, so that it sees what generic
// parsers drop: per-segment EXT-X-MAP, parts, skips and hints.
package hlstest

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Part is an EXT-X-PART.
type Part struct {
	Duration    time.Duration
	URI         string
	Independent bool
}

// Segment is one media segment of a playlist.
type Segment struct {
	MSN           int64
	Duration      time.Duration
	URI           string
	PDT           time.Time // zero when the segment has no EXT-X-PROGRAM-DATE-TIME
	Discontinuity bool
	Gap           bool   // EXT-X-GAP: the segment has no media
	Map           string // URI of the EXT-X-MAP in force ("" for none)
	Parts         []Part
}

// MediaPlaylist is a parsed media playlist.
type MediaPlaylist struct {
	Version               int
	TargetDuration        int
	MediaSequence         int64
	DiscontinuitySequence int64
	IndependentSegments   bool
	CanBlockReload        bool
	CanSkipUntil          time.Duration
	PartHoldBack          time.Duration
	PartTarget            time.Duration
	// Skipped is EXT-X-SKIP's SKIPPED-SEGMENTS (a delta update).
	Skipped  int
	Segments []Segment
	// Parts are the parts of the segment in progress (after the last URI).
	Parts       []Part
	PreloadHint string
	Endlist     bool
	// RenditionReports are the EXT-X-RENDITION-REPORT tags (LL-HLS ladders).
	RenditionReports []RenditionReport
}

// RenditionReport is an EXT-X-RENDITION-REPORT (bis §4.4.5.4).
type RenditionReport struct {
	URI      string
	LastMSN  int64
	LastPart int64 // -1 when absent
}

// ParseMediaPlaylist parses a media playlist.
func ParseMediaPlaylist(b []byte) (*MediaPlaylist, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	if !sc.Scan() || sc.Text() != "#EXTM3U" {
		return nil, fmt.Errorf("missing #EXTM3U")
	}
	pl := &MediaPlaylist{}
	var cur Segment
	var curMap string
	var haveInf bool
	line := 1
	for sc.Scan() {
		line++
		l := sc.Text()
		tag, val, _ := strings.Cut(l, ":")
		var err error
		switch {
		case l == "":
		case !strings.HasPrefix(l, "#"):
			if !haveInf {
				return nil, fmt.Errorf("line %d: URI without EXTINF", line)
			}
			cur.URI = l
			cur.Map = curMap
			cur.MSN = pl.MediaSequence + int64(pl.Skipped) + int64(len(pl.Segments))
			pl.Segments = append(pl.Segments, cur)
			cur, haveInf = Segment{}, false
		case tag == "#EXT-X-VERSION":
			pl.Version, err = strconv.Atoi(val)
		case tag == "#EXT-X-TARGETDURATION":
			pl.TargetDuration, err = strconv.Atoi(val)
		case tag == "#EXT-X-MEDIA-SEQUENCE":
			pl.MediaSequence, err = strconv.ParseInt(val, 10, 64)
		case tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
			pl.DiscontinuitySequence, err = strconv.ParseInt(val, 10, 64)
		case l == "#EXT-X-INDEPENDENT-SEGMENTS":
			pl.IndependentSegments = true
		case l == "#EXT-X-ENDLIST":
			pl.Endlist = true
		case l == "#EXT-X-DISCONTINUITY":
			cur.Discontinuity = true
		case l == "#EXT-X-GAP":
			cur.Gap = true
		case tag == "#EXT-X-SERVER-CONTROL":
			a := attrs(val)
			pl.CanBlockReload = a["CAN-BLOCK-RELOAD"] == "YES"
			pl.CanSkipUntil, err = optSeconds(a["CAN-SKIP-UNTIL"])
			if err == nil {
				pl.PartHoldBack, err = optSeconds(a["PART-HOLD-BACK"])
			}
		case tag == "#EXT-X-PART-INF":
			pl.PartTarget, err = optSeconds(attrs(val)["PART-TARGET"])
		case tag == "#EXT-X-SKIP":
			pl.Skipped, err = strconv.Atoi(attrs(val)["SKIPPED-SEGMENTS"])
		case tag == "#EXT-X-MAP":
			curMap = attrs(val)["URI"]
			if curMap == "" {
				err = fmt.Errorf("EXT-X-MAP without URI")
			}
		case tag == "#EXT-X-PROGRAM-DATE-TIME":
			cur.PDT, err = time.Parse(time.RFC3339Nano, val)
		case tag == "#EXTINF":
			d, _, _ := strings.Cut(val, ",")
			cur.Duration, err = seconds(d)
			haveInf = true
		case tag == "#EXT-X-PART":
			a := attrs(val)
			var p Part
			p.Duration, err = seconds(a["DURATION"])
			p.URI = a["URI"]
			p.Independent = a["INDEPENDENT"] == "YES"
			if p.URI == "" {
				err = fmt.Errorf("EXT-X-PART without URI")
			}
			cur.Parts = append(cur.Parts, p)
		case tag == "#EXT-X-RENDITION-REPORT":
			a := attrs(val)
			rr := RenditionReport{URI: a["URI"], LastPart: -1}
			rr.LastMSN, err = strconv.ParseInt(a["LAST-MSN"], 10, 64)
			if v, ok := a["LAST-PART"]; ok && err == nil {
				rr.LastPart, err = strconv.ParseInt(v, 10, 64)
			}
			if rr.URI == "" && err == nil {
				err = fmt.Errorf("EXT-X-RENDITION-REPORT without URI")
			}
			pl.RenditionReports = append(pl.RenditionReports, rr)
		case tag == "#EXT-X-PRELOAD-HINT":
			a := attrs(val)
			if a["TYPE"] == "PART" {
				pl.PreloadHint = a["URI"]
			}
		}
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", line, l, err)
		}
	}
	if haveInf {
		return nil, fmt.Errorf("EXTINF without URI at the end")
	}
	pl.Parts = cur.Parts
	return pl, sc.Err()
}

// attrs parses an attribute list (RFC 8216 §4.2).
func attrs(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				break
			}
			v, rest = rest[1:1+end], rest[2+end:]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		out[k] = v
		s = strings.TrimPrefix(rest, ",")
	}
	return out
}

func seconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(f * float64(time.Second)), nil
}

func optSeconds(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return seconds(s)
}
