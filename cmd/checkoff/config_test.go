package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/checkoff-app/checkoff/app/release"
	"github.com/checkoff-app/checkoff/app/secrets"
)

func TestLoadConfig(t *testing.T) {
	const key = "-----BEGIN RSA PRIVATE KEY-----\\nAAAA\\n-----END RSA PRIVATE KEY-----"
	tests := map[string]struct {
		env     map[string]string
		want    envConfig
		wantErr string
	}{
		"nothing set: dry-run defaults": {
			want: envConfig{port: 3000},
		},
		"everything": {
			env: map[string]string{
				"GITHUB_APP_ID": " 42 ", "GITHUB_PRIVATE_KEY_PARAMETER": "/checkoff/key",
				"GITHUB_WEBHOOK_SECRET_PARAMETER": "/checkoff/secret", "GITHUB_API_URL": "https://ghe.example/api/v3/",
				"CHECKOFF_TABLE": "ledger", "CHECKOFF_DATA_DIR": "/var/lib/checkoff",
				"CHECKOFF_RELEASES_PARAMETER": "/checkoff/releases",
				"CHECKOFF_NOTIFY_TOPIC_ARN":   "arn:aws:sns:eu-west-1:123456789012:releases",
				"CHECKOFF_CONFIG":             "checkoff.yml", "CHECKOFF_BOT_LOGIN": "checkoff[bot]",
				"CHECKOFF_LOG_FORMAT": "json", "PORT": "8080", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
			},
			want: envConfig{
				secrets:  secrets.Sources{AppID: 42, PrivateKeyParameter: "/checkoff/key", WebhookSecretParameter: "/checkoff/secret"},
				releases: release.Source{Parameter: "/checkoff/releases"}, notifyTopic: "arn:aws:sns:eu-west-1:123456789012:releases",
				table: "ledger", dataDir: "/var/lib/checkoff", githubAPI: "https://ghe.example/api/v3/", botLogin: "checkoff[bot]",
				checklistConfig: "checkoff.yml", port: 8080, logJSON: true, lambdaAPI: "127.0.0.1:9001",
			},
		},
		"literal key, file releases, text logs, port 0": {
			env: map[string]string{"GITHUB_APP_ID": "7", "GITHUB_PRIVATE_KEY": key, "GITHUB_WEBHOOK_SECRET": "s",
				"CHECKOFF_RELEASES": "releases.yml", "CHECKOFF_LOG_FORMAT": "text", "PORT": "0"},
			want: envConfig{secrets: secrets.Sources{AppID: 7, PrivateKey: key, WebhookSecret: "s"},
				releases: release.Source{File: "releases.yml"}},
		},
		"app id not a number":  {env: map[string]string{"GITHUB_APP_ID": "checkoff", "GITHUB_PRIVATE_KEY": key}, wantErr: `GITHUB_APP_ID "checkoff": want a positive integer`},
		"app id negative":      {env: map[string]string{"GITHUB_APP_ID": "-3", "GITHUB_PRIVATE_KEY": key}, wantErr: `GITHUB_APP_ID "-3": want a positive integer`},
		"app id without a key": {env: map[string]string{"GITHUB_APP_ID": "7"}, wantErr: "GITHUB_APP_ID is set but no private key is"},
		"key without app id":   {env: map[string]string{"GITHUB_PRIVATE_KEY_FILE": "app.pem"}, wantErr: "a private key is set but GITHUB_APP_ID is not"},
		"key literal and file": {env: map[string]string{"GITHUB_APP_ID": "7", "GITHUB_PRIVATE_KEY": key, "GITHUB_PRIVATE_KEY_FILE": "app.pem"}, wantErr: "set only one of GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_FILE"},
		"port not a number":    {env: map[string]string{"PORT": "http"}, wantErr: `PORT "http": want a port number`},
		"port too large":       {env: map[string]string{"PORT": "70000"}, wantErr: `PORT "70000"`},
		"unknown log format":   {env: map[string]string{"CHECKOFF_LOG_FORMAT": "JSON"}, wantErr: `CHECKOFF_LOG_FORMAT "JSON": want text or json`},
		"releases twice":       {env: map[string]string{"CHECKOFF_RELEASES": "r.yml", "CHECKOFF_RELEASES_PARAMETER": "/r"}, wantErr: "set CHECKOFF_RELEASES or CHECKOFF_RELEASES_PARAMETER, not both"},
		"topic not an ARN":     {env: map[string]string{"CHECKOFF_NOTIFY_TOPIC_ARN": "releases"}, wantErr: `CHECKOFF_NOTIFY_TOPIC_ARN "releases" is not the ARN`},
		"FIFO topic":           {env: map[string]string{"CHECKOFF_NOTIFY_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:r.fifo"}, wantErr: "not the ARN of a standard SNS topic"},
		"API URL without host": {env: map[string]string{"GITHUB_API_URL": "api.github.com"}, wantErr: `GITHUB_API_URL "api.github.com": want an http(s) URL`},
		"API URL other scheme": {env: map[string]string{"GITHUB_API_URL": "file:///etc/passwd"}, wantErr: "want an http(s) URL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadConfig: err %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "AAAA") {
					t.Errorf("error %q quotes the key", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("loadConfig:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestLoadConfigReadsOnlyDocumented: loadConfig reads exactly the variables
// help documents, and every command's help names only those.
func TestLoadConfigReadsOnlyDocumented(t *testing.T) {
	var read []string
	if _, err := loadConfig(func(k string) string { read = append(read, k); return "" }); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, v := range envVars {
		documented = append(documented, v.name)
	}
	slices.Sort(read)
	read = slices.Compact(read)
	want := slices.Sorted(slices.Values(documented))
	if !slices.Equal(read, want) {
		t.Errorf("loadConfig reads %v\nhelp documents %v", read, want)
	}
	for _, e := range commandTable() {
		for _, name := range e.env {
			if !slices.Contains(documented, name) {
				t.Errorf("%s's help lists %s, which envVars does not document", e.name, name)
			}
		}
	}
}
