package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/checklist"
)

// PRState is a pull request's state as a delivery (or GitHub) gave it: the
// locator every evaluation works from and the state it judges. Handlers
// build it; PRFrom builds it from go-github's type.
type PRState struct {
	Installation int64
	Owner, Repo  string
	RepoID       int64 // GitHub's repository ID: the ledger's key
	Number       int
	HeadSHA      string
	Base         string
	BaseSHA      string // the base commit GitHub compared the PR against
	Author       string
	AuthorBot    bool     // the author is a bot (a coding agent, a dependency updater)
	Assignees    []string // for a bot's PR: who answers for it
	Body         string
	UpdatedAt    time.Time
	Merged       bool
	MergeSHA     string
}

func (p PRState) String() string { return fmt.Sprintf("%s/%s#%d", p.Owner, p.Repo, p.Number) }

// PRFrom builds the locator from a webhook or REST pull request.
func PRFrom(installation int64, repo *github.Repository, pr *github.PullRequest) PRState {
	id := pr.GetBase().GetRepo().GetID()
	if id == 0 {
		id = repo.GetID()
	}
	return PRState{
		Installation: installation,
		Owner:        repo.GetOwner().GetLogin(),
		Repo:         repo.GetName(),
		RepoID:       id,
		Number:       pr.GetNumber(),
		HeadSHA:      pr.GetHead().GetSHA(),
		Base:         pr.GetBase().GetRef(),
		BaseSHA:      pr.GetBase().GetSHA(),
		Author:       pr.GetUser().GetLogin(),
		AuthorBot:    isBot(pr.GetUser()),
		Assignees:    logins(pr.Assignees),
		Body:         pr.GetBody(),
		UpdatedAt:    pr.GetUpdatedAt().Time,
		Merged:       pr.GetMerged(),
		MergeSHA:     pr.GetMergeCommitSHA(),
	}
}

func logins(users []*github.User) []string {
	var out []string
	for _, u := range users {
		if l := u.GetLogin(); l != "" && !isBot(u) {
			out = append(out, l)
		}
	}
	return out
}

// repoConfig is a repository's config as fetched: a broken file is not an
// error of the App but of the repository, reported in the check runs.
type repoConfig struct {
	cfg      *checklist.Config
	parseErr error
	source   string // which file applied, for the check summaries
}

// configSource names where the config in force for pr comes from: the
// base branch while it is open, the base before its merge once merged. A
// delivery whose newest state has another source is judged under that one.
func configSource(pr PRState) string {
	if pr.Merged {
		return "merge " + pr.BaseSHA + " " + pr.MergeSHA
	}
	return "branch " + pr.Base
}

// configsFor loads the configs a judgement of pr is made under. An open
// PR is judged under its base branch's config (read as refs/heads/<base>,
// so a tag of the same name cannot stand in). A merged PR must not be
// judged under a config it brought itself, so it is judged under the base
// as it was before the merge: the merge commit's first parent, and the base
// commit GitHub compared the PR against (base.sha), and is complete only
// when complete under both. The first parent is the fresher; but after a
// rebase merge it is one of the PR's own commits, and base.sha never is.
func (a *App) configsFor(ctx context.Context, gh GitHub, pr PRState) ([]repoConfig, error) {
	if !pr.Merged {
		rc, err := a.loadConfig(ctx, gh, pr, branchRef(pr.Base))
		return []repoConfig{rc}, err
	}
	if !commitSHA.MatchString(pr.BaseSHA) || !commitSHA.MatchString(pr.MergeSHA) {
		return nil, fmt.Errorf("judge merge of %s: base %q or merge commit %q is not a commit SHA", pr, pr.BaseSHA, pr.MergeSHA)
	}
	refs := []string{pr.BaseSHA}
	commits, _, err := gh.Commits(ctx, pr.Owner, pr.Repo, pr.BaseSHA, pr.MergeSHA)
	if err != nil {
		return nil, fmt.Errorf("find the parent of merge %s of %s: %w", pr.MergeSHA, pr, err)
	}
	for _, c := range commits {
		if c.SHA == pr.MergeSHA && len(c.Parents) > 0 && c.Parents[0] != pr.BaseSHA {
			refs = append(refs, c.Parents[0])
		}
	}
	var out []repoConfig
	for _, ref := range refs {
		rc, err := a.loadConfig(ctx, gh, pr, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}

// loadConfig reads the config in force at ref: the repository's own file,
// else the owner's shared one (the default branch of OWNER/.github), else the
// built-in defaults. A repository file replaces the shared one whole.
func (a *App) loadConfig(ctx context.Context, gh GitHub, pr PRState, ref string) (repoConfig, error) {
	data, found, err := gh.Config(ctx, pr.Owner, pr.Repo, ref)
	if err != nil {
		return repoConfig{}, err
	}
	// The file, not the ref: a late delivery judged after the merge reads
	// the same file at the base from before it, and posts the same runs.
	source := "the repository's `" + configPath + "`"
	if !found && !strings.EqualFold(pr.Repo, orgConfigRepo) {
		// The shared repository may not exist, or the App may not be
		// installed on it: both read as no file.
		if data, found, err = gh.Config(ctx, pr.Owner, orgConfigRepo, ""); err != nil {
			return repoConfig{}, err
		}
		source = fmt.Sprintf("`%s` of %s/%s (no repository file)", configPath, pr.Owner, orgConfigRepo)
	}
	if !found {
		return repoConfig{cfg: checklist.DefaultConfig(), source: "checkoff's built-in defaults (no `" + configPath + "`)"}, nil
	}
	cfg, err := parseConfig(data)
	if err != nil {
		return repoConfig{parseErr: err, source: source}, nil
	}
	// The gate's check run is told apart from checklist runs by its name
	// (a re-run of it re-judges a merge), so no checklist may take it.
	// (ParseConfig refuses it, and names that read like it.)
	for _, c := range cfg.Checklists {
		if checklist.ReservedName(c.Name) {
			return repoConfig{source: source, parseErr: &checklist.ConfigError{File: configPath,
				Msg: fmt.Sprintf("checklist name %q is reserved for checkoff's release gate check; rename the checklist", c.Name)}}, nil
		}
	}
	return repoConfig{cfg: cfg, source: source}, nil
}

// judgement is the outcome of one evaluation: the runs to post, and
// whether the PR may ship.
type judgement struct {
	runs     []CheckRun
	complete bool
	holding  []string
	reviewer []string
	facts    []gathered // per config
}

// gathered are the facts a judgement needs beyond the PR, read before
// judging: checklist facts (ledger, permissions, contributors, reviewable
// commits) and, for path-scoped checklists, the PR's files and the pushes
// that reset each.
type gathered struct {
	facts  *checklist.Facts
	files  *fileList            // nil: no path-scoped checklist
	resets map[string]time.Time // per path-scoped checklist
}

// gather reads the facts a judgement of pr under rc needs beyond the
// ledger: the write permission of everyone whose tick or waiver could
// count, the head's contributors and reviewable commits, and the PR's files
// when a checklist is path-scoped.
func (a *App) gather(ctx context.Context, gh GitHub, pr PRState, rc repoConfig, l ledger) (gathered, error) {
	if rc.cfg == nil {
		return gathered{}, nil
	}
	canWrite := map[string]bool{}
	for _, login := range l.people(pr, rc.cfg) {
		p, err := gh.Permission(ctx, pr.Owner, pr.Repo, login)
		if err != nil {
			return gathered{}, err
		}
		canWrite[strings.ToLower(login)] = p == "admin" || p == "write" || p == "maintain"
	}
	var head *headRecord
	if slices.ContainsFunc(rc.cfg.Checklists, func(c checklist.Checklist) bool { return c.TickedBy == checklist.Reviewer }) {
		h, err := a.headFacts(ctx, gh, pr, l)
		if err != nil {
			return gathered{}, err
		}
		head = &h
	}
	g := gathered{facts: facts(pr, rc.cfg, l, canWrite, head)}
	if hasPaths(rc.cfg) {
		f, err := a.prFiles(ctx, gh, pr, l)
		if err != nil {
			return gathered{}, err
		}
		g.files, g.resets = &f, pathResets(rc.cfg, l)
	}
	return g, nil
}

// headFacts returns what is known of pr's head commit, reading it from
// GitHub once (one compare against the base) and recording it in the
// ledger: later deliveries at the same head make no call for it.
func (a *App) headFacts(ctx context.Context, gh GitHub, pr PRState, l ledger) (headRecord, error) {
	base := pr.Base
	if pr.Merged && pr.BaseSHA != "" {
		base = pr.BaseSHA // the branch holds the PR's commits by now
	}
	sk := pr.HeadSHA + "@" + base
	if h, ok := l.heads[sk]; ok {
		return h, nil
	}
	h, err := readHead(ctx, gh, pr, base)
	if err != nil {
		return headRecord{}, err
	}
	rec, err := headRecordOf(pr, sk, h, a.now())
	if err != nil {
		return headRecord{}, err
	}
	if _, err := a.store.PutIfNewer(ctx, rec); err != nil {
		return headRecord{}, fmt.Errorf("record head facts of %s: %w", pr, err)
	}
	return h, nil
}

// readHead reads pr's commits since base and derives the head's facts:
// who contributed, and which earlier heads it differs from only by GitHub's
// "Update branch" merges.
func readHead(ctx context.Context, gh GitHub, pr PRState, base string) (headRecord, error) {
	commits, complete, err := gh.Commits(ctx, pr.Owner, pr.Repo, base, pr.HeadSHA)
	if err != nil {
		return headRecord{}, err
	}
	inPR := make(map[string]bool, len(commits))
	bySHA := make(map[string]Commit, len(commits))
	for _, c := range commits {
		inPR[c.SHA] = true
		bySHA[c.SHA] = c
	}
	// GitHub's "Update branch": parents [previous head, a base commit],
	// made and signed by GitHub. A merge anyone else makes can carry any
	// change in its resolution, so it is a push like another.
	updateMerge := func(c Commit) bool {
		return len(c.Parents) == 2 && !inPR[c.Parents[1]] && c.Committer == webFlow && c.Verified
	}
	h := headRecord{Reviewed: []string{pr.HeadSHA}, Unknown: !complete}
	for cur, steps := pr.HeadSHA, 0; steps < len(commits); steps++ {
		c, ok := bySHA[cur]
		if !ok || !updateMerge(c) {
			break
		}
		if cur == pr.HeadSHA {
			h.UpdateMerge = true
		}
		cur = c.Parents[0]
		h.Reviewed = append(h.Reviewed, cur)
	}
	seen := map[string]bool{}
	add := func(login string, bot bool) {
		if login != "" && !bot && login != webFlow && !strings.HasSuffix(login, "[bot]") && !seen[login] {
			seen[login] = true
			h.Contributors = append(h.Contributors, login)
		}
	}
	for _, c := range commits {
		if updateMerge(c) {
			continue
		}
		add(c.Author, c.AuthorBot)
		add(c.Committer, c.CommitBot)
	}
	if h.Unknown {
		h.Contributors = nil
	}
	slices.Sort(h.Contributors)
	return h, nil
}

// judgeAll gathers the facts for each config in force and judges pr under
// each: complete only when complete under all (see configsFor).
func (a *App) judgeAll(ctx context.Context, gh GitHub, pr PRState, rcs []repoConfig, l ledger) (judgement, error) {
	all := make([]gathered, len(rcs))
	for i, rc := range rcs {
		f, err := a.gather(ctx, gh, pr, rc, l)
		if err != nil {
			return judgement{}, err
		}
		all[i] = f
	}
	return judgeWith(pr, rcs, all, a.now().UTC()), nil
}

// judgeWith is judge over every config in force, with gathered facts: the
// first incomplete judgement stands, holding what all of them hold.
func judgeWith(pr PRState, rcs []repoConfig, all []gathered, at time.Time) judgement {
	var out judgement
	for i, rc := range rcs {
		j := judge(pr, rc, all[i], at)
		switch {
		case i == 0:
			out = j
		case out.complete && !j.complete:
			j.holding = append(out.holding, j.holding...)
			out = j
		case !j.complete:
			for _, h := range j.holding {
				if !slices.Contains(out.holding, h) {
					out.holding = append(out.holding, h)
				}
			}
		}
	}
	out.facts = all
	return out
}

// judge evaluates pr against one config and its facts. It is pure.
func judge(pr PRState, rc repoConfig, g gathered, at time.Time) judgement {
	if rc.parseErr != nil {
		var j judgement
		for _, c := range checklist.DefaultConfig().Checklists {
			j.runs = append(j.runs, CheckRun{
				Name: c.Name, HeadSHA: pr.HeadSHA, Conclusion: "failure", At: at,
				Title: "checkoff.yml is invalid", DetailsURL: detailsURL(nil),
				Summary: fmt.Sprintf("checkoff could not read the repository configuration on `%s`:\n\n```\n%s\n```\n\nFix the file; every checklist check fails until then.", pr.Base, rc.parseErr),
				Recheck: true,
			})
		}
		j.holding = []string{rc.parseErr.Error()}
		return j
	}
	cfg := rc.cfg
	if len(cfg.Branches) > 0 && !slices.Contains(cfg.Branches, pr.Base) {
		var j judgement
		for _, c := range cfg.Checklists {
			j.runs = append(j.runs, CheckRun{Name: c.Name, HeadSHA: pr.HeadSHA, Conclusion: "neutral", At: at, DetailsURL: detailsURL(cfg),
				Title: "not enforced on " + pr.Base, Summary: fmt.Sprintf("checkoff enforces checklists only on %s.", strings.Join(cfg.Branches, ", "))})
		}
		// Not enforced is not checked off: the release gate must not ship it.
		j.holding = []string{"checklists are not enforced on " + pr.Base}
		return j
	}
	if slices.ContainsFunc(cfg.SkipAuthors, func(s string) bool { return strings.EqualFold(s, pr.Author) }) {
		var j judgement
		for _, c := range cfg.Checklists {
			j.runs = append(j.runs, CheckRun{Name: c.Name, HeadSHA: pr.HeadSHA, Conclusion: "success", At: at, DetailsURL: detailsURL(cfg),
				Title: "skipped", Summary: fmt.Sprintf("@%s is in skip_authors: checklists are not required.", pr.Author)})
		}
		// Skipping the checklist for a merge is the repository's call; shipping
		// it to a pipeline is not, so a skipped PR holds the release.
		j.holding = []string{"@" + pr.Author + " is in skip_authors"}
		return j
	}
	results := evaluateScoped(parseBody(pr.Body), cfg, g)
	j := judgement{complete: len(results) > 0}
	for _, r := range results {
		if c := r.Checklist; len(c.Paths) > 0 && g.files != nil && !g.files.matches(c.Paths) {
			run := notRequiredRun(c, *g.files, pr.HeadSHA, at)
			run.DetailsURL = detailsURL(cfg)
			j.runs = append(j.runs, run)
			continue
		}
		run := resultRun(r, cfg, pr.HeadSHA, at)
		if g.facts != nil && g.facts.BotAuthor && len(g.facts.Authors) == 0 && r.Checklist.TickedBy == checklist.Author {
			run.Summary += fmt.Sprintf("\nThis pull request was opened by @%s, and a bot never ticks for anyone: **assign the person responsible**; their ticks count as the author's.\n", pr.Author)
		}
		if rc.source != "" {
			run.Summary += "\n_Rules: " + rc.source + "._\n"
		}
		j.runs = append(j.runs, run)
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
	return j
}

// whoMayTick says, for a held item, whose tick would count: what a person
// reading a held release needs to know to unblock it.
func whoMayTick(c checklist.Checklist) string {
	switch {
	case c.TickedBy == checklist.Author:
		return "the author may tick it"
	case c.TickedBy == checklist.Reviewer && c.AllowContributors:
		return "a reviewer with write access, not the author, may tick it"
	case c.TickedBy == checklist.Reviewer:
		return "a reviewer with write access who did not contribute may tick it"
	}
	return "anyone may tick it"
}

// evaluateScoped is checklist.Evaluate, except that each path-scoped
// checklist is judged with the pushes that reset it: the latest push that
// changed a file it covers, not the latest push.
func evaluateScoped(doc *checklist.Document, cfg *checklist.Config, g gathered) []checklist.Result {
	results := checklist.Evaluate(doc, cfg, g.facts)
	if g.facts == nil || !cfg.ResetReviewerOnPush || len(g.resets) == 0 {
		return results
	}
	for i, c := range cfg.Checklists {
		if at, ok := g.resets[c.Name]; ok && i < len(results) {
			f := *g.facts
			f.ResetAt = at
			// The whole config is evaluated, so a body checklist still
			// sees which boxes the others' sections hold.
			results[i] = checklist.Evaluate(doc, cfg, &f)[i]
		}
	}
	return results
}

// notRequiredRun is a path-scoped checklist's run when no changed file
// matches its paths: it passes, so branch protection may require it on
// every PR.
func notRequiredRun(c checklist.Checklist, files fileList, sha string, at time.Time) CheckRun {
	globs := make([]string, len(c.Paths))
	for i, p := range c.Paths {
		globs[i] = mdEscape(p)
	}
	return CheckRun{Name: c.Name, HeadSHA: sha, Conclusion: "success", At: at, Recheck: true,
		Title: "not required: no changed file matches",
		Summary: fmt.Sprintf("This checklist applies when the pull request changes a file matching %s; none of its %d changed files does.\n",
			strings.Join(globs, ", "), len(files.Files))}
}

// holding names what keeps an incomplete checklist from passing.
func holding(r checklist.Result) []string {
	if r.Status == checklist.Missing {
		return []string{r.Checklist.Name + ": section missing"}
	}
	var h []string
	if r.Select > 0 {
		// A pick-N group holds as a whole: its unticked choices are not
		// each required.
		return []string{fmt.Sprintf("%s: pick exactly %d, %d ticked", r.Checklist.Name, r.Select, r.Ticked)}
	}
	for _, it := range r.Items {
		if !it.Optional && !it.Counted {
			h = append(h, fmt.Sprintf("%s: %s (%s; %s)", r.Checklist.Name, it.Text, it.Reason, whoMayTick(r.Checklist)))
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
func (a *App) post(ctx context.Context, gh GitHub, pr PRState, runs []CheckRun) error {
	for _, r := range runs {
		if err := gh.CreateCheckRun(ctx, pr.Owner, pr.Repo, r); err != nil {
			return err
		}
	}
	a.logger(ctx).Info("posted check runs", "pull", pr.String(), "sha", pr.HeadSHA, "runs", len(runs))
	return nil
}

// sameRuns reports whether posting b after a would show nothing new.
func sameRuns(a, b []CheckRun) bool {
	return slices.EqualFunc(a, b, func(x, y CheckRun) bool {
		return x.Name == y.Name && x.HeadSHA == y.HeadSHA && x.Conclusion == y.Conclusion && x.Title == y.Title &&
			x.Summary == y.Summary && x.DetailsURL == y.DetailsURL
	})
}
