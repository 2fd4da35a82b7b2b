package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// runCLI runs checkoff with args and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestHelp: --help, -h and help exit 0 and print the same help, on
// stdout, listing every subcommand.
func TestHelp(t *testing.T) {
	var first string
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errOut := runCLI(t, args...)
		if code != exitOK || errOut != "" {
			t.Fatalf("checkoff %v: exit %d, stderr %q", args, code, errOut)
		}
		if first == "" {
			first = out
			compareGolden(t, filepath.Join("testdata", "help", "checkoff.golden"), []byte(out))
		} else if out != first {
			t.Errorf("checkoff %v prints other help than --help:\n%s", args, out)
		}
	}
	for _, e := range commandTable() {
		if !strings.Contains(first, "\n  "+e.name+" ") {
			t.Errorf("help does not list %s", e.name)
		}
	}
	// Without a command it is a usage error, with the same help on stderr.
	if code, out, errOut := runCLI(t); code != exitUsage || out != "" || errOut != first {
		t.Errorf("checkoff: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestSubcommandHelp: every subcommand's --help, -h and `help CMD` exit 0
// and print, on stdout, its usage, its flags and the environment variables
// it reads. The help of serve, send, gate, redeliver and version is pinned
// by golden files; check and audit parse their own flags.
func TestSubcommandHelp(t *testing.T) {
	own := map[string]bool{"serve": true, "send": true, "gate": true, "redeliver": true, "version": true}
	for _, e := range commandTable() {
		t.Run(e.name, func(t *testing.T) {
			var first string
			for _, args := range [][]string{{e.name, "--help"}, {e.name, "-h"}, {"help", e.name}} {
				code, out, errOut := runCLI(t, args...)
				if code != exitOK || errOut != "" {
					t.Fatalf("checkoff %v: exit %d, stderr %q", args, code, errOut)
				}
				if first == "" {
					first = out
				} else if out != first {
					t.Errorf("checkoff %v differs from --help:\n%s", args, out)
				}
			}
			if !strings.HasPrefix(first, "usage: checkoff "+e.name) {
				t.Errorf("help does not start with the usage:\n%s", first)
			}
			for _, name := range e.env {
				if !strings.Contains(first, "\n  "+name+"\n") {
					t.Errorf("help does not list %s:\n%s", name, first)
				}
			}
			if len(e.env) == 0 && !strings.Contains(first, "\nenvironment: none\n") {
				t.Errorf("help does not say it reads no environment:\n%s", first)
			}
			if own[e.name] {
				compareGolden(t, filepath.Join("testdata", "help", e.name+".golden"), []byte(first))
			}
		})
	}
}

// TestUsageErrors: a mistake exits 2 with the reason and the way to help
// on stderr, nothing on stdout.
func TestUsageErrors(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"unknown command":    {[]string{"deploy"}, `checkoff: unknown command "deploy"`},
		"help of unknown":    {[]string{"help", "deploy"}, `checkoff help: unknown command "deploy"`},
		"unknown flag":       {[]string{"serve", "--bogus"}, "checkoff serve: flag provided but not defined: -bogus\nusage: checkoff serve [--addr ADDR]"},
		"bad duration":       {[]string{"serve", "--sweep-every", "often"}, `invalid value "often" for flag -sweep-every`},
		"negative interval":  {[]string{"serve", "--reconcile-every", "-1m"}, "--reconcile-every and --sweep-every must be 0 (off) or more"},
		"serve argument":     {[]string{"serve", "now"}, `checkoff serve: unexpected argument "now"`},
		"send one argument":  {[]string{"send", "pull_request"}, "checkoff send: want EVENT and FILE, got 1 arguments"},
		"gate without flag":  {[]string{"gate"}, "checkoff gate: --pipeline is required"},
		"gate argument":      {[]string{"gate", "x", "--pipeline", "p"}, `checkoff gate: unexpected argument "x"`},
		"redeliver argument": {[]string{"redeliver", "all"}, `checkoff redeliver: unexpected argument "all"`},
		"version argument":   {[]string{"version", "--short"}, "flag provided but not defined: -short"},
		"flag without value": {[]string{"send", "--delivery"}, "flag needs an argument: -delivery"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("checkoff %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
			}
		})
	}
}

// TestFlagsAfterArguments: send takes its flags before, between and after
// EVENT and FILE; after "--" everything is an argument.
func TestFlagsAfterArguments(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get("X-GitHub-Event")+" "+r.Header.Get("X-GitHub-Delivery")+" "+string(body))
		mu.Unlock()
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "ping.json")
	writeFile(t, file, `{"zen":"hi"}`)
	url := srv.URL + "/webhook"
	for i, args := range [][]string{
		{"send", "--url", url, "--delivery", "d-1", "ping", file},
		{"send", "ping", file, "--url", url, "--delivery", "d-2"},
		{"send", "--url", url, "ping", "--delivery=d-3", file},
		{"send", "--url", url, "--delivery", "d-4", "--", "ping", file},
	} {
		if code, out, errOut := runCLI(t, args...); code != exitOK {
			t.Fatalf("%d: checkoff %v: exit %d\n%s%s", i, args, code, out, errOut)
		}
	}
	want := []string{`ping d-1 {"zen":"hi"}`, `ping d-2 {"zen":"hi"}`, `ping d-3 {"zen":"hi"}`, `ping d-4 {"zen":"hi"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("server got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// After "--", a flag-like word is an argument: a third one here.
	if code, _, errOut := runCLI(t, "send", "--url", url, "--", "ping", file, "--delivery"); code != exitUsage || !strings.Contains(errOut, "got 3 arguments") {
		t.Errorf("send -- ... --delivery: exit %d, stderr %q", code, errOut)
	}
}

// TestVersion: version and --version print the link-time version and
// commit.
func TestVersion(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.4.0", "0123456789abcdef0123456789abcdef01234567"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(t, args...)
		if code != exitOK || errOut != "" {
			t.Fatalf("checkoff %v: exit %d, stderr %q", args, code, errOut)
		}
		compareGolden(t, filepath.Join("testdata", "help", "version-output.golden"), []byte(out))
	}
}

// TestBuildVersion: without link-time values, the module version and the
// VCS revision Go stamps into the binary are printed.
func TestBuildVersion(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	stamped := &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "feedface"}, {Key: "vcs.modified", Value: "false"}}}
	dirty := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "feedface"}, {Key: "vcs.modified", Value: "true"}}}
	tests := map[string]struct {
		version, commit string
		info            *debug.BuildInfo
		ok              bool
		want            string
	}{
		"ldflags win":            {version: "v2.0.0", commit: "abc", info: stamped, ok: true, want: "v2.0.0 abc"},
		"build info":             {info: stamped, ok: true, want: "v1.3.0 feedface"},
		"modified tree":          {info: dirty, ok: true, want: "(devel) feedface (modified)"},
		"ldflags version only":   {version: "v2.0.0", info: stamped, ok: true, want: "v2.0.0 feedface"},
		"no build info":          {want: "(devel) unknown"},
		"build info without vcs": {info: &debug.BuildInfo{}, ok: true, want: "(devel) unknown"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			version, commit = tc.version, tc.commit
			v, c := buildVersion(tc.info, tc.ok)
			if got := v + " " + c; got != tc.want {
				t.Errorf("buildVersion = %q, want %q", got, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
