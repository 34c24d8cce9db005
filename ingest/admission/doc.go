// Package admission decides whether an RTMP publish may start and under which
// name viewers will see it, and tells an external service when publications
// start and stop.
//
// An Admitter is consulted once per publish attempt (Admit). It decides in
// this order:
//
//  1. The application name must be a safe path segment (ValidName) and the
//     key must not be empty; otherwise the publish is refused with
//     NetStream.Publish.BadName.
//  2. Static keys (Config.Keys): when the publisher's (app, key) matches a
//     configured entry, the publish is admitted under that entry's stream
//     name, so the secret key never appears in a playback URL. Keys are
//     compared in constant time.
//  3. Admission webhook (Config.Webhook): when a webhook is configured and no
//     static key matched, the webhook decides (see WebhookRequest and
//     WebhookResponse for the JSON it receives and may return). Static keys
//     therefore act as an allow-list in front of the webhook: a matching key
//     admits without a network round trip; a key that does not match is not
//     refused but handed to the webhook.
//  4. With static keys and no webhook, an application that has no keys is
//     refused with NetStream.Publish.BadName and a wrong key with
//     NetStream.Publish.Unauthorized.
//  5. With neither keys nor webhook (a laptop, a lab), the key is the stream
//     name, like nginx-rtmp; it must then be a safe path segment.
//
// Refusals are returned as *Rejection, which carries the onStatus code and
// description for the publisher and a longer Reason for the operator's log.
// Neither ever contains the key: logs identify a key by Admitter.KeyID.
//
// Notifications (NotifyStart, NotifyStop) are posted as JSON to
// Config.Notify.URL by one background worker fed through a bounded queue:
// they are retried with back-off, dropped with a warning when the queue is
// full, and never block the caller.
//
// The package knows nothing about RTMP framing or HLS: the gateway's glue
// builds a Request from the ingest server's publish hook and turns the
// Decision or Rejection into an admitted session or an onStatus error.
package admission
