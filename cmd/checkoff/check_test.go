package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	goldenfile "github.com/checkoff-app/checkoff/internal/golden"
)

// TestCheck runs `checkoff check` in-process from testdata/check (so that
// file names in messages read as users see them) and compares exit code,
// stdout and stderr with testdata/check/<case>.golden.
func TestCheck(t *testing.T) {
	incomplete, err := os.ReadFile("testdata/check/incomplete.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args  []string
		stdin string
		code  int
	}{
		"complete":                 {args: []string{"complete.md"}, code: exitOK},
		"complete_json":            {args: []string{"--json", "complete.md"}, code: exitOK},
		"incomplete_stdin":         {stdin: string(incomplete), code: exitFail},
		"incomplete_dash":          {args: []string{"-"}, stdin: string(incomplete), code: exitFail},
		"incomplete_json":          {args: []string{"--json", "incomplete.md"}, code: exitFail},
		"flags_after_file":         {args: []string{"incomplete.md", "--json", "--config", "author_only.yml"}, code: exitFail},
		"double_dash":              {args: []string{"--json", "--", "complete.md"}, code: exitOK},
		"missing":                  {args: []string{"missing.md"}, code: exitFail},
		"missing_json":             {args: []string{"-json", "missing.md"}, code: exitFail},
		"custom_config":            {args: []string{"--config", "release.yml", "release.md"}, code: exitFail},
		"custom_config_json":       {args: []string{"--config=release.yml", "--json", "release.md"}, code: exitFail},
		"empty_body":               {stdin: "", code: exitFail},
		"config_error":             {args: []string{"--config", "checkoff.yml", "complete.md"}, code: exitUsage},
		"config_not_found":         {args: []string{"--config", "nope.yml", "complete.md"}, code: exitUsage},
		"config_from_stdin":        {args: []string{"--config", "-", "complete.md"}, stdin: "incomplete_conclusion: neutral\n", code: exitOK},
		"config_and_body_stdin":    {args: []string{"--config", "-"}, code: exitUsage},
		"body_not_found":           {args: []string{"nope.md"}, code: exitUsage},
		"two_files":                {args: []string{"complete.md", "missing.md"}, code: exitUsage},
		"unknown_flag":             {args: []string{"--jsn", "complete.md"}, code: exitUsage},
		"help":                     {args: []string{"-h"}, code: exitOK},
		"template_ok":              {args: []string{"--template", "template_ok.md"}, code: exitOK},
		"template_bad":             {args: []string{"--template", "template_bad.md"}, code: exitFail},
		"template_with_config":     {args: []string{"--config", "release.yml", "--template", "template_ok.md"}, code: exitFail},
		"template_with_json":       {args: []string{"--json", "--template", "template_ok.md"}, code: exitUsage},
		"template_and_body":        {args: []string{"--template", "template_ok.md", "complete.md"}, code: exitUsage},
		"template_config_error":    {args: []string{"--config", "checkoff.yml", "--template", "template_ok.md"}, code: exitUsage},
		"template_not_found":       {args: []string{"--template", "nope.md"}, code: exitUsage},
		"template_from_stdin_body": {args: []string{"--template", "-"}, stdin: string(incomplete), code: exitFail},
		"body_scope":               {args: []string{"--config", "body.yml", "body.md"}, code: exitFail},
		"body_scope_json":          {args: []string{"--config", "body.yml", "--json", "body.md"}, code: exitFail},
		"body_no_tasks":            {args: []string{"--config", "body.yml", "no_tasks.md"}, code: exitOK},
		"body_no_tasks_json":       {args: []string{"--config", "body.yml", "--json", "no_tasks.md"}, code: exitOK},
		"body_template":            {args: []string{"--config", "body.yml", "--template", "body_template.md"}, code: exitOK},
		"body_template_ticked":     {args: []string{"--config", "body.yml", "--template", "body.md"}, code: exitFail},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Chdir("testdata/check")
			var stdout, stderr bytes.Buffer
			code := runCheck(tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, &stdout, &stderr)
			}
			got := fmt.Sprintf("$ checkoff check %s\nexit %d\n--- stdout\n%s--- stderr\n%s",
				strings.Join(tc.args, " "), code, &stdout, &stderr)
			compareGolden(t, name+".golden", []byte(got))
		})
	}
}

// compareGolden compares got with the golden file, or rewrites it with -update.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	goldenfile.Check(t, path, got)
}

// TestCheckJSONShape pins the documented --json shape: exactly these keys,
// these types, [] rather than null, and ticked/total counting non-optional
// boxes.
// TestCheckTerminal: with stdin a terminal, check never waits in silence:
// a config alone is validated and printed, and a missing body is a usage
// error that says what to give.
func TestCheckTerminal(t *testing.T) {
	was := isTerminal
	isTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { isTerminal = was })
	for name, tc := range map[string]struct {
		args []string
		code int
	}{
		"config_alone":       {[]string{"--config", "author_only.yml"}, exitOK},
		"config_alone_error": {[]string{"--config", "checkoff.yml"}, exitUsage},
		"no_body_terminal":   {nil, exitUsage},
	} {
		t.Run(name, func(t *testing.T) {
			t.Chdir("testdata/check")
			var stdout, stderr bytes.Buffer
			code := runCheck(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, &stderr)
			}
			got := fmt.Sprintf("$ checkoff check %s (stdin a terminal)\nexit %d\n--- stdout\n%s--- stderr\n%s",
				strings.Join(tc.args, " "), code, &stdout, &stderr)
			compareGolden(t, name+".golden", []byte(got))
		})
	}
}

func TestCheckJSONShape(t *testing.T) {
	body := "## Author Checklist\n" +
		"- [x] Do the changes implement the correct feature?\n" +
		"- [x] Did you implement and update your Unit Tests?\n" +
		"- [x] Does a build from the Cmd Line Pass?\n" +
		"- [ ] N/A: Updated the docs\n" +
		"\n\n\n" +
		"- [ ] Has the author tested changes?\n"
	var stdout, stderr bytes.Buffer
	code := runCheck([]string{"--json"}, strings.NewReader(body), &stdout, &stderr)
	if code != exitFail || stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, &stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, &stdout)
	}
	want := map[string]any{
		"complete": false, "attribution": false,
		"checklists": []any{
			map[string]any{
				"name": "Author Checklist", "scope": "section", "status": "incomplete", "ticked": 3.0, "total": 4.0,
				"items": []any{
					map[string]any{"text": "Do the changes implement the correct feature?", "checked": true, "optional": false, "line": 2.0},
					map[string]any{"text": "Did you implement and update your Unit Tests?", "checked": true, "optional": false, "line": 3.0},
					map[string]any{"text": "Does a build from the Cmd Line Pass?", "checked": true, "optional": false, "line": 4.0},
					map[string]any{"text": "N/A: Updated the docs", "checked": false, "optional": true, "line": 5.0},
					map[string]any{"text": "Has the author tested changes?", "checked": false, "optional": false, "line": 9.0},
				},
				"missing_items": []any{},
			},
			map[string]any{
				"name": "Reviewer Checklist", "scope": "section", "status": "missing", "ticked": 0.0, "total": 0.0,
				"reason": `the body has no section headed "Reviewer Checklist"`, "items": []any{}, "missing_items": []any{},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant the shape\n%#v", &stdout, want)
	}
}

// TestRunDispatchesCheck: the top-level command table reaches check.
func TestRunDispatchesCheck(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "testdata/check/complete.md"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Errorf("exit %d, stderr %s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), "Author Checklist    complete    4/4") {
		t.Errorf("stdout %q", &stdout)
	}
}
