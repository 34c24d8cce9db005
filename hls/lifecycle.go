package hls

import "time"

// attach makes p the stream's publisher. The caller (Manager.Publish) has
// already terminated any previous publisher.
func (s *stream) attach(p *Publication) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopTimerLocked()
	prev := s.state
	s.state = stateLive
	s.pub = p
	s.publisher.Store(&publisherInfo{remote: p.remote, since: p.since})
	switch prev {
	case stateWaiting:
		s.log.Info().Msg("publisher reconnected; playlist continues after a discontinuity")
	case stateEnded:
		// Publishing again on a retained name continues its numbering; the
		// EXT-X-ENDLIST goes away.
		s.log.Info().Msg("stream published again; playlist continues after a discontinuity")
	}
	s.publishLocked()
}

// detach records that p's publisher is gone.
func (s *stream) detach(p *Publication, clean bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != p {
		return
	}
	s.clearPubLocked()
	if s.parent != nil {
		// A rendition follows its parent stream's lifecycle (ladder.go).
		return
	}
	if clean {
		s.log.Info().Msg("publisher ended the stream")
		s.endLocked()
		return
	}
	s.state = stateWaiting
	s.log.Info().Dur("reconnect_window", s.m.cfg.ReconnectWindow).Msg("publisher lost; waiting for a reconnect")
	s.scheduleLocked(s.m.cfg.ReconnectWindow, s.reconnectExpired)
	s.publishLocked()
}

// clearPubLocked records that the stream has no publisher.
func (s *stream) clearPubLocked() {
	s.pub = nil
	s.publisher.Store(nil)
}

// endLocked adds EXT-X-ENDLIST and starts the retention.
func (s *stream) endLocked() {
	if s.state == stateEnded || s.state == stateFreed {
		return
	}
	s.state = stateEnded
	s.stopTimerLocked()
	if len(s.segs) == 0 && s.ladder.Load() == nil {
		// Nothing was ever served: nothing to retain. (A ladder's segments
		// are its renditions'.)
		s.scheduleLocked(0, s.retentionExpired)
	} else {
		s.scheduleLocked(s.m.cfg.Retention, s.retentionExpired)
	}
	s.publishLocked()
}

func (s *stream) reconnectExpired(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.timerGen || s.state != stateWaiting {
		return
	}
	s.log.Info().Msg("no reconnect in time; stream ended")
	s.endLocked()
}

func (s *stream) retentionExpired(gen uint64) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.timerGen || s.state != stateEnded {
		return
	}
	s.log.Info().Msg("retention over; stream freed")
	s.m.removeLocked(s)
	s.state = stateFreed
	s.segs, s.inits, s.open, s.curInit = nil, nil, openSegment{}, nil
	s.win = 0
	s.publishLocked()
}

// scheduleLocked arms the stream's single timer. Timers never outlive
// Manager.Close: Close stops them and waits for running callbacks.
func (s *stream) scheduleLocked(d time.Duration, fn func(gen uint64)) {
	s.stopTimerLocked()
	if s.m.closed.Load() {
		return
	}
	s.timerGen++
	gen := s.timerGen
	s.m.timers.Add(1)
	s.timer = time.AfterFunc(d, func() {
		defer s.m.timers.Done()
		fn(gen)
	})
}

func (s *stream) stopTimerLocked() {
	s.timerGen++
	if s.timer != nil && s.timer.Stop() {
		s.m.timers.Done()
	}
	s.timer = nil
}
