package admission

import (
	"fmt"
	"strings"
)

// MaxNameLen bounds application and stream names: they become URL path
// segments and directory-like keys in the HLS origin.
const MaxNameLen = 128

// ValidName reports whether s is usable as an application or stream name in
// a playback URL (/{app}/{stream}/): 1 to MaxNameLen characters from
// [A-Za-z0-9_.-], and neither "." nor "..", which a path would resolve away.
func ValidName(s string) bool {
	if s == "" || len(s) > MaxNameLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// maxKeyLen bounds configured keys (the ingest server bounds publish names
// to the same length).
const maxKeyLen = 1024

// checkKey reports why a configured key is unusable, or "" when it is fine.
// A key arrives as the publish name without its query string, so it can
// never contain '?'; spaces and control characters would never survive an
// encoder's URL field intact.
func checkKey(k string) string {
	switch {
	case k == "":
		return "empty key"
	case len(k) > maxKeyLen:
		return fmt.Sprintf("key longer than %d bytes", maxKeyLen)
	case strings.ContainsRune(k, '?'):
		return "key contains '?' (a publish name's query string is not part of the key)"
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= 0x20 || c == 0x7f {
			return "key contains a space or control character"
		}
	}
	return ""
}

// maxQuoted bounds names quoted in reasons: an invalid name may be long.
const maxQuoted = 64

// quote quotes s for a log reason, truncated to maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		return fmt.Sprintf("%q...", s[:maxQuoted])
	}
	return fmt.Sprintf("%q", s)
}
