package admission

import "errors"

// onStatus codes carried by a Rejection. They are the Flash NetStream status
// codes, the same strings as ingest.CodePublishBadName and
// ingest.CodePublishUnauthorized.
const (
	// CodeBadName refuses a publish whose application or stream name is
	// unusable or unknown.
	CodeBadName = "NetStream.Publish.BadName"
	// CodeUnauthorized refuses a publish whose key is wrong or that the
	// admission webhook did not admit.
	CodeUnauthorized = "NetStream.Publish.Unauthorized"
)

var (
	// ErrInvalidConfig is returned (wrapped, one error per bad entry, joined)
	// by New for an unusable Config.
	ErrInvalidConfig = errors.New("admission: invalid config")

	// ErrBadName matches (errors.Is) every Rejection with CodeBadName.
	ErrBadName = errors.New("admission: bad name")
	// ErrUnauthorized matches (errors.Is) every Rejection with CodeUnauthorized.
	ErrUnauthorized = errors.New("admission: unauthorized")

	// ErrWebhookDenied: the admission webhook answered with a non-2xx status
	// below 500 (a deliberate refusal, or a redirect, which is not followed).
	ErrWebhookDenied = errors.New("admission: webhook denied the publish")
	// ErrWebhookStatus: the admission webhook answered with a 5xx status.
	ErrWebhookStatus = errors.New("admission: webhook server error")
	// ErrWebhookTimeout: the admission webhook did not answer within
	// WebhookConfig.Timeout.
	ErrWebhookTimeout = errors.New("admission: webhook timed out")
	// ErrWebhookUnreachable: the admission webhook could not be reached
	// (connection refused or reset, DNS failure, TLS error...).
	ErrWebhookUnreachable = errors.New("admission: webhook unreachable")
	// ErrWebhookBadResponse: the admission webhook answered 2xx with a body
	// that is not a JSON object, is too large, or names an invalid app or
	// stream.
	ErrWebhookBadResponse = errors.New("admission: invalid webhook response")
	// ErrCanceled: the caller's context ended (the publisher went away)
	// before a decision was made.
	ErrCanceled = errors.New("admission: canceled")
)

// Rejection is the error Admit returns for a refused publish. The gateway
// sends Code and Description to the publisher in an onStatus and logs Reason.
type Rejection struct {
	// Code is CodeBadName or CodeUnauthorized.
	Code string
	// Description is sent to the publisher.
	Description string
	// Reason is for the operator's log: more detail than Description (which
	// rule refused, the webhook's status, a timeout...), never the key.
	Reason string
	// Err is the underlying cause when there is one (one of the ErrWebhook*
	// errors, ErrCanceled), nil for a plain refusal.
	Err error
}

// Error returns the code and the reason (or the description when there is
// no reason).
func (r *Rejection) Error() string {
	msg := r.Reason
	if msg == "" {
		msg = r.Description
	}
	return "admission: " + r.Code + ": " + msg
}

// Unwrap lets errors.Is match ErrBadName or ErrUnauthorized (from Code) and
// the cause in Err.
func (r *Rejection) Unwrap() []error {
	errs := make([]error, 0, 2)
	switch r.Code {
	case CodeBadName:
		errs = append(errs, ErrBadName)
	case CodeUnauthorized:
		errs = append(errs, ErrUnauthorized)
	}
	if r.Err != nil {
		errs = append(errs, r.Err)
	}
	return errs
}
