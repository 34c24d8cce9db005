package ingest

import "errors"

// Errors that end a connection, as logged when it closes. They are wrapped
// with details; match them with errors.Is.
var (
	// ErrNoPublishHook is returned by Start when OnPublish is nil.
	ErrNoPublishHook = errors.New("ingest: Server.OnPublish is not set")
	// ErrServerClosed ends connections when the server is closed.
	ErrServerClosed = errors.New("ingest: server closed")
	// ErrSessionEnded ends a connection whose Session's Done channel closed
	// (takeover, API kick).
	ErrSessionEnded = errors.New("ingest: session ended by the gateway")
	// ErrPeerClosed is the peer closing the connection.
	ErrPeerClosed = errors.New("ingest: connection closed by peer")
	// ErrHandshakeTimeout: the handshake did not complete within
	// Server.HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("ingest: handshake timed out")
	// ErrPublishTimeout: no publish started within Server.PublishTimeout of
	// the handshake (or of the last unpublish).
	ErrPublishTimeout = errors.New("ingest: no publish before the deadline")
	// ErrReadTimeout: a publisher sent nothing for Server.ReadTimeout.
	ErrReadTimeout = errors.New("ingest: read timed out")
	// ErrTooManyConnections: Server.MaxConnections was reached; the new
	// connection is closed at once.
	ErrTooManyConnections = errors.New("ingest: too many connections")
	// ErrNotConnected: a command other than connect arrived before connect.
	ErrNotConnected = errors.New("ingest: command before connect")
	// ErrBadCommand: a command message is not valid AMF or lacks its name.
	ErrBadCommand = errors.New("ingest: malformed command")
	// ErrConnectRejected: connect named an invalid application.
	ErrConnectRejected = errors.New("ingest: connect rejected")
	// ErrPublishRejected: the publish was refused (bad name, OnPublish
	// error); the peer got an error onStatus first.
	ErrPublishRejected = errors.New("ingest: publish rejected")
	// ErrPlayUnsupported: the peer tried to play; this server only ingests.
	ErrPlayUnsupported = errors.New("ingest: play is not supported")
	// ErrMediaNotPublishing is logged (once per connection at Warn, then at
	// Debug) for audio, video or metadata that arrives before publish or on
	// a message stream that is not publishing. Such messages are dropped and
	// the connection goes on: a late packet after unpublish is common and
	// harmless.
	ErrMediaNotPublishing = errors.New("ingest: media on a stream that is not publishing")
	// ErrBadAggregate: an aggregate message's sub-messages overrun it.
	ErrBadAggregate = errors.New("ingest: malformed aggregate message")
	// ErrSession wraps an error returned by a Session method; it ends the
	// publication.
	ErrSession = errors.New("ingest: session error")
)
