package httpserver

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// byteContent is an io.ReadSeeker over an object's immutable bytes, for
// http.ServeContent. Unlike bytes.Reader it lets directBody reach the
// slice, so the body goes out without a staging copy.
type byteContent struct {
	b   []byte
	off int64
}

var errNegativeOffset = errors.New("httpserver: seek to a negative offset")

func (c *byteContent) Read(p []byte) (int, error) {
	if c.off >= int64(len(c.b)) {
		return 0, io.EOF
	}
	n := copy(p, c.b[c.off:])
	c.off += int64(n)
	return n, nil
}

func (c *byteContent) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += int64(len(c.b))
	}
	if offset < 0 {
		return 0, errNegativeOffset
	}
	c.off = offset
	return offset, nil
}

// directBody wraps the ResponseWriter given to http.ServeContent and
// changes one thing: ServeContent's io.CopyN of a byteContent becomes one
// Write of the slice. Without it, net/http's TCP ReadFrom path allocates a
// copy buffer as large as the body (up to 32 KiB) for every response. It
// also counts the body bytes written, for the per-stream accounts.
type directBody struct {
	http.ResponseWriter
	n int64
}

// Write counts what goes through (multipart ranges, error bodies).
func (d *directBody) Write(p []byte) (int, error) {
	n, err := d.ResponseWriter.Write(p)
	d.n += int64(n)
	return n, err
}

// ReadFrom writes src's bytes directly when src is ServeContent's limited
// view of a byteContent, and copies normally otherwise (multipart ranges).
func (d *directBody) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok {
		if c, ok := lr.R.(*byteContent); ok && c.off <= int64(len(c.b)) {
			end := min(c.off+max(lr.N, 0), int64(len(c.b)))
			p := c.b[c.off:end]
			c.off = end
			lr.N -= int64(len(p))
			n, err := d.Write(p)
			return int64(n), err
		}
	}
	n, err := io.Copy(d.ResponseWriter, src)
	d.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (d *directBody) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// serveBytes sends b through http.ServeContent (Range, conditional
// requests, HEAD) with whatever headers the caller has set. It returns the
// number of body bytes written.
func serveBytes(w http.ResponseWriter, r *http.Request, modTime time.Time, b []byte) int64 {
	d := &directBody{ResponseWriter: w}
	http.ServeContent(d, r, "", modTime, &byteContent{b: b})
	return d.n
}

// setWriteDeadline sets the connection's write deadline to d from now.
// It does what http.ResponseController.SetWriteDeadline does (unwrapping
// middleware writers) without allocating a controller per request.
func setWriteDeadline(w http.ResponseWriter, d time.Duration) {
	for {
		switch t := w.(type) {
		case interface{ SetWriteDeadline(time.Time) error }:
			_ = t.SetWriteDeadline(time.Now().Add(d))
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return
		}
	}
}
