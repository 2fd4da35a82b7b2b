package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/checkoff-app/checkoff/app/release"
)

var statusSpec = spec{
	name:    "status",
	summary: "explain a release pipeline's held or waiting approval (--pipeline NAME)",
	usage:   "checkoff status --pipeline NAME [--json]",
	about: `Explains, without answering anything, what the release gate sees for one pipeline: the
approval waiting (or none), its revision, what is deployed, every pull request between them with its
verdict and the items that hold it (and who may tick them), direct pushes, and the answer a
reconcile would give now. Exit status: 0 when it could tell, 1 when AWS or GitHub failed, 2 when
the pipeline is not configured or the configuration is incomplete.`,
	env: joinEnv(envCredentials, envStore, envReleases),
}

// runStatus is `checkoff status`.
func runStatus(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags(statusSpec)
	pipeline := fs.String("pipeline", "", "`name` of a pipeline in the release config (required)")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	pos, code, done := parse(fs, statusSpec, args, stdout, stderr)
	switch {
	case done:
		return code
	case *pipeline == "":
		return misuse(stderr, statusSpec, "--pipeline is required")
	case len(pos) > 0:
		return misuse(stderr, statusSpec, "unexpected argument %q", pos[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, ok := gateRuntime(ctx, statusSpec.name, *pipeline, slog.LevelWarn, io.Discard, stderr)
	if !ok {
		return exitUsage
	}
	defer rt.closeStore()
	st, err := rt.gate.Status(ctx, *pipeline)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff status: pipeline %s: %v\n", *pipeline, err)
		if strings.Contains(err.Error(), release.ErrUnknownPipeline.Error()) {
			return exitUsage
		}
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintf(stderr, "checkoff status: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	writeStatus(stdout, st)
	return exitOK
}

// writeStatus prints st for a person.
func writeStatus(w io.Writer, st release.Status) {
	if !st.Waiting {
		fmt.Fprintf(w, "%s: %s\n", st.Pipeline, st.Reason)
		return
	}
	deployed := "nothing (a first release)"
	if st.Deployed != "" {
		deployed = shortSHA(st.Deployed)
	}
	fmt.Fprintf(w, "%s: execution %s waits at its approval\n  revision  %s\n  deployed  %s\n  commits   %d\n",
		st.Pipeline, st.ExecutionID, shortSHA(st.Revision), deployed, st.Commits)
	if st.TooMany > 0 {
		fmt.Fprintf(w, "  %d commits: more than checkoff checks\n", st.TooMany)
	}
	for _, pr := range st.PRs {
		state := "checked off"
		if !pr.Complete {
			state = "HOLDS the release"
		}
		fmt.Fprintf(w, "  #%d (merged as %s): %s", pr.Number, shortSHA(pr.MergeSHA), state)
		if len(pr.Reviewers) > 0 {
			fmt.Fprintf(w, ", reviewed by %s", strings.Join(pr.Reviewers, ", "))
		}
		fmt.Fprintln(w)
		for _, h := range pr.Holding {
			fmt.Fprintf(w, "      - %s\n", plainText(h))
		}
	}
	for _, sha := range st.Direct {
		fmt.Fprintf(w, "  %s reached the branch without a pull request\n", shortSHA(sha))
	}
	fmt.Fprintf(w, "answer now: %s: %s\n", st.Answer, plainText(st.Reason))
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// plainText keeps text from PRs from driving the terminal: control
// characters become U+FFFD.
func plainText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, s)
}
