package httpserver

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"
	"sync"
)

// gzipKey names one version of one playlist. The ETag changes with the
// bytes; the size guards against a segmenter whose ETag names a state
// rather than a rendering (e.g. a delta update of the same state).
type gzipKey struct {
	app, stream, file, etag string
	size                    int
}

// gzipEntry is a compressed playlist with its prepared header values.
type gzipEntry struct {
	body          []byte
	etag          []string // the identity ETag with a "-gzip" suffix
	contentLength []string
}

// gzipCache keeps the gzipped form of recent playlist versions so that a
// playlist is compressed once per version, not once per request. It holds
// at most 2×half entries in two generations: lookups hit the current
// generation or promote from the previous one, and when the current one
// fills up the previous one is dropped whole. That bounds memory with O(1)
// work and no per-entry bookkeeping.
type gzipCache struct {
	half int

	mu   sync.Mutex
	cur  map[gzipKey]*gzipEntry
	prev map[gzipKey]*gzipEntry
}

func newGzipCache(entries int) *gzipCache {
	half := max(entries/2, 1)
	return &gzipCache{half: half, cur: make(map[gzipKey]*gzipEntry, half)}
}

// get returns the gzipped form of body, compressing it on a miss, or nil
// when compression would not make it smaller.
func (c *gzipCache) get(k gzipKey, body []byte) *gzipEntry {
	if k.etag == "" {
		// Without an ETag there is no safe key: compress every time.
		return compress(k.etag, body)
	}
	c.mu.Lock()
	e, ok := c.cur[k]
	if !ok {
		if e, ok = c.prev[k]; ok {
			c.putLocked(k, e)
		}
	}
	c.mu.Unlock()
	if ok {
		return e
	}
	// Compress outside the lock. Two concurrent misses on the same version
	// both compress; the result is identical and the second store wins.
	e = compress(k.etag, body)
	c.mu.Lock()
	c.putLocked(k, e)
	c.mu.Unlock()
	return e
}

func (c *gzipCache) putLocked(k gzipKey, e *gzipEntry) {
	if len(c.cur) >= c.half {
		c.prev = c.cur
		c.cur = make(map[gzipKey]*gzipEntry, c.half)
	}
	c.cur[k] = e
}

func (c *gzipCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}

func compress(etag string, body []byte) *gzipEntry {
	var buf bytes.Buffer
	buf.Grow(len(body)/3 + 64)
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil
	}
	if _, err := zw.Write(body); err != nil {
		return nil
	}
	if err := zw.Close(); err != nil {
		return nil
	}
	if buf.Len() >= len(body) {
		// Tiny playlists do not shrink; a nil entry is cached so that the
		// attempt is not repeated per request.
		return nil
	}
	e := &gzipEntry{
		body:          buf.Bytes(),
		contentLength: []string{strconv.Itoa(buf.Len())},
	}
	if etag != "" {
		e.etag = []string{gzipETag(etag)}
	}
	return e
}

// gzipETag derives the entity tag of the gzip representation: a strong
// ETag names exactly one byte string, so the encoded form needs its own.
func gzipETag(etag string) string {
	weak := strings.HasPrefix(etag, "W/")
	if weak {
		etag = etag[2:]
	}
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		etag = etag[:len(etag)-1] + `-gzip"`
	} else {
		etag = `"` + etag + `-gzip"`
	}
	if weak {
		return "W/" + etag
	}
	return etag
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (RFC 9110 §12.5.3): "gzip" or "x-gzip" or "*" with a non-zero q.
// An explicit gzip entry takes precedence over "*".
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			coding, params, _ := strings.Cut(item, ";")
			switch coding = strings.TrimSpace(coding); {
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				return !qIsZero(params)
			case coding == "*":
				star = !qIsZero(params)
			}
		}
	}
	return star
}

// qIsZero reports whether parameters carry q=0 (q=0, q=0.0, q=0.000).
func qIsZero(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		val = strings.TrimSpace(val)
		if val == "" || val[0] != '0' {
			return false
		}
		return strings.Trim(val[1:], ".0") == ""
	}
	return false
}
