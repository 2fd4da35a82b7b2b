package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/app/secrets"
)

// envConfig is checkoff's environment, read once by loadConfig at start.
// Nothing below cmd reads a variable: packages get the values.
type envConfig struct {
	secrets         secrets.Sources
	releases        release.Source
	notifyTopic     string // CHECKOFF_NOTIFY_TOPIC_ARN: SNS topic for held and rejected releases
	table           string // CHECKOFF_TABLE: DynamoDB ledger table
	dataDir         string // CHECKOFF_DATA_DIR: "" is the mode's default
	githubAPI       string // GITHUB_API_URL: "" is api.github.com
	botLogin        string // CHECKOFF_BOT_LOGIN
	checklistConfig string // CHECKOFF_CONFIG: dry-run's checkoff.yml
	port            int    // PORT, for serve
	logJSON         bool   // CHECKOFF_LOG_FORMAT=json
	lambdaAPI       string // AWS_LAMBDA_RUNTIME_API: set, the binary is the Lambda function
}

// envVar documents one variable loadConfig reads; help lists them.
type envVar struct{ name, meaning string }

// envVars is every variable loadConfig reads (TestLoadConfigReadsOnlyDocumented
// keeps the two in step), in the order help prints them.
var envVars = []envVar{
	{"GITHUB_APP_ID", "the GitHub App's ID; without App credentials serve runs dry-run"},
	{"GITHUB_PRIVATE_KEY", "the App's private key (PEM; newlines may be written \\n)"},
	{"GITHUB_PRIVATE_KEY_FILE", "a file holding the App's private key, instead of GITHUB_PRIVATE_KEY"},
	{"GITHUB_PRIVATE_KEY_PARAMETER", "an SSM SecureString parameter holding the key (when neither of the above is set)"},
	{"GITHUB_WEBHOOK_SECRET", "the webhook secret (required with App credentials; dry-run: " + devSecret + ")"},
	{"GITHUB_WEBHOOK_SECRET_PARAMETER", "an SSM SecureString parameter holding the webhook secret"},
	{"GITHUB_API_URL", "REST API root (default https://api.github.com/; GHES: https://HOST/api/v3/)"},
	{"CHECKOFF_TABLE", "DynamoDB ledger table (required on Lambda; dry-run refuses it)"},
	{"CHECKOFF_DATA_DIR", "embedded store directory (default " + defaultDataDir + "/; dry-run: " + dryRunDataDir + "/)"},
	{"CHECKOFF_RELEASES", "the release config file: which branch feeds which pipeline"},
	{"CHECKOFF_RELEASES_PARAMETER", "an SSM parameter holding the release config, instead of a file"},
	{"CHECKOFF_NOTIFY_TOPIC_ARN", "an SNS topic told of each held or rejected release"},
	{"CHECKOFF_CONFIG", "dry-run: a checkoff.yml to use instead of the default checklists"},
	{"CHECKOFF_BOT_LOGIN", "the App's bot login (<slug>[bot]); derived from GET /app when unset"},
	{"CHECKOFF_LOG_FORMAT", "text (default) or json"},
	{"PORT", "serve's port on 127.0.0.1 when --addr is not given (default 3000)"},
	{"AWS_LAMBDA_RUNTIME_API", "set by Lambda: the binary runs as the Lambda function"},
}

// Variables by what reads them, for each command's help.
var (
	envCredentials = []string{"GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_FILE", "GITHUB_PRIVATE_KEY_PARAMETER", "GITHUB_API_URL"}
	envStore       = []string{"CHECKOFF_TABLE", "CHECKOFF_DATA_DIR"}
	envReleases    = []string{"CHECKOFF_RELEASES", "CHECKOFF_RELEASES_PARAMETER", "CHECKOFF_NOTIFY_TOPIC_ARN"}
	envWebhook     = []string{"GITHUB_WEBHOOK_SECRET", "GITHUB_WEBHOOK_SECRET_PARAMETER", "CHECKOFF_BOT_LOGIN"}
)

// joinEnv concatenates lists of variable names into a new slice.
func joinEnv(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// loadConfig reads the environment through getenv (os.Getenv in
// production). It checks what it can without I/O: malformed numbers,
// unknown values and half-set credentials are errors naming the variable.
func loadConfig(getenv func(string) string) (envConfig, error) {
	c := envConfig{
		secrets: secrets.Sources{
			PrivateKey:             getenv("GITHUB_PRIVATE_KEY"),
			PrivateKeyFile:         getenv("GITHUB_PRIVATE_KEY_FILE"),
			PrivateKeyParameter:    getenv("GITHUB_PRIVATE_KEY_PARAMETER"),
			WebhookSecret:          getenv("GITHUB_WEBHOOK_SECRET"),
			WebhookSecretParameter: getenv("GITHUB_WEBHOOK_SECRET_PARAMETER"),
		},
		releases:        release.Source{File: getenv(release.EnvReleasesFile), Parameter: getenv(release.EnvReleasesParameter)},
		notifyTopic:     getenv("CHECKOFF_NOTIFY_TOPIC_ARN"),
		table:           getenv("CHECKOFF_TABLE"),
		dataDir:         getenv("CHECKOFF_DATA_DIR"),
		githubAPI:       getenv("GITHUB_API_URL"),
		botLogin:        getenv("CHECKOFF_BOT_LOGIN"),
		checklistConfig: getenv("CHECKOFF_CONFIG"),
		lambdaAPI:       getenv("AWS_LAMBDA_RUNTIME_API"),
	}
	var err error
	if c.secrets.AppID, err = parseAppID(getenv("GITHUB_APP_ID")); err != nil {
		return envConfig{}, err
	}
	if c.port, err = parsePort(getenv("PORT")); err != nil {
		return envConfig{}, err
	}
	switch f := getenv("CHECKOFF_LOG_FORMAT"); f {
	case "", "text":
	case "json":
		c.logJSON = true
	default:
		return envConfig{}, fmt.Errorf("CHECKOFF_LOG_FORMAT %q: want text or json", f)
	}
	if err := c.check(); err != nil {
		return envConfig{}, err
	}
	return c, nil
}

// check refuses combinations that would otherwise be a silent guess.
func (c envConfig) check() error {
	s := c.secrets
	hasKey := s.PrivateKey != "" || s.PrivateKeyFile != "" || s.PrivateKeyParameter != ""
	switch {
	case s.PrivateKey != "" && s.PrivateKeyFile != "":
		return fmt.Errorf("set only one of GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_FILE")
	case s.AppID != 0 && !hasKey:
		return fmt.Errorf("GITHUB_APP_ID is set but no private key is (GITHUB_PRIVATE_KEY, GITHUB_PRIVATE_KEY_FILE or GITHUB_PRIVATE_KEY_PARAMETER)")
	case s.AppID == 0 && hasKey:
		return fmt.Errorf("a private key is set but GITHUB_APP_ID is not")
	case c.releases.File != "" && c.releases.Parameter != "":
		return fmt.Errorf("set %s or %s, not both", release.EnvReleasesFile, release.EnvReleasesParameter)
	}
	if c.notifyTopic != "" {
		if _, err := release.TopicRegion(c.notifyTopic); err != nil {
			return err
		}
	}
	if c.githubAPI != "" {
		if u, err := url.Parse(c.githubAPI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("GITHUB_API_URL %q: want an http(s) URL such as https://HOST/api/v3/", c.githubAPI)
		}
	}
	return nil
}

func parseAppID(v string) (int64, error) {
	if v = strings.TrimSpace(v); v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("GITHUB_APP_ID %q: want a positive integer", v)
	}
	return id, nil
}

func parsePort(v string) (int, error) {
	if v == "" {
		return 3000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("PORT %q: want a port number, 0 to 65535", v)
	}
	return n, nil
}
