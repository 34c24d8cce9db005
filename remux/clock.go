package remux

// unwrapper turns 32-bit RTMP millisecond timestamps into a continuous
// int64 timeline rebased so that the first timestamp seen is 0.
//
// RTMP timestamps are uint32 milliseconds and wrap every 2^32 ms (~49.7
// days). Each timestamp is read as the value nearest to the previous one:
// a backwards step larger than 2^31 is a wrap forward (+2^32) and a
// forward step larger than 2^31 is a late timestamp from before a wrap.
// One unwrapper is shared by all tracks of a publication so that audio and
// video keep one common base and stay aligned.
type unwrapper struct {
	started bool
	base    int64 // unwrapped value of the first timestamp
	last    int64 // unwrapped value of the previous timestamp
}

// unwrap returns ts in milliseconds since the publication's first
// timestamp; the result may be negative for a timestamp older than the
// first one.
func (u *unwrapper) unwrap(ts uint32) int64 {
	if !u.started {
		u.started = true
		u.base, u.last = int64(ts), int64(ts)
		return 0
	}
	// The signed 32-bit difference picks the nearest of ts+k*2^32.
	u.last += int64(int32(ts - uint32(u.last)))
	return u.last - u.base
}

// rescale returns floor(v*num/den) without overflowing the intermediate
// product for any realistic v (num, den > 0). Exact integer arithmetic
// from the absolute value, so repeated conversions never drift.
func rescale(v, num, den int64) int64 {
	q, r := v/den, v%den
	if r < 0 { // floor, not truncation, for negative v
		q--
		r += den
	}
	return q*num + r*num/den
}

// msToUnits converts milliseconds to a clock of rate Hz, rounding down.
func msToUnits(ms int64, rate int) int64 { return rescale(ms, int64(rate), 1000) }

// warnLimiter rate-limits a repeated warning: it lets through the 1st,
// 2nd, 4th, 8th... occurrence, so a flood logs O(log n) lines that each
// carry the running count.
type warnLimiter struct{ n uint64 }

// hit counts one occurrence and reports whether to log it, with the count.
func (w *warnLimiter) hit() (bool, uint64) {
	w.n++
	return w.n&(w.n-1) == 0, w.n
}
