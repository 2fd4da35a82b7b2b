package webhook

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/pipelineevent"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

var _ lambda.Handler = (*Lambda)(nil)

// httpEvent loads a real-shaped payload format 2.0 request from testdata and
// fills in a signed GitHub delivery, the way API Gateway would pass it on.
func httpEvent(t *testing.T, file, event, id string, body []byte, secret string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(loadFixture(t, "lambda/"+file), &ev); err != nil {
		t.Fatal(err)
	}
	h := ev["headers"].(map[string]any)
	h["x-github-event"] = event
	h["x-github-delivery"] = id
	h["x-hub-signature-256"] = sign(secret, body)
	h["x-hub-signature"] = "sha1=" + mac(sha1.New, []byte(secret), body)
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

func TestLambdaHTTP(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")
	for name, tc := range map[string]struct {
		file   string
		base64 bool
	}{
		"API Gateway HTTP API v2, plain body": {file: "apigw-v2-webhook.json"},
		"Function URL, base64 body":           {file: "function-url-webhook.json", base64: true},
	} {
		t.Run(name, func(t *testing.T) {
			payload := httpEvent(t, tc.file, "pull_request", "d-lambda-1", pr, testSecret)
			if got := bytes.Contains(payload, []byte(`"isBase64Encoded":true`)); got != tc.base64 {
				t.Fatalf("fixture isBase64Encoded = %v, want %v", got, tc.base64)
			}
			if bytes.Contains(payload, []byte(`"cookies"`)) {
				t.Fatal("fixture should carry no cookies: GitHub sends none")
			}
			env := newEnv(nil)
			l := &Lambda{HTTP: env.d}
			out, err := l.Invoke(context.Background(), payload)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			var resp events.LambdaFunctionURLResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			if resp.StatusCode != http.StatusOK || resp.Body != "ok\n" || resp.IsBase64Encoded {
				t.Fatalf("response = %+v, want 200 ok", resp)
			}
			if ct := resp.Headers["Content-Type"]; ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if env.h.Calls != 1 || env.h.LastEvent != "pull_request" || env.h.LastDelivery != "d-lambda-1" {
				t.Errorf("handler calls=%d event=%q delivery=%q", env.h.Calls, env.h.LastEvent, env.h.LastDelivery)
			}
			if want := fixturePR(t, pr); env.h.LastPR == nil || env.h.LastPR.Number != want.Number {
				t.Errorf("handler got pull request %+v, want the payload's %+v", env.h.LastPR, want)
			}
			// The same JSON is a valid API Gateway v2 response.
			var v2 events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &v2); err != nil || v2.StatusCode != http.StatusOK {
				t.Errorf("as APIGatewayV2HTTPResponse: %+v, %v", v2, err)
			}
		})
	}
}

func TestLambdaHTTPRejections(t *testing.T) {
	pr := loadFixture(t, "pull_request.opened.json")
	for name, tc := range map[string]struct {
		payload func(t *testing.T) []byte
		status  int
	}{
		"wrong secret": {
			payload: func(t *testing.T) []byte {
				return httpEvent(t, "apigw-v2-webhook.json", "pull_request", "d-1", pr, "other-secret")
			},
			status: http.StatusUnauthorized,
		},
		"body altered after signing": {
			payload: func(t *testing.T) []byte {
				p := httpEvent(t, "apigw-v2-webhook.json", "pull_request", "d-1", pr, testSecret)
				return bytes.Replace(p, []byte(`opened`), []byte(`closed`), 1)
			},
			status: http.StatusUnauthorized,
		},
		"invalid base64 body": {
			payload: func(t *testing.T) []byte {
				var ev map[string]any
				json.Unmarshal(httpEvent(t, "function-url-webhook.json", "pull_request", "d-1", pr, testSecret), &ev)
				ev["body"] = "%%% not base64"
				p, _ := json.Marshal(ev)
				return p
			},
			status: http.StatusBadRequest,
		},
		"GET on the webhook path": {
			payload: func(t *testing.T) []byte {
				p := httpEvent(t, "function-url-webhook.json", "pull_request", "d-1", pr, testSecret)
				return bytes.Replace(p, []byte(`"method":"POST"`), []byte(`"method":"GET"`), 1)
			},
			status: http.StatusMethodNotAllowed,
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(nil)
			out, err := (&Lambda{HTTP: env.d}).Invoke(context.Background(), tc.payload(t))
			if err != nil {
				t.Fatalf("Invoke: %v (a rejected request is a response, not an error)", err)
			}
			var resp events.LambdaFunctionURLResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if env.h.Calls != 0 || env.dl.calls() != 0 {
				t.Errorf("handler calls %d, deliveries calls %d; want none", env.h.Calls, env.dl.calls())
			}
		})
	}
}

func TestLambdaHealthz(t *testing.T) {
	p := httpEvent(t, "apigw-v2-webhook.json", "ping", "d-1", nil, testSecret)
	p = bytes.Replace(p, []byte(`"method":"POST"`), []byte(`"method":"GET"`), 1)
	p = bytes.Replace(p, []byte(`"rawPath":"/webhook"`), []byte(`"rawPath":"/healthz"`), 1)
	out, err := (&Lambda{HTTP: newEnv(nil).d}).Invoke(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.LambdaFunctionURLResponse
	json.Unmarshal(out, &resp)
	if resp.StatusCode != http.StatusOK || resp.Body != "ok\n" {
		t.Errorf("healthz = %+v", resp)
	}
}

// actionEvent is ev with its action type set.
func actionEvent(ev pipelineevent.ActionEvent, category, owner, provider string) pipelineevent.ActionEvent {
	ev.Type.Category, ev.Type.Owner, ev.Type.Provider = category, owner, provider
	return ev
}

func TestLambdaPipelineAction(t *testing.T) {
	for file, want := range map[string]pipelineevent.ActionEvent{
		"codepipeline-approval-started.json": actionEvent(pipelineevent.ActionEvent{
			ID:                "6f1c9a0e-8b2d-4d3e-9f4a-1b2c3d4e5f60",
			Account:           "123456789012",
			Region:            "eu-west-1",
			Time:              time.Date(2025, 5, 24, 10, 15, 30, 0, time.UTC),
			Pipeline:          "invoice-log-api-dev",
			ExecutionID:       "3c8e4f2a-7b1d-4e6f-a9c0-5d2b8e1f4a73",
			Stage:             "ApproveChangeSet",
			Action:            "ChecklistApproval",
			ActionExecutionID: "b5d3e1f7-2a4c-4b6e-8d0f-9a1c3e5b7d92",
			State:             "STARTED",
		}, "Approval", "AWS", "Manual"),
		// Older events carry detail.version as a string and type.version as
		// a number; the current ones as 3.0 and "1". Both must decode.
		"codepipeline-action-legacy.json": actionEvent(pipelineevent.ActionEvent{
			ID:          "CWE-event-id",
			Account:     "123456789012",
			Region:      "us-east-1",
			Time:        time.Date(2017, 4, 22, 3, 31, 47, 0, time.UTC),
			Pipeline:    "myPipeline",
			ExecutionID: "01234567-0123-0123-0123-012345678901",
			Stage:       "Prod",
			Action:      "myAction",
			State:       "STARTED",
		}, "Deploy", "AWS", "CodeDeploy"),
	} {
		t.Run(file, func(t *testing.T) {
			var got []pipelineevent.ActionEvent
			var logger *slog.Logger
			l := &Lambda{
				PipelineAction: func(ctx context.Context, ev pipelineevent.ActionEvent) error {
					got = append(got, ev)
					logger = LoggerFrom(ctx)
					return nil
				},
				Schedule: func(context.Context) error { t.Error("Schedule called for a pipeline event"); return nil },
			}
			out, err := l.Invoke(context.Background(), loadFixture(t, "lambda/"+file))
			if err != nil || out != nil {
				t.Fatalf("Invoke = %s, %v", out, err)
			}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("callback got %+v\nwant %+v", got, want)
			}
			if logger == nil || logger == slog.Default() {
				t.Error("callback context carries no event logger")
			}
		})
	}
}

func TestLambdaPipelineActionErrors(t *testing.T) {
	sample := loadFixture(t, "lambda/codepipeline-approval-started.json")

	t.Run("callback error is returned", func(t *testing.T) {
		boom := errors.New("GetPipelineState: throttled")
		l := &Lambda{PipelineAction: func(context.Context, pipelineevent.ActionEvent) error { return boom }}
		_, err := l.Invoke(context.Background(), sample)
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want it to wrap %v", err, boom)
		}
	})

	t.Run("incomplete detail", func(t *testing.T) {
		calls := 0
		l := &Lambda{PipelineAction: func(context.Context, pipelineevent.ActionEvent) error { calls++; return nil }}
		p := bytes.Replace(sample, []byte(`"execution-id"`), []byte(`"execution-idx"`), 1)
		if _, err := l.Invoke(context.Background(), p); err == nil {
			t.Error("missing execution-id accepted")
		}
		if calls != 0 {
			t.Errorf("callback called %d times", calls)
		}
	})
}

func TestLambdaSchedule(t *testing.T) {
	sample := loadFixture(t, "lambda/scheduled-event.json")
	calls := 0
	l := &Lambda{
		Schedule:       func(context.Context) error { calls++; return nil },
		PipelineAction: func(context.Context, pipelineevent.ActionEvent) error { t.Error("PipelineAction called"); return nil },
	}
	if _, err := l.Invoke(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("Schedule called %d times, want 1", calls)
	}
	boom := errors.New("list deliveries: 503")
	l.Schedule = func(context.Context) error { return boom }
	if _, err := l.Invoke(context.Background(), sample); !errors.Is(err, boom) {
		t.Errorf("err = %v, want %v", err, boom)
	}
}

func TestLambdaUnsupported(t *testing.T) {
	all := &Lambda{
		HTTP:           newEnv(nil).d,
		PipelineAction: func(context.Context, pipelineevent.ActionEvent) error { return nil },
		Schedule:       func(context.Context) error { return nil },
	}
	for name, tc := range map[string]struct {
		l       *Lambda
		payload []byte
	}{
		"API Gateway REST (v1) request": {all, loadFixture(t, "lambda/apigw-v1-rest-request.json")},
		"CodePipeline stage event":      {all, loadFixture(t, "lambda/codepipeline-stage-started.json")},
		"custom EventBridge event":      {all, []byte(`{"version":"0","detail-type":"Deploy","source":"acme.ci","detail":{}}`)},
		"scheduled event from another source": {all,
			bytes.Replace(loadFixture(t, "lambda/scheduled-event.json"), []byte(`"aws.events"`), []byte(`"acme.cron"`), 1)},
		"empty object":                        {all, []byte(`{}`)},
		"pipeline event, no callback":         {&Lambda{}, loadFixture(t, "lambda/codepipeline-approval-started.json")},
		"scheduled event, no callback":        {&Lambda{}, loadFixture(t, "lambda/scheduled-event.json")},
		"HTTP request, no HTTP handler":       {&Lambda{}, loadFixture(t, "lambda/apigw-v2-webhook.json")},
		"payload format 1.0 style version":    {all, []byte(`{"version":"1.0","requestContext":{"http":{"method":"POST"}}}`)},
		"numeric version, no detail-type":     {all, []byte(`{"version":2}`)},
		"SQS-shaped batch (records, no type)": {all, []byte(`{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}`)},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := tc.l.Invoke(context.Background(), tc.payload)
			if !errors.Is(err, ErrUnsupportedEvent) {
				t.Errorf("err = %v, want ErrUnsupportedEvent", err)
			}
			if out != nil {
				t.Errorf("output = %s, want none", out)
			}
		})
	}

	if _, err := all.Invoke(context.Background(), []byte(`not json`)); err == nil {
		t.Error("non-JSON payload accepted")
	}
}
