package hls

import "errors"

// ErrNotFound, ErrBadRequest and ErrUnavailable (Manager.Get) live in object.go
// beside the Object contract; the errors below concern publishing.

var (
	// ErrInvalidConfig is returned by NewManager for an unusable Config.
	ErrInvalidConfig = errors.New("hls: invalid config")
	// ErrClosed is returned by Publish, and by a publication's writes, once the Manager is closed.
	ErrClosed = errors.New("hls: manager closed")
	// ErrTakenOver is returned by the writes of a publication that a newer
	// Publish on the same stream name replaced.
	ErrTakenOver = errors.New("hls: publication taken over by a newer publish")
	// ErrEnded is returned by the writes of a publication after End.
	ErrEnded = errors.New("hls: publication ended")
	// ErrInvalidName is returned by Publish for an empty or unusable app or stream name.
	ErrInvalidName = errors.New("hls: invalid stream name")
)
