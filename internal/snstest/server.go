package snstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/checkoff-app/checkoff/internal/sigv4test"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// The credentials, region and account the fake expects.
const (
	Region          = "eu-west-1"
	Account         = "123456789012"
	AccessKeyID     = "AKIDCHECKOFFSNSTEST"
	SecretAccessKey = "checkoff-snstest-secret"
)

// SNS's limits on Publish (API reference, Publish).
const (
	MaxMessageBytes = 256 * 1024 // the whole message, UTF-8
	MaxSubjectChars = 99         // "must be less than 100 characters long"
)

// Fault is an error the fake answers with instead of handling a call.
type Fault struct {
	Status  int
	Code    string
	Message string
}

// Faults SNS answers; the SDK retries the first two.
var (
	Throttled          = Fault{http.StatusBadRequest, "Throttling", "Rate exceeded"}
	Internal           = Fault{http.StatusInternalServerError, "InternalError", "Internal error"}
	AuthorizationError = Fault{http.StatusForbidden, "AuthorizationError", "User is not authorized to perform: SNS:Publish"}
)

// Message is one Publish the fake accepted.
type Message struct {
	TopicARN string
	Subject  string
	Message  string
	ID       string
}

// Server is a fake SNS endpoint. Every request is checked against the
// Publish API; anything SNS would reject fails the test.
type Server struct {
	// URL is the endpoint to use as BaseEndpoint.
	URL string

	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	topics   map[string]bool
	faults   []Fault
	messages []Message
	calls    int
}

// New starts a fake SNS; it is closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{t: t, topics: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns a real *sns.Client for the fake: static credentials, the
// fake's region and URL, and the standard retryer with millisecond backoff.
func (s *Server) Client() *sns.Client {
	return sns.New(sns.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.srv.Client(),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		Retryer:      sigv4test.Retryer(),
	})
}

// AddTopic creates a standard topic and returns its ARN.
func (s *Server) AddTopic(name string) string {
	arn := "arn:aws:sns:" + Region + ":" + Account + ":" + name
	s.mu.Lock()
	defer s.mu.Unlock()
	s.topics[arn] = true
	return arn
}

// Fail makes the next calls answer faults, in order.
func (s *Server) Fail(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// Messages returns the messages the fake accepted, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Calls counts the requests the fake received that passed its checks.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("snstest: read body: %v", err)
		return
	}
	form, problems := checkRequest(r, body)
	if len(problems) > 0 {
		s.t.Errorf("snstest: request SNS would reject:\n  %s\n  body: %s", strings.Join(problems, "\n  "), body)
		writeError(w, Fault{http.StatusBadRequest, "InvalidParameter", strings.Join(problems, "; ")})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		writeError(w, f)
		return
	}
	topic := form.Get("TopicArn")
	if !s.topics[topic] {
		writeError(w, Fault{http.StatusNotFound, "NotFound", "Topic does not exist"})
		return
	}
	m := Message{TopicARN: topic, Subject: form.Get("Subject"), Message: form.Get("Message"), ID: uuid()}
	s.messages = append(s.messages, m)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", uuid())
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>%s</MessageId></PublishResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></PublishResponse>`,
		m.ID, uuid())
}

func writeError(w http.ResponseWriter, f Fault) {
	typ := "Sender"
	if f.Status >= 500 {
		typ = "Receiver"
	}
	var msg bytes.Buffer
	xml.EscapeText(&msg, []byte(f.Message))
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", uuid())
	w.WriteHeader(f.Status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		typ, f.Code, msg.String(), uuid())
}

// publishParams are the parameters of Publish (besides Action and
// Version); MessageAttributes.entry.N.* are checked apart.
var publishParams = map[string]bool{
	"TopicArn": true, "TargetArn": true, "PhoneNumber": true, "Message": true, "Subject": true,
	"MessageStructure": true, "MessageDeduplicationId": true, "MessageGroupId": true,
}

var (
	attrParam = regexp.MustCompile(`^MessageAttributes\.entry\.\d+\.(Name|Value\.(DataType|StringValue|BinaryValue))$`)
	topicARN  = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$`)
)

// checkRequest returns the decoded form and why SNS would reject the
// request: transport, signature and Publish's parameters.
func checkRequest(r *http.Request, body []byte) (url.Values, []string) {
	var problems []string
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		problems = append(problems, fmt.Sprintf("want POST /, got %s %s", r.Method, r.URL.Path))
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-www-form-urlencoded" {
		problems = append(problems, fmt.Sprintf("Content-Type %q, want application/x-www-form-urlencoded", r.Header.Get("Content-Type")))
	}
	problems = append(problems, sigv4test.Check(r, body, sigv4test.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey, Region: Region, Service: "sns"})...)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return form, append(problems, "body is not form-encoded: "+err.Error())
	}
	if len(r.URL.RawQuery) > 0 {
		problems = append(problems, "parameters in the query string: the SDK sends them in the body")
	}
	if a := form.Get("Action"); a != "Publish" {
		problems = append(problems, fmt.Sprintf("Action %q: the fake serves Publish only", a))
	}
	if v := form.Get("Version"); v != "2010-03-31" {
		problems = append(problems, fmt.Sprintf("Version %q, want 2010-03-31", v))
	}
	var keys []string
	for k, vs := range form {
		keys = append(keys, k)
		if len(vs) != 1 {
			problems = append(problems, fmt.Sprintf("parameter %s given %d times", k, len(vs)))
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "Action" && k != "Version" && !publishParams[k] && !attrParam.MatchString(k) {
			problems = append(problems, fmt.Sprintf("unknown parameter %s", k))
		}
	}
	targets := 0
	for _, k := range []string{"TopicArn", "TargetArn", "PhoneNumber"} {
		if form.Has(k) {
			targets++
		}
	}
	if targets != 1 {
		problems = append(problems, fmt.Sprintf("%d of TopicArn, TargetArn, PhoneNumber given, want exactly one", targets))
	}
	if form.Has("TopicArn") && !topicARN.MatchString(form.Get("TopicArn")) {
		problems = append(problems, fmt.Sprintf("TopicArn %q is not a standard topic's ARN", form.Get("TopicArn")))
	}
	if form.Has("MessageGroupId") || form.Has("MessageDeduplicationId") {
		problems = append(problems, "MessageGroupId/MessageDeduplicationId are for FIFO topics only")
	}
	msg := form.Get("Message")
	switch {
	case msg == "":
		problems = append(problems, "Message is required and must not be empty")
	case !utf8.ValidString(msg):
		problems = append(problems, "Message is not UTF-8")
	case len(msg) > MaxMessageBytes:
		problems = append(problems, fmt.Sprintf("Message is %d bytes, limit %d", len(msg), MaxMessageBytes))
	}
	if form.Has("Subject") {
		problems = append(problems, checkSubject(form.Get("Subject"))...)
	}
	return form, problems
}

// checkSubject applies SNS's rules for an email subject: non-empty, under
// 100 characters, no line breaks or control characters.
func checkSubject(s string) []string {
	var problems []string
	switch n := utf8.RuneCountInString(s); {
	case s == "":
		problems = append(problems, "Subject is empty")
	case n > MaxSubjectChars:
		problems = append(problems, fmt.Sprintf("Subject is %d characters, want fewer than 100", n))
	}
	if !utf8.ValidString(s) {
		problems = append(problems, "Subject is not UTF-8")
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			problems = append(problems, fmt.Sprintf("Subject holds control character %U", c))
			break
		}
	}
	return problems
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
