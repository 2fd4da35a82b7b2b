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
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, checkUsage)
		fs.PrintDefaults()
	}
	configPath := fs.String("config", "", "use the checkoff.yml `FILE` instead of the default checklists")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	template := fs.String("template", "", "check a PR template `FILE` instead of a body")
	files, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage // flag has printed the error and the usage
	}
	var misuse string
	switch {
	case len(files) > 1:
		misuse = "give at most one body FILE"
	case *template != "" && len(files) > 0:
		misuse = "--template takes no body FILE"
	case *template != "" && *asJSON:
		misuse = "--json applies to a body, not to --template"
	}
	if misuse != "" {
		fmt.Fprintf(stderr, "checkoff check: %s\n", misuse)
		fs.Usage()
		return exitUsage
	}

	if *configPath == "-" && (*template == "-" || *template == "" && (len(files) == 0 || files[0] == "-")) {
		fmt.Fprintln(stderr, "checkoff check: the config and the body cannot both come from stdin")
		return exitUsage
	}

	cfg := checklist.DefaultConfig()
	if *configPath != "" {
		data, err := readInput(*configPath, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "checkoff check: %v\n", err)
			return exitUsage
		}
		if cfg, err = checklist.ParseConfig(*configPath, data); err != nil {
			fmt.Fprintln(stderr, err) // already "<file>:<line>: <problem>"
			return exitUsage
		}
	}

	if *template != "" {
		data, err := readInput(*template, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "checkoff check: %v\n", err)
			return exitUsage
		}
		name := *template
		if name == "-" {
			name = "stdin"
		}
		return reportTemplate(stdout, name, checklist.CheckTemplate(checklist.Parse(data), cfg))
	}

	path := "-"
	if len(files) == 1 {
		path = files[0]
	}
	body, err := readInput(path, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff check: %v\n", err)
		return exitUsage
	}
	results := checklist.Evaluate(checklist.Parse(body), cfg, nil)
	if *asJSON {
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
		// Select, for a pick-N group only: complete when exactly this many
		// boxes are ticked.
		Select       int        `json:"select,omitempty"`
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
			Select: r.Select,
			Items:  make([]jsonItem, 0, len(r.Items)), MissingItems: append([]string{}, r.MissingItems...),
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
