package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Defaults for Options.
const (
	// DefaultMaxBody is GitHub's own cap on a webhook payload (25 MB).
	DefaultMaxBody int64 = 25 << 20
	// DefaultTimeout leaves headroom inside the 10 s GitHub waits for an answer.
	DefaultTimeout = 8 * time.Second
	// DefaultQueueTimeout is how long a delivery waits for a slot when
	// Options.MaxConcurrent are in flight: it still leaves about 3 s of the
	// handler's budget, which counts from arrival.
	DefaultQueueTimeout = 5 * time.Second
	// DefaultMaxUnverifiedBytes bounds the bytes held at once, across all
	// requests, for bodies whose signature is not yet verified: room for
	// two payloads of GitHub's largest size and many usual ones beside them.
	DefaultMaxUnverifiedBytes int64 = 64 << 20
	// DefaultUnverifiedWait is how long a request waits for room in that
	// budget: a flood of unverified bodies passes through it in well under
	// that on any link GitHub uses, and 2 s leaves the handler most of its
	// budget.
	DefaultUnverifiedWait = 2 * time.Second
)

// Paths served by the Dispatcher.
const (
	// WebhookPath receives GitHub deliveries (POST).
	WebhookPath = "/webhook"
	// HealthPath answers 200 "ok" (GET, HEAD) without touching anything.
	HealthPath = "/healthz"
)

// Header names GitHub sets on a delivery (canonical form).
const (
	headerSignature256 = "X-Hub-Signature-256"
	headerEvent        = "X-Github-Event"
	headerDelivery     = "X-Github-Delivery"
)

// Handler handles the webhook events it names (palantir/go-githubapp
// style). Handle gets a delivery whose signature was already verified,
// decoded and checked against its event's shape (validate.go), and a
// context carrying a deadline and a logger (see LoggerFrom). A nil error
// means the delivery is done and will not be processed again when
// redelivered.
type Handler interface {
	// Handles returns the X-GitHub-Event values this handler accepts.
	Handles() []string
	// Handle processes one delivery; it must not keep ev past its return.
	Handle(ctx context.Context, ev *Event) error
}

// Deliveries remembers which deliveries were handled successfully, so that a
// redelivery of one of them is a no-op. The app implements it over its store.
type Deliveries interface {
	// Seen returns the first of ids already marked Done, or "" if none
	// was.
	Seen(ctx context.Context, ids ...string) (string, error)
	// Done marks each of ids (a delivery's ID and its body's key) as
	// handled successfully.
	Done(ctx context.Context, ids ...string) error
}

// Options configures a Dispatcher. Zero values get the documented defaults.
type Options struct {
	// Secret is the webhook secret. Empty: every delivery is rejected (401).
	Secret []byte
	// Handlers route events by name; two handlers for one event is a wiring
	// bug and makes NewDispatcher panic.
	Handlers []Handler
	// Deliveries de-duplicates redeliveries; nil disables de-duplication.
	Deliveries Deliveries
	// Logger receives one line per delivery; nil means slog.Default().
	Logger *slog.Logger
	// MaxBody caps the request body; default DefaultMaxBody.
	MaxBody int64
	// Timeout is the deadline a handler gets; default DefaultTimeout.
	Timeout time.Duration
	// BotLogin is the App's own bot login ("checkoff[bot]"); events it sent
	// are ignored, so checkoff never reacts to its own writes.
	BotLogin string
	// MaxConcurrent bounds the deliveries handled at once (0: no bound; a
	// Lambda instance handles one at a time anyway). The rest wait once
	// their signature is verified (so no one without the secret can take a
	// slot), holding only the raw payload, not its decoded event and the
	// GitHub calls; one that waits longer than QueueTimeout is refused with
	// 503 and left to the redelivery sweeper.
	MaxConcurrent int
	// QueueTimeout bounds the wait for a slot; default DefaultQueueTimeout.
	QueueTimeout time.Duration
	// MaxUnverifiedBytes bounds the memory held, in total across requests,
	// for bodies whose signature is not yet verified (default
	// DefaultMaxUnverifiedBytes): without it, anyone could make the server
	// hold MaxBody per connection. A request reserves its declared length
	// before reading; when the budget is spent it waits up to
	// UnverifiedWait, then is refused with 503 and Retry-After. A body of
	// unknown length reserves as it reads and is refused as soon as the
	// budget is spent. Values below MaxBody plus one 32 KiB read are raised
	// to that, so any body within MaxBody fits.
	MaxUnverifiedBytes int64
	// UnverifiedWait bounds the wait for room in the unverified-body
	// budget; default DefaultUnverifiedWait.
	UnverifiedWait time.Duration
}

// Dispatcher is the webhook ingress as a plain http.Handler: POST /webhook
// and GET /healthz. It is safe for concurrent use.
type Dispatcher struct {
	secret     []byte
	handlers   map[string]Handler
	deliveries Deliveries
	log        *slog.Logger
	maxBody    int64
	timeout    time.Duration
	botLogin   string
	slots      chan struct{} // nil: no bound
	queueWait  time.Duration

	unverified     *budget
	unverifiedWait time.Duration
}

// NewDispatcher builds a Dispatcher from opts. It panics when two handlers
// claim the same event, or a handler claims none: both are wiring bugs that
// would otherwise silently drop events.
func NewDispatcher(opts Options) *Dispatcher {
	d := &Dispatcher{
		secret:     bytes.Clone(opts.Secret),
		handlers:   make(map[string]Handler),
		deliveries: opts.Deliveries,
		log:        opts.Logger,
		maxBody:    opts.MaxBody,
		timeout:    opts.Timeout,
		botLogin:   opts.BotLogin,
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.maxBody <= 0 {
		d.maxBody = DefaultMaxBody
	}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	maxUnverified := opts.MaxUnverifiedBytes
	if maxUnverified <= 0 {
		maxUnverified = DefaultMaxUnverifiedBytes
	}
	d.unverified = newBudget(max(maxUnverified, (d.maxBody/chunkSize+1)*chunkSize))
	d.unverifiedWait = opts.UnverifiedWait
	if d.unverifiedWait <= 0 {
		d.unverifiedWait = DefaultUnverifiedWait
	}
	if opts.MaxConcurrent > 0 {
		d.slots = make(chan struct{}, opts.MaxConcurrent)
		d.queueWait = opts.QueueTimeout
		if d.queueWait <= 0 {
			d.queueWait = DefaultQueueTimeout
		}
	}
	for i, h := range opts.Handlers {
		if h == nil {
			panic(fmt.Sprintf("webhook: handler %d is nil", i))
		}
		events := h.Handles()
		if len(events) == 0 {
			panic(fmt.Sprintf("webhook: handler %T handles no events", h))
		}
		for _, ev := range events {
			if prev, dup := d.handlers[ev]; dup {
				panic(fmt.Sprintf("webhook: event %q handled by both %T and %T", ev, prev, h))
			}
			d.handlers[ev] = h
		}
	}
	return d
}

// ServeHTTP routes POST /webhook and GET /healthz; any other path is 404 and
// any other method 405.
func (d *Dispatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case WebhookPath:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		d.serveWebhook(w, r)
	case HealthPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		reply(w, http.StatusOK, "ok")
	default:
		http.NotFound(w, r)
	}
}

// serveWebhook runs the ingress checks in order: configuration, signature
// header, content type, body size and the unverified-body budget, HMAC,
// GitHub headers, JSON, the event's handler and sender, the payload's shape,
// a delivery slot, de-duplication. Every rejection returns before a handler
// or Deliveries is touched.
func (d *Dispatcher) serveWebhook(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	in := d.newIntake(w, r)
	body, release, ok := in.authenticate()
	if !ok {
		return
	}
	defer release()
	event, delivery, ok := in.githubHeaders()
	if !ok {
		return
	}
	env, ok := in.decode(event, delivery, body)
	if !ok {
		return
	}
	log := d.log.With(deliveryAttrs(env.Event)...)
	ctx := context.WithValue(r.Context(), loggerKey{}, log)
	h, ok := in.route(ctx, log, env)
	if !ok {
		return
	}
	// From here on the delivery is its decoded Event and its body's key: the
	// raw payload is let go before waiting for a slot, so deliveries queued
	// behind busy slots hold a few KiB each, not their whole payloads.
	keys := in.dedupeKeys(env.Event, body)
	body = nil
	release()
	if d.slots != nil {
		if err := d.acquire(r.Context()); err != nil {
			w.Header().Set("Retry-After", "1")
			in.reject(http.StatusServiceUnavailable, err.Error())
			return
		}
		defer func() { <-d.slots }()
	}
	if !in.dedupe(ctx, log, keys) {
		return
	}
	if err := d.call(ctx, start, h, env.Event); err != nil {
		log.LogAttrs(ctx, slog.LevelError, "handler failed",
			slog.Any("err", err), slog.Duration("took", time.Since(start)))
		reply(w, http.StatusInternalServerError, "handler failed")
		return
	}
	// Best effort: a lost mark only means a redelivery is handled again,
	// which handlers tolerate (their writes converge).
	if len(keys) > 0 {
		if err := d.deliveries.Done(ctx, keys...); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "mark delivery done failed", slog.Any("err", err))
		}
	}
	log.LogAttrs(ctx, slog.LevelInfo, "delivery handled", slog.Duration("took", time.Since(start)))
	reply(w, http.StatusOK, "ok")
}

// intake is one POST /webhook on its way through serveWebhook's checks.
type intake struct {
	d *Dispatcher
	w http.ResponseWriter
	r *http.Request
	// rawDelivery is X-GitHub-Delivery as sent: unauthenticated until the
	// HMAC passes, so it is only ever logged, quoted by slog, and bounded
	// in length.
	rawDelivery string
}

func (d *Dispatcher) newIntake(w http.ResponseWriter, r *http.Request) *intake {
	raw := r.Header.Get(headerDelivery)
	if len(raw) > maxHeaderLen {
		raw = raw[:maxHeaderLen]
	}
	return &intake{d: d, w: w, r: r, rawDelivery: raw}
}

// refuse logs a rejection and answers it.
func (in *intake) refuse(status int, reason, answer string) {
	in.d.log.LogAttrs(in.r.Context(), slog.LevelWarn, "webhook rejected",
		slog.Int("status", status), slog.String("reason", reason),
		slog.String("delivery", in.rawDelivery), slog.String("remote", in.r.RemoteAddr))
	reply(in.w, status, answer)
}

// reject refuses with the status text as the answer: the reason is for
// the log only.
func (in *intake) reject(status int, reason string) {
	in.refuse(status, reason, http.StatusText(status))
}

// authenticate returns the body once its HMAC matches, having checked the
// configuration, the signature header's shape, the content type, the size
// and the unverified-body budget first.
func (in *intake) authenticate() (body []byte, release func(), ok bool) {
	noop := func() {}
	if len(in.d.secret) == 0 {
		// Fail closed: without a secret nothing can be authenticated.
		in.reject(http.StatusUnauthorized, "webhook secret not configured")
		return nil, noop, false
	}
	sig := in.r.Header.Get(headerSignature256)
	if reason := checkSignatureShape(sig); reason != "" {
		in.reject(http.StatusUnauthorized, reason)
		return nil, noop, false
	}
	// GitHub Apps always deliver application/json; the form encoding exists
	// only for repository hooks, so it is refused rather than parsed.
	if mt, _, err := mime.ParseMediaType(in.r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		in.reject(http.StatusUnsupportedMediaType, "content type is not application/json")
		return nil, noop, false
	}
	body, release, berr := in.d.readVerified(in.w, in.r, sig)
	if berr != nil {
		if berr.status == http.StatusServiceUnavailable {
			in.w.Header().Set("Retry-After", "1")
		}
		in.reject(berr.status, berr.reason)
		return nil, noop, false
	}
	return body, release, true
}

// githubHeaders returns X-GitHub-Event and X-GitHub-Delivery once both are
// well formed.
func (in *intake) githubHeaders() (event, delivery string, ok bool) {
	event, delivery = in.r.Header.Get(headerEvent), in.r.Header.Get(headerDelivery)
	if !validToken(event, isEventByte) {
		in.reject(http.StatusBadRequest, "missing or invalid X-GitHub-Event")
		return "", "", false
	}
	if !validToken(delivery, isDeliveryByte) {
		in.reject(http.StatusBadRequest, "missing or invalid X-GitHub-Delivery")
		return "", "", false
	}
	return event, delivery, true
}

// decode decodes the payload, once, into the Event handlers read.
func (in *intake) decode(event, delivery string, body []byte) (*envelope, bool) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		in.reject(http.StatusBadRequest, "payload is not a JSON object")
		return nil, false
	}
	env := &envelope{Event: &Event{}}
	if err := decodePayload(body, env); err != nil {
		var semErr *jsonv2.SemanticError
		if errors.As(err, &semErr) && semErr.JSONPointer != "" && semErr.JSONKind != 0 {
			field := strings.ReplaceAll(strings.TrimPrefix(string(semErr.JSONPointer), "/"), "/", ".")
			reason := "payload field " + field + " has the wrong type"
			in.refuse(http.StatusBadRequest, reason, "bad payload: "+reason)
			return nil, false
		}
		in.reject(http.StatusBadRequest, "malformed JSON payload")
		return nil, false
	}
	env.Name, env.Delivery = event, delivery
	return env, true
}

// decodePayload decodes a payload into env with json v2 (the proposal's
// reference implementation): the payload is the largest thing a delivery
// parses, and v2 parses it in a quarter of encoding/json's time. Keys match
// exactly and invalid UTF-8 is refused; a repeated key is allowed, as
// encoding/json allows it (checking cost half the parse, and the payload
// is GitHub's, signed).
func decodePayload(body []byte, env *envelope) error {
	return jsonv2.Unmarshal(body, env, jsontext.AllowDuplicateNames(true))
}

// route answers ping, events without a handler and the App's own events,
// refuses payloads of the wrong shape, and returns the event's handler
// for the rest.
func (in *intake) route(ctx context.Context, log *slog.Logger, env *envelope) (Handler, bool) {
	event := env.Name
	if event == "ping" {
		log.LogAttrs(ctx, slog.LevelInfo, "ping")
		reply(in.w, http.StatusOK, "pong")
		return nil, false
	}
	h, ok := in.d.handlers[event]
	if !ok {
		log.LogAttrs(ctx, slog.LevelInfo, "no handler for event")
		reply(in.w, http.StatusAccepted, "accepted: event not handled")
		return nil, false
	}
	if in.d.botLogin != "" && strings.EqualFold(env.Sender.Login, in.d.botLogin) {
		log.LogAttrs(ctx, slog.LevelInfo, "ignored: sent by own bot")
		reply(in.w, http.StatusOK, "ignored: own event")
		return nil, false
	}
	if reason := validate(event, env); reason != "" {
		in.refuse(http.StatusBadRequest, reason, "bad payload: "+reason)
		return nil, false
	}
	return h, true
}

// dedupeKeys are the Deliveries keys of a delivery: its ID and its body's
// key. The body is remembered beside the delivery ID: the ID is not signed,
// so a captured body re-sent under a new ID is a replay, not a new
// delivery. Re-run requests are the exception (see isRerun).
func (in *intake) dedupeKeys(ev *Event, body []byte) []string {
	if in.d.deliveries == nil {
		return nil
	}
	keys := []string{ev.Delivery}
	if !isRerun(ev) {
		keys = append(keys, bodyKey(body))
	}
	return keys
}

// dedupe reports whether the delivery of keys is to be handled, having
// answered one already handled, or a store that cannot tell.
func (in *intake) dedupe(ctx context.Context, log *slog.Logger, keys []string) bool {
	if len(keys) == 0 {
		return true
	}
	seen, err := in.d.deliveries.Seen(ctx, keys...)
	switch {
	case err != nil:
		// Unknown state: answer 5xx so the sweeper redelivers later,
		// rather than risk handling on a store that is down.
		log.LogAttrs(ctx, slog.LevelError, "delivery lookup failed", slog.Any("err", err))
		reply(in.w, http.StatusInternalServerError, "delivery lookup failed")
		return false
	case seen == keys[0]: // the delivery's ID
		log.LogAttrs(ctx, slog.LevelInfo, "redelivery of a handled delivery: no-op")
		reply(in.w, http.StatusOK, "already handled")
		return false
	case seen != "":
		// GitHub never sends one body under two IDs; someone replays it.
		log.LogAttrs(ctx, slog.LevelWarn, "body of a handled delivery under a new ID: no-op")
		reply(in.w, http.StatusOK, "already handled")
		return false
	}
	return true
}

// bodyKey is the Deliveries key of a payload: "sha256:" and the hex
// SHA-256 of the raw body.
func bodyKey(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// call runs the handler under the dispatcher's deadline and turns a panic
// into an error, so one bad payload cannot take the process (or the warm
// Lambda) down.
func (d *Dispatcher) call(ctx context.Context, start time.Time, h Handler, ev *Event) (err error) {
	// The budget counts from arrival: time spent waiting for a slot is time
	// GitHub has been waiting too.
	ctx, cancel := context.WithDeadline(ctx, start.Add(d.timeout))
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler %T panicked: %v", h, p)
		}
	}()
	return h.Handle(ctx, ev)
}

func deliveryAttrs(env *Event) []any {
	attrs := make([]any, 0, 6)
	attrs = append(attrs, slog.String("delivery", env.Delivery), slog.String("event", env.Name))
	if env.Action != "" {
		attrs = append(attrs, slog.String("action", env.Action))
	}
	if env.Installation != nil && env.Installation.ID != 0 {
		attrs = append(attrs, slog.Int64("installation", env.Installation.ID))
	}
	if env.Repository != nil && env.Repository.FullName != "" {
		attrs = append(attrs, slog.String("repo", env.Repository.FullName))
	}
	if env.PullRequest != nil && env.PullRequest.Number != 0 {
		attrs = append(attrs, slog.Int("pr", env.PullRequest.Number))
	}
	return attrs
}

type loggerKey struct{}

// LoggerFrom returns the logger the Dispatcher attached to ctx (carrying the
// delivery, event, action, installation, repo and PR number), or
// slog.Default() when there is none.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// checkSignatureShape returns why sig cannot be a GitHub HMAC-SHA256 header,
// or "". Only SHA-256 is accepted (go-github's ValidateSignature would also
// take sha1= and sha512=).
func checkSignatureShape(sig string) string {
	const prefix = "sha256="
	switch {
	case sig == "":
		return "missing X-Hub-Signature-256"
	case !strings.HasPrefix(sig, prefix):
		return "signature is not sha256"
	case len(sig) != len(prefix)+64:
		return "signature has the wrong length"
	}
	return ""
}

// maxHeaderLen bounds the event and delivery headers: GitHub's are short
// (event names, GUIDs) and the delivery id becomes a store key.
const maxHeaderLen = 128

func validToken(s string, ok func(byte) bool) bool {
	if s == "" || len(s) > maxHeaderLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// isEventByte accepts GitHub event names: lower-case words joined by '_'.
func isEventByte(c byte) bool { return c >= 'a' && c <= 'z' || c == '_' }

// isDeliveryByte accepts printable ASCII without spaces (GUIDs in practice).
func isDeliveryByte(c byte) bool { return c > ' ' && c < 0x7f }

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	reply(w, http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed))
}

func reply(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// acquire takes a delivery slot, waiting at most queueWait; the error says
// why it got none.
func (d *Dispatcher) acquire(ctx context.Context) error {
	select {
	case d.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(d.queueWait)
	defer t.Stop()
	select {
	case d.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errors.New("busy: no delivery slot free in time")
	case <-ctx.Done():
		return errors.New("client went away while waiting for a delivery slot")
	}
}
