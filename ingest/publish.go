package ingest

import (
	"context"
	"net"
	"net/url"
	"strings"

	"github.com/livegate/gateway/ingest/amf"
)

// onStatus codes the server sends (Flash NetStream/NetConnection status
// codes).
const (
	CodeConnectSuccess       = "NetConnection.Connect.Success"
	CodeConnectRejected      = "NetConnection.Connect.Rejected"
	CodeCallFailed           = "NetConnection.Call.Failed"
	CodePublishStart         = "NetStream.Publish.Start"
	CodePublishBadName       = "NetStream.Publish.BadName"
	CodePublishBadConnection = "NetStream.Publish.BadConnection"
	CodePublishFailed        = "NetStream.Publish.Failed"
	CodePublishUnauthorized  = "NetStream.Publish.Unauthorized"
	CodePublishRejected      = "NetStream.Publish.Rejected"
	CodeUnpublishSuccess     = "NetStream.Unpublish.Success"
	CodePlayFailed           = "NetStream.Play.Failed"
)

// PublishRequest describes a publish attempt.
type PublishRequest struct {
	// App is the application from connect's app (query string removed,
	// surrounding slashes trimmed); Key is the publish name without its
	// query string.
	App, Key string
	// Query holds the query parameters of tcUrl, app and the publish name,
	// merged (a parameter repeated with the same value appears once).
	Query url.Values
	// Remote is the publisher's address.
	Remote net.Addr
	// Connect is the connect command object.
	Connect amf.Object
	// ConnID identifies the connection in logs.
	ConnID string
}

// Session is one admitted publication (implemented by the gateway's glue).
// Its methods are called from the connection's goroutine, one at a time, and
// must not block for long: the connection reads nothing meanwhile.
type Session interface {
	// Video, Audio and Metadata receive the body of each RTMP media message of
	// type 9 / 8 and the onMetaData object. body is borrowed: valid only during the call.
	// ts is the message's accumulated RTMP timestamp in milliseconds.
	// A returned error ends the publication (the connection is closed with the error logged).
	Video(ts uint32, body []byte) error
	Audio(ts uint32, body []byte) error
	Metadata(md amf.Object) error
	// End is called exactly once when the publication ends; clean is true when the
	// publisher unpublished (FCUnpublish/deleteStream/closeStream), false when the connection was lost or closed by the server.
	End(clean bool)
	// Done is closed when the gateway ends the session (takeover, API kick, shutdown);
	// the connection then sends an onStatus (e.g. NetStream.Unpublish.Success) and closes.
	Done() <-chan struct{}
}

// PublishError rejects a publish with an onStatus error code and description.
type PublishError struct{ Code, Description string } // e.g. NetStream.Publish.BadName, NetStream.Publish.Unauthorized

func (e *PublishError) Error() string { return e.Code + ": " + e.Description }

// PublishHook admits or rejects a publish. ctx is the connection's context,
// cancelled when the connection ends. Returning a *PublishError sends that
// onStatus; any other error sends NetStream.Publish.Failed with its text.
type PublishHook func(ctx context.Context, req *PublishRequest) (Session, error)

// maxNameLen bounds app and key lengths.
const maxNameLen = 1024

// validName reports whether s is usable as an app or key: bounded and free of
// control characters, which have no business in a URL path and would end up
// in logs and file names.
func validName(s string) bool {
	if len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// splitQuery splits "name?query" into the name and its parsed query.
// Malformed parameters are skipped.
func splitQuery(s string) (string, url.Values) {
	name, q, found := strings.Cut(s, "?")
	if !found {
		return name, nil
	}
	v, _ := url.ParseQuery(q)
	return name, v
}

// mergeQuery adds the parameters of src to dst, skipping exact duplicates
// (librtmp and FFmpeg repeat app's query in tcUrl).
func mergeQuery(dst, src url.Values) {
	for k, vs := range src {
	next:
		for _, v := range vs {
			for _, have := range dst[k] {
				if have == v {
					continue next
				}
			}
			dst[k] = append(dst[k], v)
		}
	}
}

// stripQuery returns s without its query string, for logging URLs that may
// carry secrets.
func stripQuery(s string) string {
	name, _, _ := strings.Cut(s, "?")
	return name
}

// StreamNamer is implemented by a Session that knows the public stream name
// its publication is seen under. When stream keys are secrets, the server
// logs and reports that name instead of the key.
type StreamNamer interface {
	StreamName() string
}
