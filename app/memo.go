package app

import (
	"crypto/sha256"
	"sync"

	"github.com/checkoff-app/checkoff/checklist"
)

// The checklist parsers are pure, and one delivery parses the same bytes
// more than once: an edit parses the old and the new body and judging
// parses the new one again, the next edit's old body is this one's new
// body, and every delivery parses the config file in force. Their results
// are kept, by the SHA-256 of what was parsed, for the last few inputs.
// What they return is shared between deliveries and read only.
var (
	bodies  = newMemo[*checklist.Document](memoSize)
	configs = newMemo[parsedConfig](memoSize)
)

// memoSize bounds each memo: enough for the deliveries in flight at once to
// find their own bodies. With memoMaxBytes, what it keeps stays around a
// megabyte even when every body is as long as that.
const (
	memoSize     = 64
	memoMaxBytes = 16 << 10
)

// parseBody is checklist.Parse, memoised for bodies up to memoMaxBytes. The
// Document is shared: read only.
func parseBody(body string) *checklist.Document {
	if len(body) > memoMaxBytes {
		return checklist.Parse([]byte(body))
	}
	key := sha256.Sum256([]byte(body))
	if doc, ok := bodies.get(key); ok {
		return doc
	}
	doc := checklist.Parse([]byte(body))
	bodies.put(key, doc)
	return doc
}

type parsedConfig struct {
	cfg *checklist.Config
	err error
}

// parseConfig is checklist.ParseConfig of configPath, memoised. The Config
// is shared: read only.
func parseConfig(data []byte) (*checklist.Config, error) {
	if len(data) > memoMaxBytes {
		return checklist.ParseConfig(configPath, data)
	}
	key := sha256.Sum256(data)
	if p, ok := configs.get(key); ok {
		return p.cfg, p.err
	}
	cfg, err := checklist.ParseConfig(configPath, data)
	configs.put(key, parsedConfig{cfg, err})
	return cfg, err
}

// memo maps keys to values, forgetting the oldest entry once full.
type memo[V any] struct {
	mu    sync.Mutex
	m     map[[sha256.Size]byte]V
	order [][sha256.Size]byte // ring of keys, oldest at next
	next  int
}

func newMemo[V any](size int) *memo[V] {
	return &memo[V]{m: make(map[[sha256.Size]byte]V, size), order: make([][sha256.Size]byte, 0, size)}
}

func (c *memo[V]) get(k [sha256.Size]byte) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *memo[V]) put(k [sha256.Size]byte, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.order) < cap(c.order) {
		c.order = append(c.order, k)
	} else {
		delete(c.m, c.order[c.next])
		c.order[c.next] = k
		c.next = (c.next + 1) % len(c.order)
	}
	c.m[k] = v
}
