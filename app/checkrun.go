package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/checkoff-app/checkoff/internal/markdown"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/checklist"
)

// checkRun is one completed check run to post.
type CheckRun struct {
	Name       string
	HeadSHA    string
	Conclusion string // success | failure | neutral | action_required
	Title      string
	Summary    string
	Recheck    bool // offer the "Re-check" button
	At         time.Time
	// DetailsURL is the check run's "Details" link: the page that explains
	// the rule (details_url). Empty leaves GitHub's default, the App's page.
	DetailsURL string
}

// RecheckAction is the identifier of the check run's "Re-check" button.
const RecheckAction = "recheck"

// GitHub caps a check run's output.summary at 65,535 characters.
const maxSummary = 65535

func (r CheckRun) options() github.CreateCheckRunOptions {
	summary := r.Summary
	if len(summary) > maxSummary {
		const cut = "\n\n… (truncated)"
		summary = strings.ToValidUTF8(summary[:maxSummary-len(cut)], "") + cut
	}
	opts := github.CreateCheckRunOptions{
		Name:        r.Name,
		HeadSHA:     r.HeadSHA,
		Status:      github.String("completed"),
		Conclusion:  github.String(r.Conclusion),
		CompletedAt: &github.Timestamp{Time: r.At},
		Output:      &github.CheckRunOutput{Title: github.String(r.Title), Summary: github.String(summary)},
	}
	if r.DetailsURL != "" {
		opts.DetailsURL = github.String(r.DetailsURL)
	}
	if r.Recheck {
		opts.Actions = []*github.CheckRunAction{{
			Label:       "Re-check",
			Description: "Evaluate the checklist again",
			Identifier:  RecheckAction,
		}}
	}
	return opts
}

// conclusion is the one place a checklist status becomes a check-run
// conclusion.
func conclusion(s checklist.Status, cfg *checklist.Config) string {
	switch s {
	case checklist.Complete:
		return "success"
	default:
		if cfg.IncompleteConclusion == "" {
			return "failure"
		}
		return cfg.IncompleteConclusion
	}
}

// resultRun renders one checklist result as a check run.
func resultRun(r checklist.Result, cfg *checklist.Config, sha string, at time.Time) CheckRun {
	return CheckRun{
		Name:       r.Checklist.Name,
		HeadSHA:    sha,
		Conclusion: conclusion(r.Status, cfg),
		Title:      title(r),
		Summary:    summary(r),
		Recheck:    true,
		At:         at,
		DetailsURL: detailsURL(cfg),
	}
}

// detailsURL is the configured details_url; a Config built in Go may
// leave it empty.
func detailsURL(cfg *checklist.Config) string {
	if cfg == nil || cfg.DetailsURL == "" {
		return checklist.DefaultDetailsURL
	}
	return cfg.DetailsURL
}

// noTasks reports a body checklist with no box to judge: complete, as
// nothing was asked.
func noTasks(r checklist.Result) bool {
	return r.Checklist.Scope == checklist.BodyScope && len(r.Items) == 0 && len(r.MissingItems) == 0
}

func title(r checklist.Result) string {
	switch {
	case r.Status == checklist.Missing:
		return fmt.Sprintf("%s: section %q not found", r.Checklist.Name, r.Checklist.Heading)
	case noTasks(r):
		return r.Checklist.Name + ": no tasks"
	case r.Select > 0:
		return fmt.Sprintf("%s: pick exactly %d, %d ticked", r.Checklist.Name, r.Select, r.Ticked)
	default:
		return fmt.Sprintf("%s: %d of %d ticked", r.Checklist.Name, r.Ticked, r.Total)
	}
}

// summary lists every item with its state and who ticked it, then what
// holds the checklist: unticked items, missing template items, ticks that do
// not count and why.
func summary(r checklist.Result) string {
	var b strings.Builder
	switch r.Status {
	case checklist.Missing:
		fmt.Fprintf(&b, "The pull request body has no **%s** section. Add it from the pull request template.\n", mdEscape(r.Checklist.Heading))
		return b.String()
	}
	switch {
	case noTasks(r):
		b.WriteString("No tasks: the pull request body has no box outside the other checklists' sections.\n")
		return b.String()
	case r.Select > 0 && r.Status == checklist.Complete:
		fmt.Fprintf(&b, "Exactly %d picked.\n\n", r.Select)
	case r.Select > 0:
		fmt.Fprintf(&b, "Pick exactly %d: %d ticked.\n\n", r.Select, r.Ticked)
	case r.Status == checklist.Complete:
		b.WriteString("Every item is ticked.\n\n")
	case r.Total == 0 && r.Checklist.Scope != checklist.BodyScope:
		b.WriteString("The section holds no required box: deleting the items does not complete a checklist.\n\n")
	}
	switch {
	case r.Checklist.TickedBy == checklist.Reviewer && r.Checklist.AllowContributors:
		b.WriteString("Items count only when ticked, or marked optional, by a reviewer with write access who is not the author.\n\n")
	case r.Checklist.TickedBy == checklist.Reviewer:
		b.WriteString("Items count only when ticked, or marked optional, by a reviewer with write access who did not contribute to the pull request.\n\n")
	case r.Checklist.TickedBy == checklist.Author:
		b.WriteString("Items count only when ticked, or marked optional, by the author.\n\n")
	}
	for _, it := range r.Items {
		box := "⬜"
		if it.Counted {
			box = "✅"
		} else if it.Checked {
			box = "⚠️"
		}
		fmt.Fprintf(&b, "- %s %s", box, mdEscape(it.Text))
		switch {
		case it.Optional && it.WaivedBy != "":
			fmt.Fprintf(&b, " _(optional)_ — marked optional by @%s", it.WaivedBy)
		case it.Optional:
			b.WriteString(" _(optional)_")
		case it.Counted && it.By != "":
			fmt.Fprintf(&b, " — ticked by @%s", it.By)
		case r.Select > 0 && !it.Checked && it.Reason == "not ticked":
			// One of a pick-N group's choices, not a box that must be ticked.
		case !it.Counted && it.Reason != "":
			fmt.Fprintf(&b, " — %s", mdEscape(it.Reason))
		}
		b.WriteString("\n")
	}
	// A blank line before each block, unless the intro just ended with one
	// (no item listed).
	blank := func() {
		if !strings.HasSuffix(b.String(), "\n\n") {
			b.WriteString("\n")
		}
	}
	if len(r.MissingItems) > 0 {
		blank()
		b.WriteString("**Missing from the pull request body** (restore them from the template):\n")
		for _, m := range r.MissingItems {
			fmt.Fprintf(&b, "- %s\n", mdEscape(m))
		}
	}
	if len(r.ExtraItems) > 0 {
		blank()
		b.WriteString("**Not in the template** (extra boxes are not allowed here):\n")
		for _, m := range r.ExtraItems {
			fmt.Fprintf(&b, "- %s\n", mdEscape(m))
		}
	}
	return b.String()
}

// mdEscape is the one escaping rule of everything checkoff posts.
func mdEscape(s string) string { return markdown.Escape(s) }
