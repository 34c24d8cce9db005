package hls

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// get answers one request on s.
func (s *stream) get(ctx context.Context, file string, q url.Values) (*Object, error) {
	if l := s.ladder.Load(); l != nil {
		if obj, ok, err := s.getLadder(ctx, l, file, q); ok {
			return obj, err
		}
	}
	switch file {
	case MultivariantName:
		v := s.snap.Load()
		if !v.hasPlaylist() {
			return nil, ErrNotFound
		}
		return v.multi.get(v.renderMultivariant, false), nil
	case MediaPlaylistName:
		return s.getMediaPlaylist(ctx, q)
	}
	ref, ok := parseObjectName(file, s.prefix)
	if !ok {
		return nil, ErrNotFound
	}
	v := s.snap.Load()
	switch ref.kind {
	case KindInit:
		if in := v.init(ref.init); in != nil {
			return in.obj, nil
		}
	case KindSegment:
		if ref.ext != s.segmentExt() {
			return nil, ErrNotFound
		}
		if seg := v.segment(ref.msn); seg != nil && seg.obj != nil {
			return seg.obj, nil
		}
	case KindPart:
		return s.getPart(ctx, v, ref.msn, ref.part)
	}
	return nil, ErrNotFound
}

func (s *stream) segmentExt() string {
	if s.m.cfg.Variant == VariantMPEGTS {
		return extTS
	}
	return extM4S
}

// blockTimeout: bis §6.2.5.2: a server SHOULD answer 503 when a blocking
// request is not satisfied within three target durations.
func blockTimeout(td int) time.Duration {
	return 3 * time.Duration(max(td, 1)) * time.Second
}

// getPart answers a part request; the part named by the preload hint is
// held until it is complete (bis §6.2.6: the server MUST NOT send any of a
// hinted part before it can send all of it).
func (s *stream) getPart(ctx context.Context, v *snapshot, msn int64, idx int) (*Object, error) {
	return s.await(ctx, v, func(v *snapshot) (*Object, bool, error) {
		if pt := v.part(msn, idx); pt != nil {
			return pt.obj, true, nil
		}
		if !v.hinted(msn, idx) {
			// bis §6.2.6: a request for an unknown, unhinted resource SHOULD get 404.
			return nil, true, ErrNotFound
		}
		return nil, false, nil
	}, func(time.Duration) error {
		return fmt.Errorf("%w: part %d.%d not ready", ErrUnavailable, msn, idx)
	})
}

// await calls answer with snapshot v and each newer one until it is done,
// ctx is done (ctx.Err()) or three target durations pass (unavailable).
// A request whose ctx is already done gets what v answers, without waiting.
func (s *stream) await(ctx context.Context, v *snapshot, answer func(v *snapshot) (*Object, bool, error),
	unavailable func(waited time.Duration) error) (*Object, error) {
	var timer *time.Timer
	for {
		if obj, done, err := answer(v); done {
			return obj, err
		}
		if timer == nil {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			timer = time.NewTimer(blockTimeout(v.td))
			defer timer.Stop()
		}
		select {
		case <-v.changed:
			v = s.snap.Load()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return nil, unavailable(blockTimeout(v.td))
		}
	}
}

// directives are the LL-HLS delivery directives of a playlist request (bis §6.2.5).
type directives struct {
	msn, part int64
	hasMSN    bool
	hasPart   bool
	skip      bool
}

func parseDirectives(q url.Values) (directives, error) {
	var d directives
	if len(q) == 0 {
		return d, nil
	}
	if vs := q["_HLS_msn"]; len(vs) > 0 {
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil || n < 0 {
			return d, fmt.Errorf("%w: _HLS_msn %q", ErrBadRequest, vs[0])
		}
		d.msn, d.hasMSN = n, true
	}
	if vs := q["_HLS_part"]; len(vs) > 0 {
		n, err := strconv.ParseInt(vs[0], 10, 64)
		if err != nil || n < 0 {
			return d, fmt.Errorf("%w: _HLS_part %q", ErrBadRequest, vs[0])
		}
		d.part, d.hasPart = n, true
	}
	if vs := q["_HLS_skip"]; len(vs) > 0 {
		// bis §6.2.5.1: YES skips segments; v2 also date ranges (we have none).
		d.skip = vs[0] == "YES" || vs[0] == "v2"
	}
	if d.hasPart && !d.hasMSN {
		// bis §6.2.5.2: _HLS_part without _HLS_msn MUST get 400.
		return d, fmt.Errorf("%w: _HLS_part without _HLS_msn", ErrBadRequest)
	}
	return d, nil
}

func (s *stream) getMediaPlaylist(ctx context.Context, q url.Values) (*Object, error) {
	v := s.snap.Load()
	if !v.hasPlaylist() {
		return nil, ErrNotFound
	}
	ll := s.m.cfg.Variant == VariantLowLatency
	if !ll {
		// Delivery directives are LL-HLS only; plain playlists never block.
		return v.full.get(v.renderFull, false), nil
	}
	d, err := parseDirectives(q)
	if err != nil {
		return nil, err
	}
	if v.ended() {
		// bis §6.2.5.2: once the playlist has EXT-X-ENDLIST the server MUST
		// ignore delivery directives.
		return v.full.get(v.renderFull, false), nil
	}
	if !d.hasMSN {
		return v.playlist(d.skip, false), nil
	}
	if err := v.tooFarAhead(d); err != nil {
		return nil, err
	}
	return s.await(ctx, v, func(v *snapshot) (*Object, bool, error) {
		switch {
		case !v.hasPlaylist():
			return nil, true, ErrNotFound // freed while waiting
		case v.ended():
			return v.full.get(v.renderFull, false), true, nil
		case v.satisfies(d):
			return v.playlist(d.skip, true), true, nil
		}
		return nil, false, nil
	}, func(waited time.Duration) error {
		return fmt.Errorf("%w: _HLS_msn=%d _HLS_part=%d not reached in %v", ErrUnavailable, d.msn, d.part, waited)
	})
}

func (v *snapshot) playlist(skip, blocking bool) *Object {
	if skip {
		return v.delta.get(v.renderDelta, blocking)
	}
	return v.full.get(v.renderFull, blocking)
}

// satisfies reports whether the playlist holds what directives d wait for
// (bis §6.2.5.2): segment msn, or part `part` of it, or something later.
func (v *snapshot) satisfies(d directives) bool {
	last := v.lastMSN()
	if !d.hasPart {
		return d.msn <= last
	}
	if d.msn <= last {
		seg := v.segment(d.msn)
		if seg == nil || d.part < int64(len(seg.parts)) {
			return true // retired (long done) or the part exists
		}
		// A part index past the segment's last part means part 0 of the
		// next segment.
		return d.msn+1 <= last || (d.msn+1 == v.open.msn && len(v.open.parts) > 0)
	}
	return d.msn == v.open.msn && d.part < int64(len(v.open.parts))
}

// tooFarAhead: bis §6.2.5.2: if _HLS_msn is greater than the last segment's
// media sequence number plus two, or _HLS_part exceeds the last part by more
// than the Advance Part Limit, the server SHOULD answer 400 at once.
func (v *snapshot) tooFarAhead(d directives) error {
	last := v.lastMSN()
	if d.msn > last+2 {
		return fmt.Errorf("%w: _HLS_msn=%d is more than two segments past %d", ErrBadRequest, d.msn, last)
	}
	if !d.hasPart {
		return nil
	}
	limit := v.advancePartLimit()
	var ahead int64
	switch {
	case d.msn < v.open.msn:
		return nil
	case d.msn == v.open.msn:
		ahead = d.part - int64(len(v.open.parts)-1)
	default:
		// Parts of a segment after the open one: count the open segment's
		// remaining parts as at least one.
		ahead = d.part + 1 + (d.msn-v.open.msn-1)*limit
	}
	if ahead > limit {
		return fmt.Errorf("%w: _HLS_part=%d of %d is past the advance part limit", ErrBadRequest, d.part, d.msn)
	}
	return nil
}

// advancePartLimit: bis §6.2.5.2: 3 / PART-TARGET when PART-TARGET is below
// one second, 3 otherwise.
func (v *snapshot) advancePartLimit() int64 {
	pt := v.s.m.cfg.PartDuration
	if pt < time.Second {
		return int64(3 * time.Second / pt)
	}
	return 3
}
