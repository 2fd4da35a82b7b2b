package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// Server is a fake GitHub REST API on an httptest server. Every request is
// validated against GitHub's OpenAPI description (the embedded subset) and
// against the credential rules of GitHub Apps; anything GitHub would reject
// fails the test given to New and is answered the way GitHub answers it
// (400, 401, 403, 404 or 422). Lookups of things that do not exist answer 404 like
// GitHub and are not failures.
//
// State is set up and inspected through methods, which are safe to call
// while requests are being served.
type Server struct {
	// URL is the API base URL with a trailing slash, for go-github's
	// BaseURL and GITHUB_API_URL.
	URL string
	// AppID is the App the fake knows: app JWTs must carry it as issuer.
	// FixtureAppID by default; change it only before the first request.
	AppID int64
	// AppSlug is the App's slug; its bot user is AppSlug+"[bot]". Change it
	// only before the first request.
	AppSlug string

	t   testing.TB
	api *api
	srv *httptest.Server

	mu            sync.Mutex
	repos         map[string]*repoState // by lower-case full name
	installPerms  map[int64]map[string]string
	tokens        map[string]*token
	tokensIssued  int
	deliveries    []*Delivery
	redeliverCode int
	calls         []Call
	failures      []string
	fault         FaultFunc
	faultQueue    map[string][]Fault
	nextID        int64
	noRespCheck   bool
}

// Call is one request the fake received.
type Call struct {
	Method      string
	Path        string // unescaped URL path, like /repos/acme/api/check-runs
	RawQuery    string
	OperationID string // from the OpenAPI description, like "checks/create"; empty when no operation matched
	Status      int    // status answered; 0 when the connection was reset
	Write       bool   // POST, PATCH, PUT or DELETE
	Conditional bool   // the request carried If-None-Match
	Fault       bool   // answered by an injected Fault
}

// Fault is a failure the fake injects instead of its normal answer.
type Fault struct {
	Status int         // status to answer; 0 answers normally after Delay
	Header http.Header // extra response headers, like Retry-After
	Body   string      // response body; a GitHub-style JSON message when empty
	Delay  time.Duration
	Reset  bool // close the connection (TCP reset) without answering
}

// FaultFunc decides per request whether to inject a fault; nil means none.
// call describes the request (Status not yet set).
type FaultFunc func(call Call, r *http.Request) *Fault

// DefaultPermissions are the installation permissions the fake grants an
// installation unless SetInstallationPermissions says otherwise: what
// checkoff's App manifest requests.
var DefaultPermissions = map[string]string{
	"checks":        "write",
	"contents":      "read",
	"metadata":      "read",
	"pull_requests": "write",
}

// tokenTTL is how long GitHub installation tokens live.
const tokenTTL = time.Hour

type token struct {
	installation int64
	expires      time.Time
	perms        map[string]string
	repos        map[string]bool // lower-case full names; nil: all of the installation
}

var (
	keyOnce   sync.Once
	appKey    *rsa.PrivateKey
	appKeyPEM []byte
	keyErr    error
)

// sharedKey is the App private key of every fake in the process: RSA key
// generation is too slow to repeat per test.
func sharedKey() (*rsa.PrivateKey, []byte, error) {
	keyOnce.Do(func() {
		appKey, keyErr = rsa.GenerateKey(rand.Reader, 2048)
		if keyErr == nil {
			appKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(appKey)})
		}
	})
	return appKey, appKeyPEM, keyErr
}

// New starts a fake GitHub on loopback. It reports validation failures to t
// and closes when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	a, err := loadAPI()
	if err != nil {
		t.Fatalf("githubtest: %v", err)
	}
	if _, _, err := sharedKey(); err != nil {
		t.Fatalf("githubtest: generate app key: %v", err)
	}
	s := &Server{
		AppID:         FixtureAppID,
		AppSlug:       "checkoff",
		t:             t,
		api:           a,
		repos:         map[string]*repoState{},
		installPerms:  map[int64]map[string]string{},
		tokens:        map[string]*token{},
		redeliverCode: http.StatusOK,
		faultQueue:    map[string][]Fault{},
		nextID:        1000,
	}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL + "/"
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down; New registers it with t.Cleanup.
func (s *Server) Close() { s.srv.Close() }

// PrivateKeyPEM returns the App's private key (PKCS#1 PEM), for
// GITHUB_PRIVATE_KEY or ghinstallation.
func (s *Server) PrivateKeyPEM() []byte {
	_, p, _ := sharedKey()
	return append([]byte(nil), p...)
}

// AppJWT returns a valid app JWT for the fake's App, as ghinstallation would
// sign it.
func (s *Server) AppJWT() string {
	key, _, _ := sharedKey()
	now := time.Now().Add(-30 * time.Second).Truncate(time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Minute)),
		Issuer:    strconv.FormatInt(s.AppID, 10),
	})
	signed, err := tok.SignedString(key)
	if err != nil {
		s.t.Fatalf("githubtest: sign app jwt: %v", err)
	}
	return signed
}

// InstallationToken issues an installation token directly, without a
// request: for tests that do not exercise the App authentication flow. It
// is counted by TokensIssued.
func (s *Server) InstallationToken(installationID int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueToken(installationID, s.permsOf(installationID), nil).value
}

// SetInstallationPermissions sets the permissions an installation grants
// (like {"checks": "write"}); tokens issued later carry them.
func (s *Server) SetInstallationPermissions(installationID int64, perms map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installPerms[installationID] = copyMap(perms)
}

// TokensIssued counts the installation tokens the fake has issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensIssued
}

// ExpireTokens makes every issued installation token expired, as if an hour
// had passed.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, tok := range s.tokens {
		tok.expires = past
	}
}

// SetFault installs f to inject faults into later requests; nil removes it.
func (s *Server) SetFault(f FaultFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// FailNext makes the next n requests to operationID (like "checks/create";
// "" for any operation) answer with f. Queued faults come before SetFault's.
func (s *Server) FailNext(operationID string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.faultQueue[operationID] = append(s.faultQueue[operationID], f)
	}
}

// ServerError is a GitHub 5xx answer.
func ServerError(status int) Fault {
	return Fault{Status: status, Body: `{"message":"Server Error"}`}
}

// SecondaryRateLimit is GitHub's secondary rate limit answer: 403 with
// Retry-After.
func SecondaryRateLimit(retryAfter time.Duration) Fault {
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	return Fault{Status: http.StatusForbidden, Header: h,
		Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}`}
}

// RateLimit is GitHub's primary rate limit answer (status 403 or 429) with
// X-RateLimit-Remaining 0 and X-RateLimit-Reset at reset.
func RateLimit(status int, reset time.Time) Fault {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Used", "5000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	return Fault{Status: status, Header: h,
		Body: `{"message":"API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api","status":"` + strconv.Itoa(status) + `"}`}
}

// SkipResponseValidation turns off checking the fake's own responses
// against the response schemas, for benchmarks that measure the caller.
func (s *Server) SkipResponseValidation() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noRespCheck = true
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ResetCalls forgets the calls received so far (state stays).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// Count returns how many requests went to operationID, like "checks/update".
func (s *Server) Count(operationID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.OperationID == operationID {
			n++
		}
	}
	return n
}

// Writes counts the write requests (POST, PATCH, PUT, DELETE) received,
// including installation token requests and faulted attempts.
func (s *Server) Writes() int { return s.countCalls(func(c Call) bool { return c.Write }) }

// Reads counts the GET requests received, including conditional ones that
// were answered 304.
func (s *Server) Reads() int { return s.countCalls(func(c Call) bool { return !c.Write }) }

func (s *Server) countCalls(f func(Call) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if f(c) {
			n++
		}
	}
	return n
}

// Failures returns the validation failures recorded so far (each was also
// reported to the test).
func (s *Server) Failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.failures...)
}

// request is what a handler sees of a validated request.
type request struct {
	r      *http.Request
	op     *operation
	params map[string]string
	body   any // decoded JSON body, validated
	repo   *repoState
	tok    *token
}

// response is a handler's answer.
type response struct {
	status int
	body   any // marshalled as JSON; nil: no body
	header http.Header
}

// ServeHTTP validates, records and answers one request; it is the handler
// of the httptest server New starts.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return // client went away
	}
	call := Call{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Write:       r.Method != http.MethodGet && r.Method != http.MethodHead,
		Conditional: r.Header.Get("If-None-Match") != "",
	}
	op, params, pathMatched := s.api.match(r.Method, r.URL.EscapedPath())
	if op == nil {
		msg := "no operation in the OpenAPI subset"
		if pathMatched {
			msg = "method not allowed for this path"
		}
		s.reject(w, call, http.StatusNotFound, "Not Found", []string{msg})
		return
	}
	call.OperationID = op.id

	var problems []string
	status := 0
	if r.Header.Get("User-Agent") == "" {
		status = http.StatusForbidden
	}
	problems = append(problems, checkHeaders(r.Header)...)
	if status == 0 && len(problems) > 0 {
		status = http.StatusBadRequest
	}
	s.mu.Lock()
	req := &request{r: r, op: op, params: params}
	if owner, ok := params["owner"]; ok {
		req.repo = s.repos[strings.ToLower(owner+"/"+params["repo"])]
	}
	authStatus, authProblems := s.authorize(req)
	s.mu.Unlock()
	if status == 0 {
		status = authStatus
	}
	problems = append(problems, authProblems...)
	body, bodyProblems := s.api.validateRequest(op, params, r.URL.Query(), raw)
	problems = append(problems, bodyProblems...)
	if status == 0 && len(bodyProblems) > 0 {
		status = http.StatusUnprocessableEntity
	}
	if len(problems) > 0 {
		s.reject(w, call, status, githubMessage(status), problems)
		return
	}
	req.body = body

	if f := s.takeFault(call, r); f != nil {
		call.Fault = true
		if f.Status != 0 || f.Reset {
			call.Status = f.Status
			s.record(call)
		}
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				if f.Status == 0 && !f.Reset {
					s.record(call) // the client gave up: Status 0
				}
				return
			}
		}
		if f.Reset {
			resetConn(w)
			return
		}
		if f.Status != 0 {
			body := f.Body
			if body == "" {
				body = fmt.Sprintf(`{"message":%q,"status":"%d"}`, http.StatusText(f.Status), f.Status)
			}
			s.writeRaw(w, f.Status, f.Header, []byte(body))
			return
		}
	}

	s.mu.Lock()
	resp, refused := s.handle(req)
	noRespCheck := s.noRespCheck
	s.mu.Unlock()
	for _, p := range refused {
		s.failf("%s %s (%s): %s", r.Method, r.URL.Path, op.id, p)
	}

	var out []byte
	if resp.body != nil {
		if out, err = json.Marshal(resp.body); err != nil {
			s.failf("%s %s: marshal response: %v", r.Method, r.URL.Path, err)
		}
	}
	if !noRespCheck {
		for _, p := range s.api.validateResponse(op, resp.status, out) {
			s.failf("%s %s (%s): fake's own %s (bug in githubtest)", r.Method, r.URL.Path, op.id, p)
		}
	}
	if resp.header == nil {
		resp.header = http.Header{}
	}
	if r.Method == http.MethodGet && resp.status == http.StatusOK {
		// GitHub answers every GET with an ETag and honours If-None-Match.
		sum := sha256.Sum256(out)
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		resp.header.Set("ETag", etag)
		if etagMatches(r.Header.Get("If-None-Match"), etag) {
			resp.status, out = http.StatusNotModified, nil
		}
	}
	call.Status = resp.status
	s.record(call)
	s.writeRaw(w, resp.status, resp.header, out)
}

// takeFault returns the fault to inject for a request, if any.
func (s *Server) takeFault(call Call, r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range []string{call.OperationID, ""} {
		if q := s.faultQueue[key]; len(q) > 0 {
			f := q[0]
			s.faultQueue[key] = q[1:]
			return &f
		}
	}
	if s.fault != nil {
		return s.fault(call, r)
	}
	return nil
}

// reject records a request GitHub would refuse, fails the test and answers
// like GitHub.
func (s *Server) reject(w http.ResponseWriter, call Call, status int, message string, problems []string) {
	call.Status = status
	s.record(call)
	for _, p := range problems {
		s.failf("%s %s: %s", call.Method, call.Path, p)
	}
	body, _ := json.Marshal(map[string]any{
		"message":           message + "\n\n" + strings.Join(problems, "\n"),
		"documentation_url": "https://docs.github.com/rest",
		"status":            strconv.Itoa(status),
	})
	s.writeRaw(w, status, nil, body)
}

func githubMessage(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "Bad credentials"
	case http.StatusForbidden:
		return "Resource not accessible by integration"
	case http.StatusUnprocessableEntity:
		return "Invalid request."
	}
	return http.StatusText(status)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *Server) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.failures = append(s.failures, msg)
	s.mu.Unlock()
	s.t.Errorf("githubtest: %s", msg)
}

func (s *Server) writeRaw(w http.ResponseWriter, status int, extra http.Header, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%d", time.Now().UnixNano()))
	// Informational only: a fake that counted down would make go-github stop
	// calling in long benchmarks.
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4999")
	h.Set("X-RateLimit-Used", "1")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	for k, vs := range extra {
		h[k] = vs
	}
	if status == http.StatusNotModified || len(body) == 0 {
		h.Del("Content-Type")
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// resetConn closes the client connection abruptly (RST), as a dropped
// connection looks to the client.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("githubtest: response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func etagMatches(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, part := range strings.Split(ifNoneMatch, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == want {
			return true
		}
	}
	return false
}

// authorize checks the request's credentials for its operation. Called with
// s.mu held.
func (s *Server) authorize(req *request) (status int, problems []string) {
	h := req.r.Header.Get("Authorization")
	if h == "" {
		return http.StatusUnauthorized, []string{"missing Authorization header (GitHub answers 401 Requires authentication)"}
	}
	scheme, cred, _ := strings.Cut(h, " ")
	scheme = strings.ToLower(scheme)
	if scheme != "bearer" && scheme != "token" || cred == "" {
		return http.StatusUnauthorized, []string{fmt.Sprintf("Authorization scheme %q is not Bearer or token", scheme)}
	}
	switch req.op.auth {
	case authAppJWT:
		if scheme != "bearer" {
			return http.StatusUnauthorized, []string{"app JWT must be sent as Bearer"}
		}
		if p := s.checkJWT(cred); p != "" {
			return http.StatusUnauthorized, []string{req.op.id + " needs an app JWT: " + p}
		}
		return 0, nil
	}
	tok, ok := s.tokens[cred]
	if !ok {
		if strings.Count(cred, ".") == 2 {
			return http.StatusUnauthorized, []string{req.op.id + " needs an installation token, got what looks like an app JWT"}
		}
		return http.StatusUnauthorized, []string{req.op.id + ": token was not issued by this fake (Bad credentials)"}
	}
	if !time.Now().Before(tok.expires) {
		return http.StatusUnauthorized, []string{fmt.Sprintf("installation token expired at %s", tok.expires.Format(time.RFC3339))}
	}
	req.tok = tok
	if req.repo != nil {
		if req.repo.Installation != tok.installation {
			return http.StatusForbidden, []string{fmt.Sprintf("token of installation %d used on %s, which belongs to installation %d", tok.installation, req.repo.FullName, req.repo.Installation)}
		}
		if tok.repos != nil && !tok.repos[strings.ToLower(req.repo.FullName)] {
			return http.StatusForbidden, []string{fmt.Sprintf("token is restricted to other repositories than %s", req.repo.FullName)}
		}
	}
	if !hasPermission(tok.perms, req.op.permission) {
		return http.StatusForbidden, []string{fmt.Sprintf("%s needs installation permission %s; token has %v", req.op.id, req.op.permission, tok.perms)}
	}
	return 0, nil
}

// checkJWT returns why cred is not a valid app JWT for this App, or "".
func (s *Server) checkJWT(cred string) string {
	key, _, _ := sharedKey()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(cred, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	if err != nil {
		return fmt.Sprintf("A JSON web token could not be decoded: %v", err)
	}
	num := func(name string) (int64, bool) {
		n, ok := claims[name].(json.Number)
		if !ok {
			return 0, false
		}
		v, err := n.Int64() // GitHub rejects fractional timestamps
		return v, err == nil
	}
	now := time.Now().Unix()
	iat, ok := num("iat")
	if !ok {
		return "iat missing or not an integer"
	}
	exp, ok := num("exp")
	if !ok {
		return "exp missing or not an integer"
	}
	switch {
	case iat > now+60:
		return "iat is in the future"
	case exp <= now:
		return "JWT has expired"
	case exp-iat > 600:
		return "exp is more than 10 minutes after iat"
	}
	var iss string
	switch v := claims["iss"].(type) {
	case string:
		iss = v
	case json.Number:
		iss = v.String()
	}
	if iss != strconv.FormatInt(s.AppID, 10) {
		return fmt.Sprintf("iss %q is not the App ID %d", iss, s.AppID)
	}
	return ""
}

// hasPermission reports whether perms grant need ("name:level", with "|"
// separating alternatives; "" needs nothing).
func hasPermission(perms map[string]string, need string) bool {
	if need == "" {
		return true
	}
	rank := map[string]int{"read": 1, "write": 2, "admin": 3}
	for _, alt := range strings.Split(need, "|") {
		name, level, _ := strings.Cut(alt, ":")
		if rank[perms[name]] >= rank[level] {
			return true
		}
	}
	return false
}

func (s *Server) permsOf(installationID int64) map[string]string {
	if p, ok := s.installPerms[installationID]; ok {
		return copyMap(p)
	}
	return copyMap(DefaultPermissions)
}

// issueToken creates an installation token. Called with s.mu held.
func (s *Server) issueToken(installationID int64, perms map[string]string, repos map[string]bool) *issued {
	s.tokensIssued++
	buf := make([]byte, 18)
	_, _ = rand.Read(buf)
	value := "ghs_" + strings.NewReplacer("-", "A", "_", "B").Replace(base64.RawURLEncoding.EncodeToString(buf))
	tok := &token{installation: installationID, expires: time.Now().Add(tokenTTL).Truncate(time.Second), perms: perms, repos: repos}
	s.tokens[value] = tok
	return &issued{value: value, token: tok}
}

type issued struct {
	value string
	*token
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}
