package hls

import (
	"sync"
	"sync/atomic"
	"time"
)

// RateWindow is the window over which StreamInfo.BitrateIn is measured.
const RateWindow = 10 * time.Second

// rateWindowSec is RateWindow in whole seconds; rateMarks keeps one mark
// per second of the window plus the current and a spare one.
const (
	rateWindowSec = int64(RateWindow / time.Second)
	rateMarks     = rateWindowSec + 2
)

// rateMark is the byte count before the first add of second sec.
type rateMark struct {
	sec    int64
	before uint64
}

// rateMeter counts bytes and estimates their rate over the last RateWindow.
// The writer's cost per add is an atomic add and an atomic load, plus a
// short lock once per second; rate may be called from any goroutine.
//
// A mark records the total at the first add of each second. Every byte
// added after the mark of second s and before the mark of a later second
// arrived during s, so the bytes of the window [now-W, now] are the total
// minus the oldest mark inside the window, and a window without marks saw
// no bytes.
type rateMeter struct {
	total   atomic.Uint64
	lastSec atomic.Int64

	mu    sync.Mutex
	first int64 // second of the first mark, 0 before any
	marks [rateMarks]rateMark
}

// add counts n bytes received at now.
func (m *rateMeter) add(now time.Time, n int) {
	if sec := now.Unix(); m.lastSec.Load() != sec {
		m.mark(sec)
	}
	m.total.Add(uint64(n))
}

func (m *rateMeter) mark(sec int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastSec.Load() == sec {
		return // another writer marked this second first
	}
	if m.first == 0 {
		m.first = sec
	}
	m.marks[((sec%rateMarks)+rateMarks)%rateMarks] = rateMark{sec: sec, before: m.total.Load()}
	m.lastSec.Store(sec)
}

// bytes returns the bytes counted so far.
func (m *rateMeter) bytes() uint64 { return m.total.Load() }

// rate returns the rate in bits per second over the RateWindow ending at
// now (over less when counting started within it).
func (m *rateMeter) rate(now time.Time) int {
	sec := now.Unix()
	from := sec - rateWindowSec
	m.mu.Lock()
	oldest, found := rateMark{}, false
	for _, mk := range m.marks {
		if mk.sec >= from && mk.sec <= sec && (!found || mk.sec < oldest.sec) {
			oldest, found = mk, true
		}
	}
	first := m.first
	total := m.total.Load()
	m.mu.Unlock()
	if !found || total <= oldest.before {
		return 0
	}
	start := time.Unix(max(from, first), 0)
	elapsed := now.Sub(start).Seconds()
	// Less than a second of history says little; do not divide by almost
	// nothing.
	elapsed = max(elapsed, 1)
	return int(float64(total-oldest.before) * 8 / elapsed)
}
