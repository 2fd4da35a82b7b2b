package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/checklist"
)

// PR is the small locator every evaluation works from, built by the
// webhook handlers with PRFrom.
type PR struct {
	Installation int64
	Owner, Repo  string
	Number       int
	HeadSHA      string
	Base         string
	Author       string
	Body         string
	UpdatedAt    time.Time
	Merged       bool
	MergeSHA     string
}

func (p PR) String() string { return fmt.Sprintf("%s/%s#%d", p.Owner, p.Repo, p.Number) }

// PRFrom builds the locator from a webhook or REST pull request.
func PRFrom(installation int64, repo *github.Repository, pr *github.PullRequest) PR {
	return PR{
		Installation: installation,
		Owner:        repo.GetOwner().GetLogin(),
		Repo:         repo.GetName(),
		Number:       pr.GetNumber(),
		HeadSHA:      pr.GetHead().GetSHA(),
		Base:         pr.GetBase().GetRef(),
		Author:       pr.GetUser().GetLogin(),
		Body:         pr.GetBody(),
		UpdatedAt:    pr.GetUpdatedAt().Time,
		Merged:       pr.GetMerged(),
		MergeSHA:     pr.GetMergeCommitSHA(),
	}
}

// repoConfig is a repository's config as fetched: a broken file is not an
// error of the App but of the repository, reported in the check runs.
type repoConfig struct {
	cfg      *checklist.Config
	parseErr error
}

func (a *App) loadConfig(ctx context.Context, gh gitHub, pr PR) (repoConfig, error) {
	data, found, err := gh.Config(ctx, pr.Owner, pr.Repo, pr.Base)
	if err != nil {
		return repoConfig{}, err
	}
	if !found {
		return repoConfig{cfg: checklist.DefaultConfig()}, nil
	}
	cfg, err := checklist.ParseConfig(configPath, data)
	if err != nil {
		return repoConfig{parseErr: err}, nil
	}
	// The gate's check run is told apart from checklist runs by its name
	// (a re-run of it re-judges a merge), so no checklist may take it.
	for _, c := range cfg.Checklists {
		if strings.EqualFold(c.Name, GateCheckName) {
			return repoConfig{parseErr: &checklist.ConfigError{File: configPath,
				Msg: fmt.Sprintf("checklist name %q is reserved for checkoff's release gate check; rename the checklist", c.Name)}}, nil
		}
	}
	return repoConfig{cfg: cfg}, nil
}

// judgement is the outcome of one evaluation: the runs to post, and
// whether the PR may ship.
type judgement struct {
	runs     []checkRun
	complete bool
	holding  []string
	reviewer []string
	asOf     time.Time // when the ledger it judged was read
}

// judge evaluates pr against its repository's config and ledger. It makes
// no GitHub write.
func (a *App) judge(ctx context.Context, gh gitHub, pr PR, rc repoConfig, l ledger) (judgement, error) {
	j, err := a.judgeAt(ctx, gh, pr, rc, l)
	j.asOf = l.readAt
	return j, err
}

func (a *App) judgeAt(ctx context.Context, gh gitHub, pr PR, rc repoConfig, l ledger) (judgement, error) {
	at := a.now().UTC()
	if rc.parseErr != nil {
		var j judgement
		for _, c := range checklist.DefaultConfig().Checklists {
			j.runs = append(j.runs, checkRun{
				Name: c.Name, HeadSHA: pr.HeadSHA, Conclusion: "failure", At: at,
				Title:   "checkoff.yml is invalid",
				Summary: fmt.Sprintf("checkoff could not read the repository configuration on `%s`:\n\n```\n%s\n```\n\nFix the file; every checklist check fails until then.", pr.Base, rc.parseErr),
				Recheck: true,
			})
		}
		j.holding = []string{rc.parseErr.Error()}
		return j, nil
	}
	cfg := rc.cfg
	if len(cfg.Branches) > 0 && !slices.Contains(cfg.Branches, pr.Base) {
		var j judgement
		for _, c := range cfg.Checklists {
			j.runs = append(j.runs, checkRun{Name: c.Name, HeadSHA: pr.HeadSHA, Conclusion: "neutral", At: at,
				Title: "not enforced on " + pr.Base, Summary: fmt.Sprintf("checkoff enforces checklists only on %s.", strings.Join(cfg.Branches, ", "))})
		}
		// Not enforced is not checked off: the release gate must not ship it.
		j.holding = []string{"checklists are not enforced on " + pr.Base}
		return j, nil
	}
	if slices.ContainsFunc(cfg.SkipAuthors, func(s string) bool { return strings.EqualFold(s, pr.Author) }) {
		var j judgement
		for _, c := range cfg.Checklists {
			j.runs = append(j.runs, checkRun{Name: c.Name, HeadSHA: pr.HeadSHA, Conclusion: "success", At: at,
				Title: "skipped", Summary: fmt.Sprintf("@%s is in skip_authors: checklists are not required.", pr.Author)})
		}
		// Skipping the checklist for a merge is the repository's call; shipping
		// it to a pipeline is not, so a skipped PR holds the release.
		j.holding = []string{"@" + pr.Author + " is in skip_authors"}
		return j, nil
	}
	facts, err := a.facts(ctx, gh, pr, cfg, l)
	if err != nil {
		return judgement{}, err
	}
	results := checklist.Evaluate(checklist.Parse([]byte(pr.Body)), cfg, facts)
	j := judgement{complete: len(results) > 0}
	for _, r := range results {
		j.runs = append(j.runs, resultRun(r, cfg, pr.HeadSHA, at))
		if r.Status != checklist.Complete {
			j.complete = false
			j.holding = append(j.holding, holding(r)...)
		}
		if r.Checklist.TickedBy == checklist.Reviewer {
			for _, it := range r.Items {
				if it.Counted && it.By != "" && !slices.Contains(j.reviewer, it.By) {
					j.reviewer = append(j.reviewer, it.By)
				}
			}
		}
	}
	return j, nil
}

// holding names what keeps an incomplete checklist from passing.
func holding(r checklist.Result) []string {
	if r.Status == checklist.Missing {
		return []string{r.Checklist.Name + ": section missing"}
	}
	var h []string
	for _, it := range r.Items {
		if !it.Optional && !it.Counted {
			h = append(h, fmt.Sprintf("%s: %s (%s)", r.Checklist.Name, it.Text, it.Reason))
		}
	}
	for _, m := range r.MissingItems {
		h = append(h, fmt.Sprintf("%s: %s (missing)", r.Checklist.Name, m))
	}
	for _, m := range r.ExtraItems {
		h = append(h, fmt.Sprintf("%s: %s (not in the template)", r.Checklist.Name, m))
	}
	if len(h) == 0 {
		h = append(h, r.Checklist.Name+": no required box")
	}
	return h
}

// post creates the check runs. It stops at the first failure: the
// delivery is then answered 5xx and recovered by redelivery.
func (a *App) post(ctx context.Context, gh gitHub, pr PR, runs []checkRun) error {
	for _, r := range runs {
		if err := gh.CreateCheckRun(ctx, pr.Owner, pr.Repo, r); err != nil {
			return err
		}
	}
	a.logger(ctx).Info("posted check runs", "pull", pr.String(), "sha", pr.HeadSHA, "runs", len(runs))
	return nil
}

// sameRuns reports whether posting b after a would show nothing new.
func sameRuns(a, b []checkRun) bool {
	return slices.EqualFunc(a, b, func(x, y checkRun) bool {
		return x.Name == y.Name && x.HeadSHA == y.HeadSHA && x.Conclusion == y.Conclusion && x.Title == y.Title && x.Summary == y.Summary
	})
}

// verdict records what the gate needs from a merged PR and hands it on.
// Its version (At) is when the judged ledger was read, not the PR's
// updated_at: every judgement is of the newest PR state seen (see current)
// and a ledger that only moves forward, so a later judgement knows at least
// as much. A late delivery (a review ticked before the merge, redelivered
// after it) then updates the verdict instead of losing to the merge's.
func (a *App) verdict(ctx context.Context, pr PR, j judgement) (Verdict, error) {
	v := Verdict{
		Installation: pr.Installation, Owner: pr.Owner, Repo: pr.Repo, PR: pr.Number,
		Base: pr.Base, MergeSHA: pr.MergeSHA, HeadSHA: pr.HeadSHA, Author: pr.Author,
		Complete: j.complete, Reviewers: j.reviewer, Holding: j.holding, At: j.asOf,
	}
	if v.MergeSHA == "" {
		return v, errors.New("merged pull request without merge_commit_sha")
	}
	if err := PutVerdict(ctx, a.store, v); err != nil {
		return v, err
	}
	return v, nil
}
