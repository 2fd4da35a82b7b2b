package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/checkoff-app/checkoff/checklist"
)

// maxCheckInput bounds what check reads from a file or stdin. GitHub caps a
// body at 65,536 characters (at most 256 KiB); the margin allows templates
// and pasted bodies with long comments.
const maxCheckInput = 4 << 20

const checkUsage = `usage: checkoff check [--config FILE] [--json] [FILE|-]
       checkoff check [--config FILE] --template FILE

Evaluates a pull-request body (FILE, or stdin when FILE is absent or "-")
against the checklists of --config (default: the Author and Reviewer
checklists), without attribution: ticks are taken as they stand.
With --template, verifies instead that a PR template carries every
configured section and required item, all unticked.

Exit status: 0 when every checklist is complete (or the template is fine),
1 when not, 2 on usage or configuration errors.

flags:
`

// runCheck is `checkoff check`.
func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, code, ok := checkArgs(args, stdin, stderr)
	if !ok {
		return code
	}
	cfg := checklist.DefaultConfig()
	if o.config != "" {
		data, err := readInput(o.config, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "checkoff check: %v\n", err)
			return exitUsage
		}
		if cfg, err = checklist.ParseConfig(o.config, data); err != nil {
			fmt.Fprintln(stderr, err) // already "<file>:<line>: <problem>"
			return exitUsage
		}
	}
	switch {
	case o.template != "":
		return checkTemplate(o.template, cfg, stdin, stdout, stderr)
	case o.body == "-" && o.config != "" && o.config != "-" && isTerminal(stdin):
		// A config alone: validated above; print what it amounts to.
		return printConfig(stdout, stderr, cfg)
	case o.body == "-" && isTerminal(stdin):
		fmt.Fprintln(stderr, "checkoff check: stdin is a terminal: give a body FILE, or pipe the body in (or --config FILE alone to validate a config)")
		return exitUsage
	}
	body, err := readInput(o.body, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff check: %v\n", err)
		return exitUsage
	}
	results := checklist.Evaluate(checklist.Parse(body), cfg, nil)
	if o.json {
		if err := writeJSON(stdout, results); err != nil {
			fmt.Fprintf(stderr, "checkoff check: %v\n", err)
			return exitUsage
		}
	} else {
		writeTable(stdout, results)
	}
	for _, r := range results {
		if r.Status != checklist.Complete {
			return exitFail
		}
	}
	return exitOK
}

// checkOptions are `checkoff check`'s parsed arguments.
type checkOptions struct {
	config, template, body string // body "-": stdin
	json                   bool
}

// checkArgs parses and checks the arguments; ok false means stop with code
// (help, or a usage error already printed).
func checkArgs(args []string, stdin io.Reader, stderr io.Writer) (o checkOptions, code int, ok bool) {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, checkUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.config, "config", "", "use the checkoff.yml `FILE` instead of the default checklists")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	fs.StringVar(&o.template, "template", "", "check a PR template `FILE` instead of a body")
	files, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return o, exitOK, false
	}
	if err != nil {
		return o, exitUsage, false // flag has printed the error and the usage
	}
	var misuse string
	switch {
	case len(files) > 1:
		misuse = "give at most one body FILE"
	case o.template != "" && len(files) > 0:
		misuse = "--template takes no body FILE"
	case o.template != "" && o.json:
		misuse = "--json applies to a body, not to --template"
	}
	if misuse != "" {
		fmt.Fprintf(stderr, "checkoff check: %s\n", misuse)
		fs.Usage()
		return o, exitUsage, false
	}
	o.body = "-"
	if len(files) == 1 {
		o.body = files[0]
	}
	if o.config == "-" && (o.template == "-" || o.template == "" && o.body == "-") {
		fmt.Fprintln(stderr, "checkoff check: the config and the body cannot both come from stdin")
		return o, exitUsage, false
	}
	return o, exitOK, true
}

// checkTemplate is `checkoff check --template FILE`.
func checkTemplate(path string, cfg *checklist.Config, stdin io.Reader, stdout, stderr io.Writer) int {
	data, err := readInput(path, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff check: %v\n", err)
		return exitUsage
	}
	name := path
	if name == "-" {
		name = "stdin"
	}
	return reportTemplate(stdout, name, checklist.CheckTemplate(checklist.Parse(data), cfg))
}

// isTerminal reports whether r is an interactive terminal: reading a body
// from it would wait in silence for someone to type one. A variable, so
// tests can pretend.
var isTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printConfig prints the effective config as YAML: what a file amounts to
// once defaults are filled in.
func printConfig(stdout, stderr io.Writer, cfg *checklist.Config) int {
	type list struct {
		Name              string   `yaml:"name"`
		Heading           string   `yaml:"heading,omitempty"`
		Scope             string   `yaml:"scope,omitempty"`
		TickedBy          string   `yaml:"ticked_by"`
		Items             []string `yaml:"items,omitempty"`
		AllowExtraItems   bool     `yaml:"allow_extra_items"`
		AllowContributors bool     `yaml:"allow_contributors"`
		Select            int      `yaml:"select,omitempty"`
		Paths             []string `yaml:"paths,omitempty"`
	}
	out := struct {
		Checklists           []list   `yaml:"checklists"`
		Branches             []string `yaml:"branches"`
		SkipAuthors          []string `yaml:"skip_authors"`
		OptionalMarkers      []string `yaml:"optional_markers"`
		OptionalMatch        string   `yaml:"optional_match,omitempty"`
		ResetReviewerOnPush  bool     `yaml:"reset_reviewer_on_push"`
		IncompleteConclusion string   `yaml:"incomplete_conclusion"`
		DetailsURL           string   `yaml:"details_url,omitempty"`
	}{Branches: cfg.Branches, SkipAuthors: cfg.SkipAuthors, OptionalMarkers: cfg.OptionalMarkers, OptionalMatch: string(cfg.OptionalMatch),
		ResetReviewerOnPush: cfg.ResetReviewerOnPush, IncompleteConclusion: cfg.IncompleteConclusion, DetailsURL: cfg.DetailsURL}
	if out.Branches == nil {
		out.Branches = []string{}
	}
	for _, c := range cfg.Checklists {
		out.Checklists = append(out.Checklists, list{Name: c.Name, Heading: c.Heading, Scope: string(c.Scope), TickedBy: string(c.TickedBy),
			Items: c.Items, AllowExtraItems: c.AllowExtraItems, AllowContributors: c.AllowContributors, Select: c.Select, Paths: c.Paths})
	}
	data, err := yaml.Marshal(out)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff check: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "# the effective config: valid\n%s", data)
	return exitOK
}

// parseInterspersed parses flags wherever they stand among the file
// arguments (`check body.md --json`), up to a "--".
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(files, rest...), nil
		}
		files = append(files, rest[0])
		args = rest[1:]
	}
}

// readInput reads path, or stdin for "-", refusing more than maxCheckInput.
func readInput(path string, stdin io.Reader) ([]byte, error) {
	r, name := stdin, "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, path
	}
	data, err := io.ReadAll(io.LimitReader(r, maxCheckInput+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxCheckInput {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, maxCheckInput)
	}
	return data, nil
}

var templateLine = regexp.MustCompile(`^line (\d+): `)

// reportTemplate prints CheckTemplate's problems as "FILE:LINE: problem",
// the form editors and CI logs link to.
func reportTemplate(w io.Writer, file string, problems []string) int {
	if len(problems) == 0 {
		fmt.Fprintf(w, "%s: ok\n", file)
		return exitOK
	}
	for _, p := range problems {
		if m := templateLine.FindStringSubmatch(p); m != nil {
			fmt.Fprintf(w, "%s:%s: %s\n", file, m[1], p[len(m[0]):])
		} else {
			fmt.Fprintf(w, "%s: %s\n", file, p)
		}
	}
	return exitFail
}

// The JSON shape of `check --json`; documented in the README, so its
// fields change only with it.
type (
	jsonReport struct {
		Complete    bool            `json:"complete"`
		Attribution bool            `json:"attribution"`
		Checklists  []jsonChecklist `json:"checklists"`
	}
	jsonChecklist struct {
		Name   string `json:"name"`
		Scope  string `json:"scope"` // section | body
		Status string `json:"status"`
		Ticked int    `json:"ticked"`
		Total  int    `json:"total"`
		// Reason says why a missing checklist is missing.
		Reason string `json:"reason,omitempty"`
		// Select, for a pick-N group only: complete when exactly this many
		// boxes are ticked.
		Select int `json:"select,omitempty"`
		// Paths, for a path-scoped checklist: offline the changed files are
		// unknown, so it is judged as applying (PathsNote says so).
		Paths        []string   `json:"paths,omitempty"`
		PathsNote    string     `json:"paths_note,omitempty"`
		Items        []jsonItem `json:"items"`
		MissingItems []string   `json:"missing_items"`
	}
	jsonItem struct {
		Text     string `json:"text"`
		Checked  bool   `json:"checked"`
		Optional bool   `json:"optional"`
		Line     int    `json:"line"`
	}
)

func writeJSON(w io.Writer, results []checklist.Result) error {
	rep := jsonReport{Complete: true, Checklists: make([]jsonChecklist, 0, len(results))}
	for _, r := range results {
		rep.Complete = rep.Complete && r.Status == checklist.Complete
		c := jsonChecklist{
			Name: r.Checklist.Name, Scope: string(r.Checklist.Scope), Status: r.Status.String(), Ticked: r.Ticked, Total: r.Total,
			Select: r.Select, Paths: r.Checklist.Paths,
			Items: make([]jsonItem, 0, len(r.Items)), MissingItems: append([]string{}, r.MissingItems...),
		}
		if r.Status == checklist.Missing {
			c.Reason = fmt.Sprintf("the body has no section headed %q", r.Checklist.Heading)
		}
		if len(c.Paths) > 0 {
			c.PathsNote = "the changed files are unknown offline, so the checklist is judged as applying"
		}
		for _, it := range r.Items {
			c.Items = append(c.Items, jsonItem{Text: it.Text, Checked: it.Checked, Optional: it.Optional, Line: it.Line})
		}
		rep.Checklists = append(rep.Checklists, c)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeTable prints one aligned row per checklist, each followed by what
// keeps it from being complete.
func writeTable(w io.Writer, results []checklist.Result) {
	width := 0
	for _, r := range results {
		width = max(width, utf8.RuneCountInString(r.Checklist.Name))
	}
	for _, r := range results {
		name := r.Checklist.Name + strings.Repeat(" ", width-utf8.RuneCountInString(r.Checklist.Name))
		if r.Status == checklist.Missing {
			fmt.Fprintf(w, "%s  %-10s  no heading %q\n", name, r.Status, r.Checklist.Heading)
			continue
		}
		switch {
		case r.Select > 0:
			fmt.Fprintf(w, "%s  %-10s  %d ticked, pick exactly %d\n", name, r.Status, r.Ticked, r.Select)
		default:
			fmt.Fprintf(w, "%s  %-10s  %d/%d\n", name, r.Status, r.Ticked, r.Total)
		}
		switch {
		case r.Checklist.Scope == checklist.BodyScope && len(r.Items) == 0:
			fmt.Fprintf(w, "  no tasks outside the other checklists' sections\n")
		case r.Total == 0 && r.Heading != nil:
			fmt.Fprintf(w, "  line %d: section has no box to tick\n", r.Heading.Line)
		}
		extra := make(map[string]bool, len(r.ExtraItems))
		for _, t := range r.ExtraItems {
			extra[t] = true
		}
		for _, it := range r.Items {
			switch {
			case r.Select > 0 && !it.Checked && !it.Optional:
				// A choice of a pick-N group need not be ticked.
			case !it.Counted && it.Reason != "":
				fmt.Fprintf(w, "  line %d: %s (%s)\n", it.Line, it.Text, it.Reason)
			case extra[it.Text]:
				fmt.Fprintf(w, "  line %d: %s (not a configured item)\n", it.Line, it.Text)
			}
		}
		for _, t := range r.MissingItems {
			fmt.Fprintf(w, "  missing item: %s\n", t)
		}
	}
}
