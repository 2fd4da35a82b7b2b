package cfntest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// CfnLintVersion is the cfn-lint `make test` runs: the version the machine
// image ships, and the one .ci/run installs when it is missing.
const CfnLintVersion = "1.51.0"

// CfnLintInstall is how to get CfnLintVersion.
const CfnLintInstall = "pip install cfn-lint==" + CfnLintVersion

// ErrNoCfnLint is returned by CfnLint when cfn-lint is not on PATH.
var ErrNoCfnLint = errors.New("cfn-lint not found on PATH; install it with `" + CfnLintInstall + "`")

// LintFinding is one finding of cfn-lint's JSON output.
type LintFinding struct {
	Level    string // Error, Warning or Informational
	Message  string
	Filename string
	Rule     struct {
		ID string `json:"Id"`
	}
	Location struct {
		Start struct{ LineNumber int }
		Path  []any
	}
}

func (f LintFinding) String() string {
	return fmt.Sprintf("%s %s:%d %s %s (at %v)", f.Rule.ID, f.Filename, f.Location.Start.LineNumber, f.Level, f.Message, f.Location.Path)
}

// CfnLint runs cfn-lint on templates from dir, where it reads the
// repository's .cfnlintrc.yaml, and returns its errors and warnings
// (informational findings are not asked for). cfn-lint's exit status says
// only which levels it found, so the JSON report is what is read: a run
// that produced none is an error.
func CfnLint(ctx context.Context, dir string, templates ...string) ([]LintFinding, error) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		return nil, ErrNoCfnLint
	}
	args := append([]string{"--format", "json", "--"}, templates...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var findings []LintFinding
	if err := json.Unmarshal(stdout.Bytes(), &findings); err != nil {
		return nil, fmt.Errorf("cfn-lint %s: no report (%v): %s%s", strings.Join(templates, " "), runErr, stdout.Bytes(), stderr.Bytes())
	}
	// Exit status 0 is clean; otherwise bits 2 (error), 4 (warning) and 8
	// (informational) say what was found, and anything else is a failure
	// of cfn-lint itself.
	var exit *exec.ExitError
	if runErr != nil && (!errors.As(runErr, &exit) || exit.ExitCode()&^(2|4|8) != 0) {
		return nil, fmt.Errorf("cfn-lint %s: %w: %s", strings.Join(templates, " "), runErr, stderr.Bytes())
	}
	return findings, nil
}

// CfnLintVersionOf returns the version the cfn-lint on PATH reports.
func CfnLintVersionOf(ctx context.Context) (string, error) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		return "", ErrNoCfnLint
	}
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("cfn-lint --version: %w", err)
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "cfn-lint "), nil
}
