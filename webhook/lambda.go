package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/checkoff-app/checkoff/internal/pipelineevent"

	"github.com/aws/aws-lambda-go/events"
)

// EventBridge detail types and sources the Lambda adapter understands.
const (
	// DetailTypePipelineAction events (source aws.codepipeline) go to
	// Lambda.PipelineAction.
	DetailTypePipelineAction = "CodePipeline Action Execution State Change"
	// DetailTypeScheduled events (source aws.events, an EventBridge schedule
	// rule) go to Lambda.Schedule.
	DetailTypeScheduled = "Scheduled Event"

	sourceCodePipeline = "aws.codepipeline"
	sourceSchedule     = "aws.events"
)

// ErrUnsupportedEvent is returned by Lambda.Invoke for a payload that is
// neither an HTTP API v2 / Function URL request nor an EventBridge event it
// has a callback for.
var ErrUnsupportedEvent = errors.New("unsupported event")

// Lambda is the function's single entry point: it implements the
// aws-lambda-go lambda.Handler interface and routes each invocation by its
// shape. HTTP requests (API Gateway HTTP API payload v2 and Function URLs)
// run through HTTP, the same http.Handler `checkoff serve` uses;
// CodePipeline action events go to PipelineAction; EventBridge schedule
// events go to Schedule.
//
// The request path is rawPath as API Gateway passes it, so the HTTP API must
// use the $default stage (as Serverless `httpApi` does); a named stage would
// prefix the path and every request would be 404.
type Lambda struct {
	// HTTP serves webhook requests, normally a *Dispatcher.
	HTTP http.Handler
	// PipelineAction receives "CodePipeline Action Execution State Change"
	// events (the release gate). Every state and category is passed on;
	// filtering is the callee's business (and the EventBridge rule's).
	PipelineAction func(ctx context.Context, ev pipelineevent.ActionEvent) error
	// Schedule runs on an EventBridge "Scheduled Event" (the redelivery
	// sweeper).
	Schedule func(ctx context.Context) error
	// Logger is the base logger for EventBridge invocations; nil means
	// slog.Default(). Callbacks get it through LoggerFrom.
	Logger *slog.Logger
}

// invocation is any payload the function is invoked with, decoded once:
// an HTTP API v2 or Function URL request (the embedded request), or an
// EventBridge event (the fields after it). Version is read loosely, as
// EventBridge and other services send it as a string or a number.
type invocation struct {
	events.APIGatewayV2HTTPRequest
	Version any `json:"version"`

	DetailType *string         `json:"detail-type"`
	Source     string          `json:"source"`
	ID         string          `json:"id"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Detail     json.RawMessage `json:"detail"`
}

// Invoke handles one Lambda invocation. An HTTP request always yields an
// HTTP response (a rejected webhook is a 4xx response, not an error); an
// EventBridge event yields the callback's error, so Lambda's retry policy
// applies to it.
func (l *Lambda) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var inv invocation
	if err := json.Unmarshal(payload, &inv); err != nil {
		return nil, fmt.Errorf("decode lambda payload: %w", err)
	}
	switch {
	case inv.DetailType != nil:
		return nil, l.eventBridge(ctx, &inv)
	case inv.Version == "2.0" && inv.RequestContext.HTTP.Method != "":
		inv.APIGatewayV2HTTPRequest.Version = "2.0"
		return l.serveHTTP(ctx, &inv.APIGatewayV2HTTPRequest)
	}
	return nil, fmt.Errorf("%w: not an HTTP API v2, Function URL or EventBridge payload", ErrUnsupportedEvent)
}

func (l *Lambda) eventBridge(ctx context.Context, ev *invocation) error {
	base := l.Logger
	if base == nil {
		base = slog.Default()
	}
	log := base.With(slog.String("event_id", ev.ID), slog.String("detail_type", *ev.DetailType))
	ctx = context.WithValue(ctx, loggerKey{}, log)

	switch {
	case *ev.DetailType == DetailTypePipelineAction && ev.Source == sourceCodePipeline && l.PipelineAction != nil:
		pa, err := decodePipelineAction(ev)
		if err != nil {
			return err
		}
		log = log.With(slog.String("pipeline", pa.Pipeline), slog.String("execution", pa.ExecutionID),
			slog.String("stage", pa.Stage), slog.String("action", pa.Action), slog.String("state", pa.State))
		ctx = context.WithValue(ctx, loggerKey{}, log)
		if err := l.PipelineAction(ctx, pa); err != nil {
			return fmt.Errorf("pipeline %s execution %s: %w", pa.Pipeline, pa.ExecutionID, err)
		}
		return nil
	case *ev.DetailType == DetailTypeScheduled && ev.Source == sourceSchedule && l.Schedule != nil:
		if err := l.Schedule(ctx); err != nil {
			return fmt.Errorf("scheduled run: %w", err)
		}
		return nil
	}
	return fmt.Errorf("%w: detail-type %q from %q", ErrUnsupportedEvent, *ev.DetailType, ev.Source)
}

func decodePipelineAction(ev *invocation) (pipelineevent.ActionEvent, error) {
	var pa pipelineevent.ActionEvent
	if err := json.Unmarshal(ev.Detail, &pa); err != nil {
		return pipelineevent.ActionEvent{}, fmt.Errorf("decode CodePipeline event %s detail: %w", ev.ID, err)
	}
	if pa.Pipeline == "" || pa.ExecutionID == "" || pa.Stage == "" || pa.Action == "" || pa.State == "" {
		return pipelineevent.ActionEvent{}, fmt.Errorf("CodePipeline event %s: detail lacks pipeline, execution-id, stage, action or state", ev.ID)
	}
	pa.ID, pa.Account, pa.Region, pa.Time = ev.ID, ev.Account, ev.Region, ev.Time
	return pa, nil
}

// serveHTTP runs an HTTP API v2 / Function URL request through l.HTTP. Both
// share the payload format 2.0 request and response shapes, so one decoder
// serves both.
func (l *Lambda) serveHTTP(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if l.HTTP == nil {
		return nil, fmt.Errorf("%w: HTTP request but no HTTP handler configured", ErrUnsupportedEvent)
	}
	rw := &responseBuffer{header: make(http.Header)}
	req, err := newHTTPRequest(ctx, ev)
	if err != nil {
		// The client cannot have caused this (API Gateway builds the event),
		// but answer it as a bad request rather than fail the invocation.
		reply(rw, http.StatusBadRequest, http.StatusText(http.StatusBadRequest))
	} else {
		l.HTTP.ServeHTTP(rw, req)
	}
	out, err := json.Marshal(rw.response())
	if err != nil {
		return nil, fmt.Errorf("encode HTTP response: %w", err)
	}
	return out, nil
}

func newHTTPRequest(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("decode base64 body: %w", err)
		}
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("parse request path %q: %w", target, err)
	}
	req, err := http.NewRequestWithContext(ctx, ev.RequestContext.HTTP.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.RequestURI = target
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	// Payload format 2.0 lower-cases header names and joins repeated
	// headers with commas; Set canonicalises the names again.
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Del("Content-Length") // the body above is authoritative
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = ev.RequestContext.DomainName
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	return req, nil
}

// responseBuffer is a minimal http.ResponseWriter that keeps the response
// for the Lambda reply.
type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *responseBuffer) Header() http.Header { return b.header }

func (b *responseBuffer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *responseBuffer) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// response converts the buffered response to payload format 2.0. The
// Function URL type is the subset both Function URLs and HTTP APIs accept.
func (b *responseBuffer) response() events.LambdaFunctionURLResponse {
	resp := events.LambdaFunctionURLResponse{
		StatusCode: b.status,
		Headers:    make(map[string]string, len(b.header)),
	}
	if resp.StatusCode == 0 {
		resp.StatusCode = http.StatusOK
	}
	for k, vs := range b.header {
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if utf8.Valid(b.body.Bytes()) {
		resp.Body = b.body.String()
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(b.body.Bytes())
		resp.IsBase64Encoded = true
	}
	return resp
}
