package ingest

import "strconv"

// ConnState is the protocol state of a connection.
type ConnState int32

// Connection states, in order.
const (
	// StateHandshake: exchanging C0-C2/S0-S2.
	StateHandshake ConnState = iota
	// StateConnecting: handshake done, waiting for the connect command.
	StateConnecting
	// StateConnected: connect accepted, no publication in progress.
	StateConnected
	// StatePublishing: a publication is in progress.
	StatePublishing
	// StateClosed: the connection is closed.
	StateClosed
)

func (s ConnState) String() string {
	switch s {
	case StateHandshake:
		return "handshake"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StatePublishing:
		return "publishing"
	case StateClosed:
		return "closed"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}
