// Command checkoff is the one binary of the checkoff GitHub App: a CLI
// (check, send, gate, redeliver, audit, version), a local server (serve),
// and, when AWS_LAMBDA_RUNTIME_API is set, the Lambda function. It only
// wires packages together: the environment is read once, into config, and
// everything below takes values.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes shared by the subcommands.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and its answer is "no" (e.g. a checklist incomplete)
	exitUsage = 2 // usage or configuration error
)

func main() {
	// The same binary is the Lambda function's bootstrap.
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		os.Exit(runLambda())
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch name := args[0]; {
	case isHelp(name):
		usage(stdout)
		return exitOK
	case name == "help":
		return runHelp(args[1:], stdin, stdout, stderr)
	case name == "--version" || name == "-version":
		return runVersion(args[1:], stdin, stdout, stderr)
	}
	e, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "checkoff: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return e.run(args[1:], stdin, stdout, stderr)
}

// runHelp is `checkoff help [COMMAND]`.
func runHelp(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		usage(stdout)
		return exitOK
	case 1:
		if e, ok := lookup(args[0]); ok {
			return e.run([]string{"--help"}, stdin, stdout, stderr)
		}
		fmt.Fprintf(stderr, "checkoff help: unknown command %q\n\n", args[0])
	}
	usage(stderr)
	return exitUsage
}

// The help of the subcommands whose flags their own files parse.
var (
	checkSpec = spec{
		name: "check", summary: "evaluate a PR body (or a PR template) offline",
		usage: "checkoff check [--config FILE] [--json] [FILE|-]\ncheckoff check [--config FILE] --template FILE",
	}
	auditSpec = spec{
		name: "audit", summary: "print a pull request's ledger history (who ticked what, when)",
		usage: "checkoff audit OWNER/REPO#N --repo-id ID [--json]",
		env:   envStore,
	}
)
