package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// testPEM is PEM-framed random bytes: Load checks the framing only (ghclient
// parses the key), and random content makes any leak easy to spot.
var testPEM = func() []byte {
	b := make([]byte, 900)
	rand.Read(b)
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: b})
}()

const webhookSecret = "wh-sekrit-Zq81"

// escaped is testPEM on one line with its newlines written as \n.
var escaped = strings.ReplaceAll(strings.TrimSpace(string(testPEM)), "\n", `\n`)

// leaks reports whether s holds the webhook secret or any piece of the key.
func leaks(s string) bool {
	if strings.Contains(s, webhookSecret) || strings.Contains(s, hex.EncodeToString([]byte(webhookSecret))) ||
		strings.Contains(s, strings.Trim(fmt.Sprint([]byte(webhookSecret)), "[]")) {
		return true
	}
	for _, line := range strings.Split(string(testPEM), "\n") {
		if strings.HasPrefix(line, "-----") {
			continue
		}
		for i := 0; i+16 <= len(line); i += 8 {
			if strings.Contains(s, line[i:i+16]) {
				return true
			}
		}
	}
	return false
}

// ssmParam is one parameter held by fakeSSM.
type ssmParam struct {
	Type  string // SecureString, String
	Value string
}

const arnPrefix = "arn:aws:ssm:eu-west-1:123456789012:parameter"

type getParametersCall struct {
	Names          []string
	WithDecryption *bool
}

// fakeSSM speaks the AWS JSON 1.1 protocol of SSM GetParameters and checks
// requests the way SSM would: signature header, target, body shape and
// limits (Names: 1 to 10 names of 1 to 2048 characters).
type fakeSSM struct {
	t        *testing.T
	Params   map[string]ssmParam
	ErrType  string // answer every call with this error
	ErrValue string

	mu    sync.Mutex
	calls []getParametersCall
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", typ)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		f.t.Errorf("SSM request %s %s, want POST /", r.Method, r.URL.Path)
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		f.t.Errorf("Content-Type %q, want application/x-amz-json-1.1", r.Header.Get("Content-Type"))
	case r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameters":
		f.t.Errorf("X-Amz-Target %q, want AmazonSSM.GetParameters", r.Header.Get("X-Amz-Target"))
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") ||
		!strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/ssm/aws4_request") ||
		r.Header.Get("X-Amz-Date") == "":
		f.t.Errorf("request not SigV4-signed for ssm in eu-west-1: %q", r.Header.Get("Authorization"))
	default:
		var in getParametersCall
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			f.t.Errorf("GetParameters body: %v", err)
			fail(400, "SerializationException", err.Error())
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, in)
		f.mu.Unlock()
		if len(in.Names) < 1 || len(in.Names) > 10 {
			f.t.Errorf("GetParameters with %d names, SSM wants 1 to 10", len(in.Names))
			fail(400, "ValidationException", "names")
			return
		}
		for _, n := range in.Names {
			if len(n) < 1 || len(n) > 2048 {
				f.t.Errorf("parameter name %q: SSM wants 1 to 2048 characters", n)
				fail(400, "ValidationException", "name length")
				return
			}
		}
		if f.ErrType != "" {
			fail(400, f.ErrType, f.ErrValue)
			return
		}
		f.answer(w, in)
		return
	}
	fail(400, "InvalidAction", "bad request")
}

func (f *fakeSSM) answer(w http.ResponseWriter, in getParametersCall) {
	type param struct {
		Name, Type, Value, ARN, DataType string
		Selector                         string `json:",omitempty"`
		Version                          int64
		LastModifiedDate                 float64
	}
	out := struct {
		Parameters        []param
		InvalidParameters []string
	}{Parameters: []param{}, InvalidParameters: []string{}}
	for _, n := range in.Names {
		name, sel := strings.TrimPrefix(n, arnPrefix), ""
		if i := strings.LastIndex(name, ":"); i > 0 {
			name, sel = name[:i], name[i:]
		}
		p, ok := f.Params[name]
		if !ok {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		v := p.Value
		if p.Type == "SecureString" && (in.WithDecryption == nil || !*in.WithDecryption) {
			v = "AQICAHhciphertext" + hex.EncodeToString([]byte(name)) // what SSM returns undecrypted
		}
		out.Parameters = append(out.Parameters, param{
			Name: name, Type: p.Type, Value: v, Selector: sel, Version: 1, DataType: "text",
			ARN:              arnPrefix + name,
			LastModifiedDate: float64(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).Unix()),
		})
	}
	slices.SortFunc(out.Parameters, func(a, b param) int { return strings.Compare(a.Name, b.Name) })
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func (f *fakeSSM) snapshot() []getParametersCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// newSSM starts f and returns a real SSM client pointed at it.
func newSSM(t *testing.T, f *fakeSSM) *ssm.Client {
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return ssm.New(ssm.Options{
		Region:           "eu-west-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret-key", ""),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func TestLoad(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, testPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "notpem.txt")
	if err := os.WriteFile(notPEM, []byte(webhookSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(testPEM))
	secure := func(v string) ssmParam { return ssmParam{Type: "SecureString", Value: v} }
	stored := map[string]ssmParam{
		"/checkoff/key":     secure(string(testPEM)),
		"/checkoff/escaped": secure(escaped),
		"/checkoff/webhook": secure(webhookSecret),
		"/checkoff/plain":   {Type: "String", Value: webhookSecret},
	}

	tests := map[string]struct {
		src       Sources
		noClient  bool   // pass a nil SSM client
		ssmErr    string // SSM answers with this error type
		want      Secrets
		wantErr   string
		wantNames [][]string // the Names of each GetParameters call
	}{
		"nothing set: dry-run": {},
		"literal key and secret": {
			src:  Sources{AppID: 123, PrivateKey: string(testPEM), WebhookSecret: webhookSecret},
			want: Secrets{AppID: 123, PrivateKey: []byte(key), WebhookSecret: []byte(webhookSecret)},
		},
		"escaped newlines": {
			src:  Sources{AppID: 123, PrivateKey: escaped},
			want: Secrets{AppID: 123, PrivateKey: []byte(key)},
		},
		"key file": {
			src:  Sources{AppID: 7, PrivateKeyFile: keyFile, WebhookSecret: webhookSecret},
			want: Secrets{AppID: 7, PrivateKey: []byte(key), WebhookSecret: []byte(webhookSecret)},
		},
		"webhook secret alone": {
			src:  Sources{WebhookSecret: webhookSecret},
			want: Secrets{WebhookSecret: []byte(webhookSecret)},
		},
		"key file missing": {
			src:     Sources{AppID: 7, PrivateKeyFile: "/nonexistent/app.pem"},
			wantErr: "private key file /nonexistent/app.pem: no such file or directory",
		},
		"key file not PEM": {
			src:     Sources{AppID: 7, PrivateKeyFile: notPEM},
			wantErr: "private key file " + notPEM + ": no PEM private key found",
		},
		"literal key not PEM": {
			src:     Sources{AppID: 7, PrivateKey: webhookSecret},
			wantErr: "the literal private key: no PEM private key found",
		},
		"PEM that is not a private key": {
			src:     Sources{AppID: 7, PrivateKey: strings.Replace(key, "RSA PRIVATE KEY", "CERTIFICATE", 2)},
			wantErr: "the literal private key: no PEM private key found",
		},
		"literal and file": {
			src:     Sources{AppID: 7, PrivateKey: key, PrivateKeyFile: keyFile},
			wantErr: "a private key is given both literally and as a file",
		},
		"app id without key": {
			src:     Sources{AppID: 7, WebhookSecret: webhookSecret},
			wantErr: "an App ID is set but no private key is",
		},
		"key without app id": {
			src:     Sources{PrivateKey: key},
			wantErr: "a private key is set (the literal private key) but no App ID is",
		},
		"negative app id": {
			src:     Sources{AppID: -3, PrivateKey: key},
			wantErr: "app ID -3: want a positive integer",
		},
		"both from SSM in one call": {
			src:       Sources{AppID: 9, PrivateKeyParameter: "/checkoff/key", WebhookSecretParameter: "/checkoff/webhook"},
			want:      Secrets{AppID: 9, PrivateKey: []byte(key), WebhookSecret: []byte(webhookSecret)},
			wantNames: [][]string{{"/checkoff/key", "/checkoff/webhook"}},
		},
		"SSM key with escaped newlines": {
			src:       Sources{AppID: 9, PrivateKeyParameter: "/checkoff/escaped"},
			want:      Secrets{AppID: 9, PrivateKey: []byte(key)},
			wantNames: [][]string{{"/checkoff/escaped"}},
		},
		"SSM by version and ARN": {
			src: Sources{AppID: 9, PrivateKeyParameter: "/checkoff/key:1",
				WebhookSecretParameter: arnPrefix + "/checkoff/webhook"},
			want:      Secrets{AppID: 9, PrivateKey: []byte(key), WebhookSecret: []byte(webhookSecret)},
			wantNames: [][]string{{"/checkoff/key:1", arnPrefix + "/checkoff/webhook"}},
		},
		"plain key wins over SSM": {
			src: Sources{AppID: 9, PrivateKey: escaped, PrivateKeyParameter: "/checkoff/missing",
				WebhookSecretParameter: "/checkoff/webhook"},
			want:      Secrets{AppID: 9, PrivateKey: []byte(key), WebhookSecret: []byte(webhookSecret)},
			wantNames: [][]string{{"/checkoff/webhook"}},
		},
		"key file wins over SSM": {
			src: Sources{AppID: 9, PrivateKeyFile: keyFile, PrivateKeyParameter: "/checkoff/missing",
				WebhookSecretParameter: "/checkoff/webhook"},
			want:      Secrets{AppID: 9, PrivateKey: []byte(key), WebhookSecret: []byte(webhookSecret)},
			wantNames: [][]string{{"/checkoff/webhook"}},
		},
		"plain values win: no SSM call": {
			src: Sources{AppID: 9, PrivateKey: key, PrivateKeyParameter: "/checkoff/missing",
				WebhookSecret: webhookSecret, WebhookSecretParameter: "/checkoff/missing"},
			want: Secrets{AppID: 9, PrivateKey: []byte(key), WebhookSecret: []byte(webhookSecret)},
		},
		"SSM parameter not found": {
			src:       Sources{AppID: 9, PrivateKeyParameter: "/checkoff/missing", WebhookSecretParameter: "/checkoff/webhook"},
			wantErr:   "SSM parameter /checkoff/missing not found",
			wantNames: [][]string{{"/checkoff/missing", "/checkoff/webhook"}},
		},
		"two SSM parameters not found": {
			src:       Sources{AppID: 9, PrivateKeyParameter: "/a/key", WebhookSecretParameter: "/a/webhook"},
			wantErr:   "SSM parameters /a/key, /a/webhook not found",
			wantNames: [][]string{{"/a/key", "/a/webhook"}},
		},
		"SSM String parameter refused": {
			src:       Sources{WebhookSecretParameter: "/checkoff/plain"},
			wantErr:   "SSM parameter /checkoff/plain is a String, want SecureString",
			wantNames: [][]string{{"/checkoff/plain"}},
		},
		"SSM access denied": {
			src:       Sources{AppID: 9, PrivateKeyParameter: "/checkoff/key"},
			ssmErr:    "AccessDeniedException",
			wantErr:   "get SSM parameters /checkoff/key: ",
			wantNames: [][]string{{"/checkoff/key"}},
		},
		"SSM named without a client": {
			src:      Sources{AppID: 9, PrivateKeyParameter: "/checkoff/key"},
			noClient: true,
			wantErr:  "SSM parameters /checkoff/key are named but no SSM client is configured",
		},
		"same parameter for key and secret": {
			src:     Sources{AppID: 9, PrivateKeyParameter: "/checkoff/key", WebhookSecretParameter: "/checkoff/key"},
			wantErr: "name the same SSM parameter /checkoff/key",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fake := &fakeSSM{Params: stored, ErrType: tc.ssmErr, ErrValue: "User: arn:aws:sts::123456789012:assumed-role/checkoff is not authorized to perform: ssm:GetParameters"}
			var api ssmAPI
			if !tc.noClient {
				api = newSSM(t, fake)
			}
			if got := tc.src.NeedsSSM(); got != (len(tc.wantNames) > 0 || tc.noClient || strings.Contains(tc.wantErr, "same SSM parameter")) {
				t.Errorf("NeedsSSM = %v", got)
			}
			got, err := tc.src.Load(context.Background(), api)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Load = %v, want error %q", got, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q, want it to contain %q", err, tc.wantErr)
				}
				if leaks(err.Error()) {
					t.Errorf("error %q quotes a secret", err)
				}
				if !reflectZero(got) {
					t.Errorf("Load returned %v with its error, want zero Secrets", got)
				}
			} else {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if got.AppID != tc.want.AppID || !bytes.Equal(got.PrivateKey, tc.want.PrivateKey) ||
					!bytes.Equal(got.WebhookSecret, tc.want.WebhookSecret) {
					t.Errorf("Load = {%d, %q, %q}, want {%d, %q, %q}", got.AppID, got.PrivateKey, got.WebhookSecret,
						tc.want.AppID, tc.want.PrivateKey, tc.want.WebhookSecret)
				}
				if got.HasApp() != (tc.want.AppID != 0) {
					t.Errorf("HasApp = %v", got.HasApp())
				}
			}
			calls := fake.snapshot()
			if len(calls) != len(tc.wantNames) {
				t.Fatalf("%d GetParameters calls %v, want %d", len(calls), calls, len(tc.wantNames))
			}
			for i, c := range calls {
				if !slices.Equal(c.Names, tc.wantNames[i]) {
					t.Errorf("call %d asked for %q, want %q", i, c.Names, tc.wantNames[i])
				}
				if c.WithDecryption == nil || !*c.WithDecryption {
					t.Errorf("call %d without WithDecryption: true", i)
				}
			}
		})
	}
}

func reflectZero(s Secrets) bool {
	return s.AppID == 0 && s.PrivateKey == nil && s.WebhookSecret == nil
}

func TestLoadFileErrorUnwraps(t *testing.T) {
	_, err := Sources{AppID: 1, PrivateKeyFile: "/nonexistent/app.pem"}.Load(context.Background(), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err %v, want one that is fs.ErrNotExist", err)
	}
}

func TestSecretsRedacted(t *testing.T) {
	s := Secrets{AppID: 31337, PrivateKey: testPEM, WebhookSecret: []byte(webhookSecret)}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, &s))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(s), fmt.Sprintf("%v", []Secrets{s}),
		fmt.Sprintf("%+v", struct{ S Secrets }{s}))
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		logger := slog.New(h(&buf))
		logger.Info("loaded", "secrets", s)
		logger.Info("loaded", slog.Any("secrets", &s))
		logger.Info("loaded", "wrapped", struct{ S Secrets }{s})
		outs = append(outs, buf.String())
	}
	j, err := json.Marshal(struct{ S Secrets }{s})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))

	for i, out := range outs {
		if leaks(out) {
			t.Errorf("output %d leaks a secret: %s", i, out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("output %d does not say the values are redacted: %s", i, out)
		}
	}
	if !strings.Contains(outs[0], "31337") {
		t.Errorf("%q: the App ID is not secret and should show", outs[0])
	}
	if got := (Secrets{}).String(); !strings.Contains(got, "PrivateKey: unset") {
		t.Errorf("empty Secrets print %q, want unset values", got)
	}
}

// TestSourcesRedacted: Sources hold the literal key and secret, so they
// print, log and format redacted too; the file and parameter names show.
func TestSourcesRedacted(t *testing.T) {
	src := Sources{AppID: 31337, PrivateKey: string(testPEM), WebhookSecret: webhookSecret,
		PrivateKeyFile: "/etc/checkoff/app.pem", WebhookSecretParameter: "/checkoff/webhook"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("sources", "src", src)
	for i, out := range []string{fmt.Sprint(src), fmt.Sprintf("%#v", src), fmt.Sprintf("%x", src), fmt.Sprintf("%+v", &src), buf.String()} {
		if leaks(out) {
			t.Errorf("output %d leaks a secret: %s", i, out)
		}
		if !strings.Contains(out, "/etc/checkoff/app.pem") || !strings.Contains(out, "/checkoff/webhook") {
			t.Errorf("output %d hides the non-secret sources: %s", i, out)
		}
	}
}
