package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
)

// command is one subcommand: it gets its arguments (without the name) and
// the process's standard streams, and returns the exit code.
type command func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// spec is what help says of a subcommand.
type spec struct {
	name    string
	summary string   // one line, for `checkoff help`
	usage   string   // the usage lines, without "usage: "
	about   string   // a paragraph or two; may be empty
	env     []string // the variables it reads (names from envVars)
}

// entry is a subcommand and its help.
type entry struct {
	spec
	run command
}

// commandTable lists every subcommand in help's order. It is a function,
// not a variable, because the commands' own help refers to the table.
func commandTable() []entry {
	return []entry{
		{checkSpec, withForeignHelp(checkSpec, runCheck)},
		{serveSpec, runServe},
		{sendSpec, runSend},
		{gateSpec, runGate},
		{statusSpec, runStatus},
		{redeliverSpec, runRedeliver},
		{auditSpec, withForeignHelp(auditSpec, func(args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return runAudit(args, stdout, stderr, os.Getenv)
		})},
		{versionSpec, runVersion},
	}
}

func lookup(name string) (entry, bool) {
	for _, e := range commandTable() {
		if e.name == name {
			return e, true
		}
	}
	return entry{}, false
}

// usage prints the top-level help.
func usage(w io.Writer) {
	fmt.Fprint(w, "usage: checkoff <command> [flags] [arguments]\n\n"+
		"checkoff posts one required check run per pull-request checklist, records who\n"+
		"ticked each box, and approves a CodePipeline release once every merge in it is\n"+
		"checked off. With AWS_LAMBDA_RUNTIME_API set, this binary is the Lambda function.\n\ncommands:\n")
	for _, e := range commandTable() {
		fmt.Fprintf(w, "  %-10s %s\n", e.name, e.summary)
	}
	fmt.Fprint(w, "\nRun `checkoff <command> --help` (or `checkoff help <command>`) for its flags\n"+
		"and the environment variables it reads.\n")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// newFlags returns a flag set for s that prints nothing by itself: parse
// prints errors and help where they belong.
func newFlags(s spec) *flag.FlagSet {
	fs := flag.NewFlagSet(s.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args, flags accepted before and after the positional
// arguments ("--" ends the flags). On -h or --help it prints s's help to
// stdout and returns done with exitOK; on a bad flag it says why on stderr
// and returns done with exitUsage.
func parse(fs *flag.FlagSet, s spec, args []string, stdout, stderr io.Writer) (positional []string, code int, done bool) {
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			printHelp(stdout, s, fs)
			return nil, exitOK, true
		case err != nil:
			fmt.Fprintf(stderr, "checkoff %s: %v\nusage: %s\nRun `checkoff %s --help` for more.\n", s.name, err, firstUsageLine(s.usage), s.name)
			return nil, exitUsage, true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, exitOK, false
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), exitOK, false
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// misuse says what is wrong with the command line, with the usage.
func misuse(stderr io.Writer, s spec, format string, a ...any) int {
	fmt.Fprintf(stderr, "checkoff %s: %s\nusage: %s\n", s.name, fmt.Sprintf(format, a...), firstUsageLine(s.usage))
	return exitUsage
}

// printHelp prints a subcommand's help: usage, what it does, its flags
// and the environment variables it reads.
func printHelp(w io.Writer, s spec, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s\n", strings.ReplaceAll(s.usage, "\n", "\n       "))
	if s.about != "" {
		fmt.Fprintf(w, "\n%s\n", s.about)
	}
	if fs != nil {
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(w, "\nflags:\n")
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}
	printEnv(w, s.env)
}

func printEnv(w io.Writer, names []string) {
	if len(names) == 0 {
		fmt.Fprint(w, "\nenvironment: none\n")
		return
	}
	fmt.Fprint(w, "\nenvironment:\n")
	for _, v := range envVars {
		if slices.Contains(names, v.name) {
			fmt.Fprintf(w, "  %s\n    \t%s\n", v.name, v.meaning)
		}
	}
	if slices.Contains(names, "CHECKOFF_TABLE") {
		fmt.Fprint(w, "  AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_*, ...\n    \tthe AWS SDK's own, when an AWS service is used\n")
	}
}

// withForeignHelp gives a subcommand whose flags are parsed elsewhere the
// same help: on -h or --help, its usage goes to stdout, followed by the
// environment it reads, and the exit code is 0.
func withForeignHelp(s spec, run command) command {
	return func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		for _, a := range args {
			if a == "--" {
				break
			}
			if isHelp(a) {
				run([]string{"-h"}, stdin, stdout, stdout)
				printEnv(stdout, s.env)
				return exitOK
			}
		}
		return run(args, stdin, stdout, stderr)
	}
}

func firstUsageLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// version and commit are set by the build (Makefile's LDFLAGS:
// -X main.version=... -X main.commit=...); empty, the module's build
// information says them.
var version, commit string

var versionSpec = spec{
	name: "version", summary: "print the version and commit of this binary",
	usage: "checkoff version",
	about: "Prints the version and the commit this binary was built from: those set at build time\n(-ldflags -X main.version=... -X main.commit=...), else Go's build information.",
}

func runVersion(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags(versionSpec)
	pos, code, done := parse(fs, versionSpec, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) > 0 {
		return misuse(stderr, versionSpec, "takes no arguments")
	}
	v, c := buildVersion(debug.ReadBuildInfo())
	fmt.Fprintf(stdout, "checkoff %s\ncommit %s\n", v, c)
	return exitOK
}

// buildVersion is the version and commit to print: the link-time values
// win; else the module version and the VCS revision Go stamped.
func buildVersion(info *debug.BuildInfo, ok bool) (string, string) {
	v, c := version, commit
	if ok && v == "" && info.Main.Version != "" {
		v = info.Main.Version
	}
	if ok && c == "" {
		var rev string
		var dirty bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" && dirty {
			rev += " (modified)"
		}
		c = rev
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}
