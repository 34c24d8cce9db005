package httpserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// bearerToken is a configured bearer token (RFC 6750), kept as its SHA-256
// so that a comparison takes the same time whatever the presented token's
// length and content.
type bearerToken struct {
	set bool
	sum [sha256.Size]byte
}

func newBearerToken(token string) bearerToken {
	if token == "" {
		return bearerToken{}
	}
	return bearerToken{set: true, sum: sha256.Sum256([]byte(token))}
}

// check reports whether r carries the token, and whether it carried one at
// all.
func (b bearerToken) check(r *http.Request) (ok, presented bool) {
	h := r.Header.Get("Authorization")
	// RFC 7235 §2.1: the scheme is case-insensitive.
	scheme, tok, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return false, h != ""
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], b.sum[:]) == 1, true
}

var (
	hdrBearerChallenge = []string{`Bearer realm="livegate"`}
	// RFC 6750 §3.1: a wrong token gets error="invalid_token".
	hdrBearerInvalid = []string{`Bearer realm="livegate", error="invalid_token"`}
)

// requireToken lets requests through when the token is not set or the
// request carries it, and answers 401 with a Bearer challenge otherwise.
// deny writes the 401 body (JSON for the API, text elsewhere).
func requireToken(b bearerToken, deny func(http.ResponseWriter)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if !b.set {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok, presented := b.check(r)
			if ok {
				next.ServeHTTP(w, r)
				return
			}
			if presented {
				w.Header()["Www-Authenticate"] = hdrBearerInvalid
			} else {
				w.Header()["Www-Authenticate"] = hdrBearerChallenge
			}
			deny(w)
		})
	}
}
