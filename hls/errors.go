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
	// ErrStreamBusy is returned by Publish under TakeoverReject when the
	// name already has a live publisher.
	ErrStreamBusy = errors.New("hls: stream already publishing")
	// ErrTooManyStreams is returned by Publish when Config.MaxStreams
	// streams are active.
	ErrTooManyStreams = errors.New("hls: too many streams")
	// ErrKicked is returned by the writes of a publication that Kick ended.
	ErrKicked = errors.New("hls: publication ended by the operator")
)
