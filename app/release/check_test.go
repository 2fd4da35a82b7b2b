package release

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/checkoff-app/checkoff/app/verdict"
)

func TestDecide(t *testing.T) {
	rel := Release{Branch: "dev", Pipeline: "p", OnIncomplete: OnIncompleteWait}
	rev, dep := strings.Repeat("b", 40), strings.Repeat("a", 40)
	pr := func(n int, complete bool, reviewers ...string) *prCheck {
		return &prCheck{Number: n, Verdict: verdict.Verdict{PR: n, Complete: complete, Reviewers: reviewers,
			Holding: []string{"Reviewer Checklist: Are the commit messages appropriate?"}}}
	}
	many := &checkResult{}
	for n := 1; n <= 60; n++ {
		many.PRs = append(many.PRs, pr(n, true, "reviewer-with-a-long-login", "another-reviewer"))
	}
	tests := map[string]struct {
		res      *checkResult
		rel      Release
		reported bool
		status   types.ApprovalStatus
		want     []string
	}{
		"all complete": {res: &checkResult{PRs: []*prCheck{pr(12, true, "alice"), pr(13, true)}},
			status: types.ApprovalStatusApproved, want: []string{"approved bbbbbbb", "since aaaaaaa", "#12 reviewed by alice; #13."}},
		"many PRs": {res: many, status: types.ApprovalStatusApproved, want: []string{"#1 reviewed by", "more PRs."}},
		"incomplete waits": {res: &checkResult{PRs: []*prCheck{pr(12, true), pr(13, false)}},
			status: "", want: []string{"waits bbbbbbb", "#13 (Reviewer Checklist: Are the commit messages appropriate?)"}},
		"incomplete rejects": {res: &checkResult{PRs: []*prCheck{pr(13, false)}}, rel: Release{Branch: "dev", OnIncomplete: OnIncompleteReject},
			status: types.ApprovalStatusRejected, want: []string{"rejected bbbbbbb", "#13 ("}},
		"no verdict": {res: &checkResult{PRs: []*prCheck{{Number: 14, Problem: "no verdict recorded for its merge"}}},
			status: "", want: []string{"#14 (no verdict recorded for its merge)"}},
		"direct push": {res: &checkResult{Direct: []string{strings.Repeat("c", 40)}, PRs: []*prCheck{pr(12, true)}},
			status: types.ApprovalStatusRejected, want: []string{"commit ccccccc reached dev without a pull request"}},
		"direct push reported": {res: &checkResult{Direct: []string{strings.Repeat("c", 40)}}, reported: true,
			status: "", want: []string{"waits on bbbbbbb", "ccccccc", "a person must approve"}},
		"many direct pushes": {res: &checkResult{Direct: strings.Split(strings.Repeat(strings.Repeat("d", 40)+",", 7)[:7*41-1], ",")},
			status: types.ApprovalStatusRejected, want: []string{"commits ddddddd, ddddddd", "and 2 more reached dev"}},
		"too many commits": {res: &checkResult{TooMany: 900}, status: "", want: []string{"900 commits since aaaaaaa"}},
		"nothing checked":  {res: &checkResult{}, status: "", want: []string{"nothing was checked"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := tc.rel
			if r.Branch == "" {
				r = rel
			}
			status, summary := tc.res.decide(r, dep, rev, tc.reported)
			if status != tc.status {
				t.Errorf("status %q, want %q (%s)", status, tc.status, summary)
			}
			if len(summary) > maxSummary {
				t.Errorf("summary is %d bytes", len(summary))
			}
			for _, w := range tc.want {
				if !strings.Contains(summary, w) {
					t.Errorf("summary %q lacks %q", summary, w)
				}
			}
		})
	}
	// The many-PRs summary names as many PRs as fit and counts the rest.
	_, s := many.decide(rel, dep, rev, false)
	named := strings.Count(s, " reviewed by ")
	if !strings.HasSuffix(s, fmt.Sprintf(" and %d more PRs.", 60-named)) || named < 3 {
		t.Errorf("summary %q names %d PRs", s, named)
	}
}

func TestTruncate(t *testing.T) {
	for _, n := range []int{0, 511, 512, 513, 2000} {
		for _, unit := range []string{"x", "é", "✓", "𝄞"} {
			s := strings.Repeat(unit, n)
			got := truncate(s)
			if len(got) > maxSummary || !utf8.ValidString(got) {
				t.Errorf("truncate(%d×%q): %d bytes, valid %t", n, unit, len(got), utf8.ValidString(got))
			}
			if len(s) <= maxSummary && got != s {
				t.Errorf("truncate changed a short string")
			}
			if len(s) > maxSummary && !strings.HasSuffix(got, "…") {
				t.Errorf("truncated without an ellipsis")
			}
		}
	}
}

func TestOutcomeString(t *testing.T) {
	o := Outcome{Pipeline: "api-dev", ExecutionID: "e-1", Revision: strings.Repeat("f", 40), Decision: Approved, Reason: "ok"}
	if got, want := o.String(), "api-dev: approved (execution e-1, revision fffffff): ok"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := (Outcome{Pipeline: "api-dev", Decision: Nothing}).String(), "api-dev: nothing"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestNewRequires(t *testing.T) {
	cfg, err := ParseConfig("r.yml", []byte(issueConfig))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Config: cfg}); err == nil {
		t.Error("New without a CodePipeline client")
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without a config")
	}
}
