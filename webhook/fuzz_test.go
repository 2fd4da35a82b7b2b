package webhook

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDispatcher feeds random bodies and headers to the ingress. It must
// never panic, must answer with one of the documented statuses, and must not
// call a handler or Deliveries unless the body carries a valid signature.
// Seeds live in testdata/fuzz/FuzzDispatcher; signIt lets the fuzzer reach
// the code behind the HMAC check.
func FuzzDispatcher(f *testing.F) {
	pr := loadFixture(f, "pull_request.opened.json")
	f.Add(pr, true, "pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958", "application/json", "")
	f.Add(pr, false, "pull_request", "d-1", "application/json", sign(testSecret, pr[1:]))
	f.Add([]byte(`{"zen":"Approachable is better than simple."}`), true, "ping", "d-2", "application/json; charset=utf-8", "")
	f.Add([]byte(`{"action":"rerequested","sender":{"login":"checkoff[bot]"}}`), true, "check_run", "d-3", "application/json", "")
	f.Add([]byte(`payload=%7B%7D`), true, "pull_request", "d-4", "application/x-www-form-urlencoded", "")
	f.Add([]byte(`[1,2,3]`), true, "pull_request", "d-5", "application/json", "")
	f.Add([]byte(`{}`), false, "pull_request", "d-6", "application/json", "sha1=0000000000000000000000000000000000000000")

	statuses := map[int]bool{
		http.StatusOK: true, http.StatusAccepted: true, http.StatusBadRequest: true,
		http.StatusUnauthorized: true, http.StatusRequestEntityTooLarge: true,
		http.StatusUnsupportedMediaType: true, http.StatusInternalServerError: true,
	}
	f.Fuzz(func(t *testing.T, body []byte, signIt bool, event, deliveryID, contentType, sig string) {
		h := &fakeHandler{events: []string{"pull_request", "check_run"}}
		dl := &fakeDeliveries{}
		d := NewDispatcher(Options{
			Secret:     []byte(testSecret),
			Handlers:   []Handler{h},
			Deliveries: dl,
			Logger:     slog.New(slog.DiscardHandler),
			MaxBody:    16 << 10,
			BotLogin:   "checkoff[bot]",
		})
		if signIt {
			sig = sign(testSecret, body)
		}
		r := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
		// Raw map writes keep whatever bytes the fuzzer chose.
		r.Header["Content-Type"] = []string{contentType}
		r.Header[headerEvent] = []string{event}
		r.Header[headerDelivery] = []string{deliveryID}
		r.Header[headerSignature256] = []string{sig}
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)

		if !statuses[w.Code] {
			t.Fatalf("undocumented status %d", w.Code)
		}
		valid := sig == sign(testSecret, body)
		if !valid && (h.Calls != 0 || dl.calls() != 0) {
			t.Fatalf("unsigned delivery reached handler (%d calls) or Deliveries (%d calls)", h.Calls, dl.calls())
		}
		if h.Calls > 0 && w.Code != http.StatusOK {
			t.Fatalf("handler succeeded but status %d", w.Code)
		}
	})
}
