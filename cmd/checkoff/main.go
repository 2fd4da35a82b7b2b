// Command checkoff is the one binary of the checkoff GitHub App: a CLI
// (check, send, gate, redeliver), a local server (serve), and, when
// AWS_LAMBDA_RUNTIME_API is set, the Lambda function. It only wires packages
// together.
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

// command is one subcommand: it gets its arguments (without the name) and
// the process's standard streams, and returns the exit code.
type command func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

var commands = map[string]command{
	"check":     runCheck,
	"serve":     runServe,
	"send":      runSend,
	"redeliver": runRedeliver,
	"gate":      runGate,
}

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
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "checkoff: unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return cmd(args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: checkoff <command> [flags]

commands:
  check      evaluate a PR body (or a PR template) offline
  serve      run the webhook server (dry-run without App credentials)
  send       sign a webhook payload file and post it to a server
  redeliver  redeliver the App's failed webhook deliveries
  gate       reconcile one release pipeline's approval (--pipeline NAME)
`)
}
