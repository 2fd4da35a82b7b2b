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
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
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

// Sources say where the App's credentials come from: values, a key file
// and SSM parameter names, as the deployment configures them (cmd/checkoff
// reads them from the environment). The zero Sources is dry-run: no App.
type Sources struct {
	AppID int64
	// The private key: PrivateKey (a PEM, its newlines possibly escaped as
	// \n, as they must be in a .env file or many CI settings), else the
	// file PrivateKeyFile, else the SSM parameter PrivateKeyParameter.
	// Setting both PrivateKey and PrivateKeyFile is an error.
	PrivateKey          string
	PrivateKeyFile      string
	PrivateKeyParameter string
	// The webhook secret, used byte for byte: WebhookSecret, else the SSM
	// parameter WebhookSecretParameter.
	WebhookSecret          string
	WebhookSecretParameter string
}

// String names the sources without the literal values.
func (src Sources) String() string {
	return fmt.Sprintf("Sources{AppID: %d, PrivateKey: %s, PrivateKeyFile: %q, PrivateKeyParameter: %q, WebhookSecret: %s, WebhookSecretParameter: %q}",
		src.AppID, redact([]byte(src.PrivateKey)), src.PrivateKeyFile, src.PrivateKeyParameter,
		redact([]byte(src.WebhookSecret)), src.WebhookSecretParameter)
}

// GoString is String, so %#v redacts too.
func (src Sources) GoString() string { return src.String() }

// Format prints String for every verb, as Secrets does.
func (src Sources) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(src.String())) }

// LogValue makes slog log src redacted.
func (src Sources) LogValue() slog.Value { return slog.StringValue(src.String()) }

// NeedsSSM reports whether Load will call SSM: a parameter is named for a
// value not given directly.
func (src Sources) NeedsSSM() bool { return len(src.parameters()) > 0 }

// parameters are the SSM names Load fetches; the direct values win.
func (src Sources) parameters() []string {
	var names []string
	if src.PrivateKey == "" && src.PrivateKeyFile == "" && src.PrivateKeyParameter != "" {
		names = append(names, src.PrivateKeyParameter)
	}
	if src.WebhookSecret == "" && src.WebhookSecretParameter != "" {
		names = append(names, src.WebhookSecretParameter)
	}
	return names
}

// Load returns the credentials src names, fetching the SSM parameters in
// one GetParameters call with decryption. api may be nil when NeedsSSM is
// false; pass an *ssm.Client otherwise. An App ID without a private key,
// or a key without an App ID, is an error rather than a silent dry-run.
func (src Sources) Load(ctx context.Context, api ssmAPI) (Secrets, error) {
	s := Secrets{AppID: src.AppID, WebhookSecret: []byte(src.WebhookSecret)}
	if len(s.WebhookSecret) == 0 {
		s.WebhookSecret = nil
	}
	if src.AppID < 0 {
		return Secrets{}, fmt.Errorf("app ID %d: want a positive integer", src.AppID)
	}
	keySource, err := src.readKey(&s)
	if err != nil {
		return Secrets{}, err
	}
	if params := src.parameters(); len(params) > 0 {
		if err := src.fetch(ctx, api, params, &s, &keySource); err != nil {
			return Secrets{}, err
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
		return Secrets{}, errors.New("an App ID is set but no private key is")
	case s.AppID == 0 && len(s.PrivateKey) > 0:
		return Secrets{}, fmt.Errorf("a private key is set (%s) but no App ID is", keySource)
	}
	return s, nil
}

// readKey sets s.PrivateKey from the literal or the file, and returns
// where it came from, for messages.
func (src Sources) readKey(s *Secrets) (string, error) {
	switch {
	case src.PrivateKey != "" && src.PrivateKeyFile != "":
		return "", errors.New("a private key is given both literally and as a file: give one")
	case src.PrivateKey != "":
		s.PrivateKey = []byte(src.PrivateKey)
		return "the literal private key", nil
	case src.PrivateKeyFile != "":
		b, err := os.ReadFile(src.PrivateKeyFile)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is already in the message
			}
			return "", fmt.Errorf("private key file %s: %w", src.PrivateKeyFile, err)
		}
		s.PrivateKey = b
		return "private key file " + src.PrivateKeyFile, nil
	}
	return "", nil
}

// fetch fills what params name from SSM.
func (src Sources) fetch(ctx context.Context, api ssmAPI, params []string, s *Secrets, keySource *string) error {
	keyParam := ""
	if len(s.PrivateKey) == 0 {
		keyParam = src.PrivateKeyParameter
	}
	if len(params) == 2 && params[0] == params[1] {
		return fmt.Errorf("the private key and the webhook secret name the same SSM parameter %s", params[0])
	}
	if api == nil {
		return fmt.Errorf("SSM parameters %s are named but no SSM client is configured", strings.Join(params, ", "))
	}
	values, err := getParameters(ctx, api, params)
	if err != nil {
		return err
	}
	if keyParam != "" {
		*keySource, s.PrivateKey = "SSM parameter "+keyParam, values[keyParam]
	}
	if len(s.WebhookSecret) == 0 && src.WebhookSecretParameter != "" {
		s.WebhookSecret = values[src.WebhookSecretParameter]
	}
	return nil
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
