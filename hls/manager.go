package hls

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Manager owns every stream's segmenter state and answers requests for its
// playlists, segments, parts and init sections. It starts no goroutines:
// samples arrive on publishers' goroutines, requests on the caller's, and
// the reconnect and retention timers are time.AfterFunc callbacks that Close
// stops.
type Manager struct {
	cfg Config
	log zerolog.Logger

	mu      sync.Mutex // guards streams writes; lock order: mu, Publication.mu, stream.mu
	streams atomic.Pointer[map[streamKey]*stream]
	closed  atomic.Bool
	timers  sync.WaitGroup
	stats   counters

	groupRules [][]namePattern      // Config.Groups, parsed
	groups     map[streamKey]*group // live rendition groups (m.mu)
}

type streamKey struct{ app, name string }

// NewManager validates cfg, applies defaults to its zero fields and returns
// a Manager.
func NewManager(cfg Config) (*Manager, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rules, err := parseGroupRules(cfg.Groups)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	m := &Manager{
		cfg:        cfg,
		log:        cfg.Logger.With().Str("component", "hls").Logger(),
		groupRules: rules,
		groups:     make(map[streamKey]*group),
	}
	empty := map[streamKey]*stream{}
	m.streams.Store(&empty)
	return m, nil
}

// PublishOption sets an optional property of a publication.
type PublishOption func(*publishOptions)

type publishOptions struct {
	remote string
}

// WithRemote records the publisher's address (ip:port) for StreamInfo.
func WithRemote(addr string) PublishOption {
	return func(o *publishOptions) { o.remote = addr }
}

// Publish starts a publication on app/name. If the name has a live
// publication, Config.Takeover decides: TakeoverNewest (the default) takes
// over (the old publication's Done closes and its later writes fail with
// ErrTakenOver); TakeoverReject fails with ErrStreamBusy. A stream that is
// waiting for a reconnect, or ended but still retained, continues: same
// object prefix, media sequence going up, EXT-X-DISCONTINUITY (and a new
// init section). A Publish that would make more than Config.MaxStreams
// streams active fails with ErrTooManyStreams.
//
// A name matching a Config.Groups pattern publishes a rendition of its
// group (group.go); Kick on it ends that rendition's publisher.
func (m *Manager) Publish(app, name string, opts ...PublishOption) (*Publication, error) {
	if err := checkName(app); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	var o publishOptions
	for _, f := range opts {
		f(&o)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if gname, pat, ok := m.matchGroup(name); ok {
		return m.publishMember(app, name, gname, pat, o)
	}
	return m.publishLocked(app, name, o)
}

// publishLocked is Publish on a stream of its own (m.mu held).
func (m *Manager) publishLocked(app, name string, o publishOptions) (*Publication, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	key := streamKey{app, name}
	s := (*m.streams.Load())[key]
	var old *Publication
	if s != nil {
		s.mu.Lock()
		old = s.pub
		active := s.state == stateLive || s.state == stateWaiting
		s.mu.Unlock()
		if old != nil && old.group != nil {
			s.log.Warn().Str("remote", o.remote).Msg("publish refused: the name is served by a live rendition group")
			return nil, fmt.Errorf("%w: %s/%s is a live rendition group", ErrStreamBusy, app, name)
		}
		if old != nil && m.cfg.Takeover == TakeoverReject {
			s.log.Warn().Str("remote", o.remote).Msg("publish refused: the stream already has a live publisher (takeover policy reject)")
			return nil, ErrStreamBusy
		}
		if !active {
			if err := m.checkLimitLocked(app, name, o.remote); err != nil {
				return nil, err
			}
		}
	} else {
		if err := m.checkLimitLocked(app, name, o.remote); err != nil {
			return nil, err
		}
		s = newStream(m, app, name)
		m.storeLocked(key, s)
		s.log.Info().Str("variant", string(m.cfg.Variant)).Str("prefix", s.prefix).Msg("stream created")
	}
	if old != nil {
		s.log.Warn().Str("remote", o.remote).Msg("new publish on a live stream: taking over from the previous publisher")
		old.terminate(ErrTakenOver)
	}
	p := newPublication(m, s, o)
	s.attach(p)
	return p, nil
}

// checkLimitLocked fails with ErrTooManyStreams when MaxStreams streams are
// active (m.mu held).
func (m *Manager) checkLimitLocked(app, name, remote string) error {
	if m.cfg.MaxStreams <= 0 {
		return nil
	}
	n := 0
	for _, s := range *m.streams.Load() {
		if st := s.snap.Load().state; st == stateLive || st == stateWaiting {
			n++
		}
	}
	if n < m.cfg.MaxStreams {
		return nil
	}
	m.log.Warn().Str("app", app).Str("stream", name).Str("remote", remote).Int("max_streams", m.cfg.MaxStreams).
		Msg("publish refused: too many active streams")
	return fmt.Errorf("%w: %d active, the limit is %d", ErrTooManyStreams, n, m.cfg.MaxStreams)
}

// Kick ends the live publication of app/name as if its publisher had
// unpublished: its Done closes (the ingest side then says goodbye to the
// publisher and closes the connection), its later writes fail with
// ErrKicked, the segment in progress is closed and the playlist gets
// EXT-X-ENDLIST at once. The stream is retained for Config.Retention, and a
// new Publish on the name continues it after a discontinuity. Kick returns
// ErrNotFound when the stream has no live publisher.
func (m *Manager) Kick(app, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mb := m.findMember(app, name); mb != nil {
		mb.terminate(ErrKicked)
		return nil
	}
	s := (*m.streams.Load())[streamKey{app, name}]
	if s == nil {
		return ErrNotFound
	}
	s.mu.Lock()
	p := s.pub
	s.mu.Unlock()
	if p == nil {
		return ErrNotFound
	}
	// terminate closes the segment in progress while p still owns the
	// stream; only then is it detached (lock order: Publication.mu, then
	// stream.mu).
	p.terminate(ErrKicked)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub == p {
		s.clearPubLocked()
		s.log.Info().Str("remote", p.remote).Msg("publisher kicked; stream ended")
		s.endLocked()
	}
	return nil
}

// checkName rejects names that could not be one URL path segment.
func checkName(n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\\?#") {
		return fmt.Errorf("%w: %q", ErrInvalidName, n)
	}
	return nil
}

func (m *Manager) storeLocked(key streamKey, s *stream) {
	cur := *m.streams.Load()
	next := make(map[streamKey]*stream, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[key] = s
	m.streams.Store(&next)
}

// removeLocked drops s from the registry (m.mu held).
func (m *Manager) removeLocked(s *stream) {
	cur := *m.streams.Load()
	key := streamKey{s.app, s.name}
	if cur[key] != s {
		return
	}
	next := make(map[streamKey]*stream, len(cur))
	for k, v := range cur {
		if k != key {
			next[k] = v
		}
	}
	m.streams.Store(&next)
}

func (m *Manager) lookup(app, name string) *stream {
	return (*m.streams.Load())[streamKey{app, name}]
}

// Get returns the object file of stream app/name: "index.m3u8" (the
// multivariant playlist), "stream.m3u8" (the media playlist; LL-HLS
// delivery directives _HLS_msn, _HLS_part and _HLS_skip in query), or a
// media object named as documented in names.go.
//
// LL-HLS playlist requests with _HLS_msn, and requests for the part named by
// the preload hint, wait until what they ask for exists, ctx is done
// (ctx.Err() is returned) or three target durations pass (ErrUnavailable).
// Everything else answers at once. A caller that must not wait (a HEAD
// request) may pass an already cancelled ctx: what exists is still returned.
//
// Errors: ErrNotFound, ErrBadRequest, ErrUnavailable, or ctx.Err(). The
// returned Object is shared and must not be modified.
func (m *Manager) Get(ctx context.Context, app, name, file string, query url.Values) (*Object, error) {
	s := m.lookup(app, name)
	if s == nil {
		return nil, ErrNotFound
	}
	return s.get(ctx, file, query)
}

// Streams lists the streams the Manager holds, sorted by app and name.
func (m *Manager) Streams() []StreamInfo {
	cur := *m.streams.Load()
	now := m.cfg.Now()
	out := make([]StreamInfo, 0, len(cur))
	for _, s := range cur {
		v := s.snap.Load()
		if v.state == stateFreed {
			continue
		}
		info := StreamInfo{
			App:             s.app,
			Name:            s.name,
			Live:            v.state == stateLive,
			Ended:           v.ended(),
			StartedAt:       s.created,
			Tracks:          append([]TrackInfo(nil), v.media.tracks...),
			Segments:        len(v.window()),
			Bandwidth:       v.peakBW,
			TargetDuration:  time.Duration(v.td) * time.Second,
			BytesIn:         s.in.bytes(),
			FramesIn:        s.framesIn.Load(),
			BitrateIn:       s.in.rate(now),
			SegmentsWritten: s.segsOut.Load(),
		}
		if pi := s.publisher.Load(); pi != nil {
			info.Publisher = pi.remote
			info.PublishedAt = pi.since
		}
		if l := s.ladder.Load(); l != nil {
			l.describe(&info)
		}
		for i := range info.Tracks {
			if info.Tracks[i].Kind == "video" && v.frameRate > 0 {
				info.Tracks[i].FrameRate = v.frameRate
			}
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].App != out[j].App {
			return out[i].App < out[j].App
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Stats returns a snapshot of the Manager's cumulative counters.
func (m *Manager) Stats() Stats {
	c := &m.stats
	return Stats{
		Variant:               m.cfg.Variant,
		SegmentsWritten:       c.segments.Load(),
		PartsWritten:          c.parts.Load(),
		DroppedBeforeKeyFrame: c.droppedBeforeKey.Load(),
		DroppedNotCarried:     c.droppedNotCarried.Load(),
		DroppedLate:           c.droppedLate.Load(),
	}
}

// Close ends every live playlist (EXT-X-ENDLIST), ends every publication
// (their writes then fail with ErrClosed), stops the timers and wakes every
// waiting request. What was published stays served until the Manager is
// dropped; Publish fails with ErrClosed.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed.Swap(true) {
		m.mu.Unlock()
		return
	}
	for _, s := range *m.streams.Load() {
		s.mu.Lock()
		p := s.pub
		s.mu.Unlock()
		if p != nil {
			p.terminate(ErrClosed)
		}
		s.mu.Lock()
		s.clearPubLocked()
		s.endLocked()
		s.stopTimerLocked()
		s.mu.Unlock()
	}
	m.mu.Unlock()
	m.timers.Wait()
	m.log.Info().Msg("closed")
}
