package store

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// DynamoDB's key limits; File enforces them too so that data written locally
// would also be accepted on Lambda.
const (
	maxPKBytes = 2048
	maxSKBytes = 1024
)

// checkKey rejects keys DynamoDB would reject, with the same rules for every
// implementation.
func checkKey(pk, sk string) error {
	if err := checkPart("partition", pk, maxPKBytes); err != nil {
		return err
	}
	return checkPart("sort", sk, maxSKBytes)
}

func checkPart(what, key string, max int) error {
	switch {
	case key == "":
		return fmt.Errorf("invalid %s key: empty", what)
	case len(key) > max:
		return fmt.Errorf("invalid %s key: %d bytes, limit %d", what, len(key), max)
	case !utf8.ValidString(key):
		return fmt.Errorf("invalid %s key %q: not UTF-8", what, key)
	}
	return nil
}

// live reports whether a record with this expiry is visible at now: a record
// expires at the instant Expires, not after it.
func live(expires, now time.Time) bool {
	return expires.IsZero() || now.Before(expires)
}

// validMarkID accepts what the intake accepts as a delivery ID (or a body
// hash): printable ASCII without spaces, within the key limit.
func validMarkID(id string) bool {
	if id == "" || len(id) > maxSKBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return true
}
