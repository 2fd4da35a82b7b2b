package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The environment variables Load reads.
const (
	envAppID           = "GITHUB_APP_ID"
	envKey             = "GITHUB_PRIVATE_KEY"
	envKeyFile         = "GITHUB_PRIVATE_KEY_FILE"
	envKeyParam        = "GITHUB_PRIVATE_KEY_PARAMETER"
	envWebhookSecret   = "GITHUB_WEBHOOK_SECRET"
	envWebhookSecParam = "GITHUB_WEBHOOK_SECRET_PARAMETER"
)

// ssmAPI is the part of SSM that Load calls.
type ssmAPI interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

var _ ssmAPI = (*ssm.Client)(nil)

// Secrets are the App's credentials. AppID is zero and PrivateKey empty
// when no App is configured (dry-run); WebhookSecret is empty when none is
// configured, and the caller decides whether it may run without one.
// Secrets prints, logs and marshals redacted.
type Secrets struct {
	AppID         int64
	PrivateKey    []byte // PEM
	WebhookSecret []byte
}

// HasApp reports whether App credentials are present.
func (s Secrets) HasApp() bool { return s.AppID != 0 && len(s.PrivateKey) > 0 }

func redact(b []byte) string {
	if len(b) == 0 {
		return "unset"
	}
	return "redacted"
}

// String describes s without its secret values.
func (s Secrets) String() string {
	return fmt.Sprintf("Secrets{AppID: %d, PrivateKey: %s, WebhookSecret: %s}",
		s.AppID, redact(s.PrivateKey), redact(s.WebhookSecret))
}

// GoString is String, so %#v redacts too.
func (s Secrets) GoString() string { return s.String() }

// Format prints String for every verb: without it %d or %x would print the
// secret bytes.
func (s Secrets) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue makes slog log s redacted.
func (s Secrets) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("app_id", s.AppID),
		slog.String("private_key", redact(s.PrivateKey)),
		slog.String("webhook_secret", redact(s.WebhookSecret)),
	)
}

// MarshalJSON marshals s redacted.
func (s Secrets) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"app_id":         s.AppID,
		"private_key":    redact(s.PrivateKey),
		"webhook_secret": redact(s.WebhookSecret),
	})
}

// Load reads the App's credentials from the environment (env is os.Getenv
// in production) and, for the values named by the *_PARAMETER variables
// and not set directly, from SSM Parameter Store in one GetParameters call
// with decryption. api may be nil when no parameter is named; pass an
// *ssm.Client otherwise.
//
// GITHUB_PRIVATE_KEY may hold the PEM with its newlines escaped as \n (as
// it must in a .env file or many CI settings). Setting only one of the App
// ID and the key, or both GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_FILE,
// is an error rather than a silent dry-run. The webhook secret is used
// byte for byte.
func Load(ctx context.Context, env func(string) string, api ssmAPI) (Secrets, error) {
	var s Secrets
	if v := env(envAppID); v != "" {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || id <= 0 {
			return Secrets{}, fmt.Errorf("%s %q: want a positive integer", envAppID, v)
		}
		s.AppID = id
	}

	var params []string // SSM names to fetch
	keySource, keyParam := "", ""
	switch lit, file := env(envKey), env(envKeyFile); {
	case lit != "" && file != "":
		return Secrets{}, fmt.Errorf("set only one of %s and %s", envKey, envKeyFile)
	case lit != "":
		keySource, s.PrivateKey = envKey, []byte(lit)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already in the message
			}
			return Secrets{}, fmt.Errorf("%s %s: %w", envKeyFile, file, err)
		}
		keySource, s.PrivateKey = envKeyFile+" "+file, b
	default:
		if keyParam = env(envKeyParam); keyParam != "" {
			params = append(params, keyParam)
		}
	}
	secretParam := ""
	if v := env(envWebhookSecret); v != "" {
		s.WebhookSecret = []byte(v)
	} else if secretParam = env(envWebhookSecParam); secretParam != "" {
		if secretParam == keyParam {
			return Secrets{}, fmt.Errorf("%s and %s name the same parameter %s", envKeyParam, envWebhookSecParam, keyParam)
		}
		params = append(params, secretParam)
	}

	if len(params) > 0 {
		if api == nil {
			return Secrets{}, fmt.Errorf("SSM parameters %s are named but no SSM client is configured", strings.Join(params, ", "))
		}
		values, err := getParameters(ctx, api, params)
		if err != nil {
			return Secrets{}, err
		}
		if keyParam != "" {
			keySource, s.PrivateKey = "SSM parameter "+keyParam, values[keyParam]
		}
		if secretParam != "" {
			s.WebhookSecret = values[secretParam]
		}
	}

	if len(s.PrivateKey) > 0 {
		s.PrivateKey = normalizePEM(s.PrivateKey)
		if block, _ := pem.Decode(s.PrivateKey); block == nil || !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return Secrets{}, fmt.Errorf("%s: no PEM private key found (want -----BEGIN RSA PRIVATE KEY-----)", keySource)
		}
	}
	switch {
	case s.AppID != 0 && len(s.PrivateKey) == 0:
		return Secrets{}, fmt.Errorf("%s is set but no private key is (%s, %s or %s)", envAppID, envKey, envKeyFile, envKeyParam)
	case s.AppID == 0 && len(s.PrivateKey) > 0:
		return Secrets{}, fmt.Errorf("a private key is set (%s) but %s is not", keySource, envAppID)
	}
	return s, nil
}

// normalizePEM undoes the \n escaping of a PEM put on one line.
func normalizePEM(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if !bytes.Contains(b, []byte("\n")) && bytes.Contains(b, []byte(`\n`)) {
		b = bytes.ReplaceAll(b, []byte(`\n`), []byte("\n"))
	}
	return b
}

// getParameters fetches SecureString parameters, keyed by the names asked
// for. A missing, plain-text or empty parameter is an error.
func getParameters(ctx context.Context, api ssmAPI, names []string) (map[string][]byte, error) {
	out, err := api.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get SSM parameters %s: %w", strings.Join(names, ", "), err)
	}
	switch len(out.InvalidParameters) {
	case 0:
	case 1:
		return nil, fmt.Errorf("SSM parameter %s not found", out.InvalidParameters[0])
	default:
		return nil, fmt.Errorf("SSM parameters %s not found", strings.Join(out.InvalidParameters, ", "))
	}
	values := map[string][]byte{}
	for _, name := range names {
		p, ok := findParameter(out.Parameters, name)
		switch {
		case !ok:
			return nil, fmt.Errorf("SSM parameter %s missing from the GetParameters response", name)
		case p.Type != types.ParameterTypeSecureString:
			// A secret in a String parameter is stored unencrypted.
			return nil, fmt.Errorf("SSM parameter %s is a %s, want SecureString", name, p.Type)
		case aws.ToString(p.Value) == "":
			return nil, fmt.Errorf("SSM parameter %s is empty", name)
		}
		values[name] = []byte(aws.ToString(p.Value))
	}
	return values, nil
}

// findParameter matches a requested name to a returned parameter. A
// request may name a parameter by name or ARN, with a :version or :label
// selector, which SSM returns apart.
func findParameter(ps []types.Parameter, want string) (types.Parameter, bool) {
	for _, p := range ps {
		name, arn, sel := aws.ToString(p.Name), aws.ToString(p.ARN), aws.ToString(p.Selector)
		if want == name || want == arn || want == name+sel || arn != "" && want == arn+sel {
			return p, true
		}
	}
	return types.Parameter{}, false
}
