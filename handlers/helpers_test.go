package handlers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	goldenfile "github.com/checkoff-app/checkoff/internal/golden"

	"github.com/checkoff-app/checkoff/webhook"
)

// The helpers below sign and send deliveries as GitHub does; the webhook
// package's own tests have their twins, since test files do not cross
// packages.

const testSecret = "s3cr3t-webhook-key-never-logged"

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// delivery builds a correctly signed POST /webhook.
func delivery(event, id string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, webhook.WebhookPath, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", id)
	r.Header.Set("X-Hub-Signature-256", sign(testSecret, body))
	return r
}

// variant returns payload with one top-level field set, so that deliveries
// of the same event are different bodies, as GitHub's always are.
func variant(t testing.TB, payload []byte, key string, value any) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	p[key] = value
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bodyMark is the Deliveries key the dispatcher marks a handled body with.
func bodyMark(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// httpEvent loads a real-shaped payload format 2.0 request from the webhook
// package's testdata and fills in a signed GitHub delivery, the way API
// Gateway would pass it on.
func httpEvent(t *testing.T, file, event, id string, body []byte, secret string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "webhook", "testdata", "lambda", file))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	h := ev["headers"].(map[string]any)
	h["x-github-event"] = event
	h["x-github-delivery"] = id
	h["x-hub-signature-256"] = sign(secret, body)
	h["content-length"] = strconv.Itoa(len(body))
	if ev["isBase64Encoded"] == true {
		ev["body"] = base64.StdEncoding.EncodeToString(body)
	} else {
		ev["body"] = string(body)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// golden compares got with the golden file at path, or rewrites it with
// -update: check-run summaries are prose, compared whole.
func golden(t *testing.T, path, got string) {
	t.Helper()
	goldenfile.Check(t, path, []byte(got))
}
