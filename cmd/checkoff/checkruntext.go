package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

// checkRunText is dry-run's output for people: app.DryRun writes each
// check run it would post as one JSON line (the request GitHub would get);
// this writer prints it as text instead: the check's name, commit and
// conclusion, its title and its summary. A line it cannot read is passed
// through unchanged, so nothing is ever lost.
type checkRunText struct {
	mu      sync.Mutex
	out     io.Writer
	partial []byte // an unfinished line
}

func newCheckRunText(out io.Writer) *checkRunText { return &checkRunText{out: out} }

// dryRunLine is the part of app.DryRun's line that is printed.
type dryRunLine struct {
	DryRun string `json:"dry_run"` // "POST /repos/OWNER/REPO/check-runs"
	Body   struct {
		Name       string `json:"name"`
		HeadSHA    string `json:"head_sha"`
		Status     string `json:"status"`
		Conclusion string `json:"conclusion"`
		DetailsURL string `json:"details_url"`
		Output     *struct {
			Title   string `json:"title"`
			Summary string `json:"summary"`
			Text    string `json:"text"`
		} `json:"output"`
	} `json:"body"`
}

// Write prints each complete line of p; it never fails on content.
func (c *checkRunText) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := c.partial[:i]
		if _, err := io.WriteString(c.out, renderCheckRun(line)); err != nil {
			return 0, err
		}
		c.partial = c.partial[i+1:]
	}
}

// renderCheckRun renders one line of app.DryRun's output.
func renderCheckRun(line []byte) string {
	var l dryRunLine
	if err := json.Unmarshal(line, &l); err != nil || l.Body.Name == "" {
		return terminalSafe(string(line)) + "\n"
	}
	var b strings.Builder
	repo := strings.TrimSuffix(strings.TrimPrefix(l.DryRun, "POST /repos/"), "/check-runs")
	state := l.Body.Conclusion
	if state == "" {
		state = l.Body.Status
	}
	sha := l.Body.HeadSHA
	if len(sha) > 12 {
		sha = sha[:12]
	}
	fmt.Fprintf(&b, "── check run %q on %s@%s: %s\n", l.Body.Name, terminalSafe(repo), terminalSafe(sha), strings.ToUpper(terminalSafe(state)))
	if o := l.Body.Output; o != nil {
		if o.Title != "" {
			fmt.Fprintf(&b, "   %s\n", terminalSafe(o.Title))
		}
		for _, part := range []string{o.Summary, o.Text} {
			if part = strings.TrimSpace(part); part != "" {
				b.WriteString("\n" + indent(readable(part), "   ") + "\n")
			}
		}
	}
	if l.Body.DetailsURL != "" {
		fmt.Fprintf(&b, "\n   details: %s\n", terminalSafe(l.Body.DetailsURL))
	}
	b.WriteString("\n")
	return b.String()
}

// readable turns the summary's Markdown into roughly what a reader of the
// check run sees (no emphasis markers), and makes it safe for a terminal.
func readable(s string) string {
	s = strings.NewReplacer("**", "", "`", "").Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if len(l) > 2 && strings.HasPrefix(l, "_") && strings.HasSuffix(l, "_") {
			lines[i] = l[1 : len(l)-1]
		}
	}
	return terminalSafe(strings.Join(lines, "\n"))
}

// terminalSafe replaces control characters but newline and tab, and the
// bidirectional overrides: a summary quotes pull-request text, which must
// not move the cursor, retitle the terminal or reorder what is shown.
func terminalSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f),
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e || r == 0x200f:
			return '\ufffd'
		}
		return r
	}, s)
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
