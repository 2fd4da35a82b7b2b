package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
)

// maxSummary is CodePipeline's limit on an approval summary (ApprovalSummary).
const maxSummary = 512

// prPages bounds the pages of pull requests read per commit.
const prPages = 3

// commitCacheTTL is how long a commit's pull requests are remembered. A
// commit merged through a PR stays merged through it, so the cache only
// spares GitHub; the TTL bounds the store's growth.
const commitCacheTTL = 30 * 24 * time.Hour

// prCheck is one pull request covering checked commits.
type prCheck struct {
	Number   int
	MergeSHA string
	Owner    string // base repository as GitHub spells it (verdicts are keyed by it)
	Repo     string
	Verdict  verdict.Verdict
	Problem  string // why the PR holds the release without a usable verdict
}

func (p *prCheck) complete() bool { return p.Problem == "" && p.Verdict.Complete }

// checkResult is what a reconcile found in the commits being released.
type checkResult struct {
	Commits  int
	TooMany  int      // commits in range when over the limit; nothing else is filled then
	Direct   []string // commits that arrived without a merged PR into the branch
	PRs      []*prCheck
	Revision string
	Deployed string
}

func (c *checkResult) prNumbers() []int {
	ns := make([]int, len(c.PRs))
	for i, p := range c.PRs {
		ns[i] = p.Number
	}
	return ns
}

func (c *checkResult) incomplete() []*prCheck {
	var out []*prCheck
	for _, p := range c.PRs {
		if !p.complete() {
			out = append(out, p)
		}
	}
	return out
}

// check maps every commit between dep and rev to the pull requests that
// merged it into the release branch, with their verdicts. A commit counts
// as merged by a PR only when it reached the branch through that PR's merge
// (see lineage); GitHub also lists a PR for its original commits, which
// can be force-pushed onto the branch after the PR was merged another way.
func (g *Gate) check(ctx context.Context, rel Release, dep, rev string) (*checkResult, error) {
	gh, err := g.gh(ctx, rel.Owner, rel.Name)
	if err != nil {
		return nil, fmt.Errorf("github client for %s: %w", rel.Repo, err)
	}
	res := &checkResult{Revision: rev, Deployed: dep}
	commits, parents, total, err := g.commitRange(ctx, gh, rel, dep, rev)
	if err != nil {
		return nil, err
	}
	if total > g.maxCommits {
		res.TooMany = total
		return res, nil
	}
	res.Commits = len(commits)
	lin := &lineage{parents: parents, listed: map[string][]*prCheck{}, landed: map[string]map[string]bool{}}
	for _, sha := range commits {
		prs, err := g.mergedPRs(ctx, gh, rel, sha)
		if err != nil {
			return nil, err
		}
		lin.listed[sha] = prs
	}
	byNumber := map[int]*prCheck{}
	for _, sha := range commits {
		var through []*prCheck
		for _, p := range lin.listed[sha] {
			if lin.landedThrough(p)[sha] {
				through = append(through, p)
			} else {
				g.log.InfoContext(ctx, "release gate: commit is among a merged PR's commits but did not land through its merge",
					"repo", rel.Repo, "commit", sha, "pr", p.Number, "merge_sha", p.MergeSHA)
			}
		}
		if len(through) == 0 {
			res.Direct = append(res.Direct, sha)
			continue
		}
		for _, p := range through {
			if _, seen := byNumber[p.Number]; !seen {
				byNumber[p.Number] = p
				res.PRs = append(res.PRs, p)
			}
		}
	}
	slices.SortFunc(res.PRs, func(a, b *prCheck) int { return a.Number - b.Number })
	for _, p := range res.PRs {
		if err := g.verdict(ctx, p); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// lineage says which of the checked commits reached the branch through
// which pull request's merge.
type lineage struct {
	// parents holds every checked commit with its parents; nil when only
	// the revision itself is checked (no deployed revision, a redeploy or
	// a rollback).
	parents map[string][]string
	listed  map[string][]*prCheck      // commit -> merged PRs GitHub lists for it
	landed  map[string]map[string]bool // merge commit -> commits that landed through it
}

// landedThrough returns the checked commits that reached the branch
// through p's merge:
//   - its merge_commit_sha;
//   - for a merge commit, what its other parents brought that its first
//     parent (the branch before the merge) lacked;
//   - for a single-parent merge commit (squash or rebase), the commits
//     below it on the first-parent chain, each a single-parent commit
//     GitHub lists for p: the PR's rebased commits as they landed. A squash
//     commit's parent belongs to an earlier change, which ends the chain.
//
// Any path between two checked commits runs through checked commits only
// (a commit on it reachable from what is deployed would make its
// descendants so too), so the range's own parents suffice. A merge commit
// outside the range brought nothing in it: what it brought is deployed, or
// it is not on the branch being released.
func (l *lineage) landedThrough(p *prCheck) map[string]bool {
	if set, ok := l.landed[p.MergeSHA]; ok {
		return set
	}
	set := map[string]bool{p.MergeSHA: true}
	l.landed[p.MergeSHA] = set
	ps, ok := l.parents[p.MergeSHA]
	if !ok {
		return set
	}
	if len(ps) >= 2 {
		before := l.reach(ps[:1])
		for sha := range l.reach(ps[1:]) {
			if !before[sha] {
				set[sha] = true
			}
		}
		return set
	}
	for len(ps) == 1 {
		c := ps[0]
		cp, ok := l.parents[c]
		if !ok || len(cp) != 1 || !l.lists(c, p) {
			break
		}
		set[c] = true
		ps = cp
	}
	return set
}

// reach returns the checked commits reachable from shas, shas included.
func (l *lineage) reach(shas []string) map[string]bool {
	out := map[string]bool{}
	stack := slices.Clone(shas)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ps, ok := l.parents[c]
		if !ok || out[c] {
			continue
		}
		out[c] = true
		stack = append(stack, ps...)
	}
	return out
}

// lists says whether GitHub lists p among the merged PRs of commit sha.
func (l *lineage) lists(sha string, p *prCheck) bool {
	for _, q := range l.listed[sha] {
		if q.Number == p.Number && q.MergeSHA == p.MergeSHA {
			return true
		}
	}
	return false
}

// commitRange lists the commits from dep (exclusive) to rev (inclusive),
// with each one's parents. Without a deployed revision, or when rev is not
// ahead of it (a redeploy or a rollback), only rev itself is checked, and
// parents is nil. When rev diverged from dep (history rewritten), the
// commits of rev that dep lacks are checked: everything else in rev was in
// an earlier, approved release.
func (g *Gate) commitRange(ctx context.Context, gh *github.Client, rel Release, dep, rev string) (shas []string, parents map[string][]string, total int, err error) {
	if dep == "" || dep == rev {
		return []string{rev}, nil, 1, nil
	}
	parents = map[string][]string{}
	total = -1
	for page := 1; ; page++ {
		cmp, _, err := gh.Repositories.CompareCommits(ctx, rel.Owner, rel.Name, dep, rev, &github.ListOptions{PerPage: 100, Page: page})
		if err != nil {
			return nil, nil, 0, fmt.Errorf("compare %s...%s: %w", short(dep), short(rev), err)
		}
		if total < 0 {
			switch cmp.GetStatus() {
			case "identical", "behind":
				return []string{rev}, nil, 1, nil
			case "ahead", "diverged":
			default:
				return nil, nil, 0, fmt.Errorf("compare %s...%s: unknown status %q", short(dep), short(rev), cmp.GetStatus())
			}
			total = cmp.GetAheadBy()
			if total > g.maxCommits {
				return nil, nil, total, nil
			}
		}
		for _, c := range cmp.Commits {
			if _, dup := parents[c.GetSHA()]; dup {
				continue
			}
			ps := make([]string, 0, len(c.Parents))
			for _, p := range c.Parents {
				ps = append(ps, p.GetSHA())
			}
			shas = append(shas, c.GetSHA())
			parents[c.GetSHA()] = ps
		}
		if len(shas) >= total || len(cmp.Commits) == 0 || page > g.maxCommits/100+1 {
			break
		}
	}
	if len(shas) != total || !slices.Contains(shas, rev) {
		return nil, nil, 0, fmt.Errorf("compare %s...%s: got %d commits of %d, revision included: %t",
			short(dep), short(rev), len(shas), total, slices.Contains(shas, rev))
	}
	return shas, parents, total, nil
}

// commitPRs is the cached answer for one commit.
type commitPRs struct {
	PRs []cachedPR `json:"prs"`
}

type cachedPR struct {
	Number   int    `json:"number"`
	MergeSHA string `json:"merge_sha"`
	Owner    string `json:"owner"`
	Repo     string `json:"repo"`
}

func commitPK(rel Release) string {
	return "release-commit#" + strings.ToLower(rel.Repo) + "#" + rel.Branch
}

// mergedPRs returns the pull requests merged into the release branch that
// GitHub lists for sha: the PR whose merge commit it is, or whose commits it
// is among. check keeps those sha landed through (lineage); none means a
// direct push. Every PR it keeps must be complete (fail closed when two
// claim the same commit).
func (g *Gate) mergedPRs(ctx context.Context, gh *github.Client, rel Release, sha string) ([]*prCheck, error) {
	pk := commitPK(rel)
	if rec, err := g.st.Get(ctx, pk, sha); err == nil {
		var c commitPRs
		if json.Unmarshal(rec.Data, &c) == nil && len(c.PRs) > 0 {
			out := make([]*prCheck, len(c.PRs))
			for i, p := range c.PRs {
				out[i] = &prCheck{Number: p.Number, MergeSHA: p.MergeSHA, Owner: p.Owner, Repo: p.Repo}
			}
			return out, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("load pull requests of %s: %w", short(sha), err)
	}

	var out []*prCheck
	var cache commitPRs
	opts := &github.ListOptions{PerPage: 100}
	for page := 0; page < prPages; page++ {
		prs, resp, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, rel.Owner, rel.Name, sha, opts)
		if err != nil {
			return nil, fmt.Errorf("pull requests of %s: %w", short(sha), err)
		}
		for _, pr := range prs {
			if pr.MergedAt == nil || pr.GetBase().GetRef() != rel.Branch || !shaPattern.MatchString(pr.GetMergeCommitSHA()) {
				continue
			}
			owner, repo := rel.Owner, rel.Name
			if r := pr.GetBase().GetRepo(); r != nil && r.GetName() != "" && r.GetOwner().GetLogin() != "" {
				if !strings.EqualFold(r.GetOwner().GetLogin(), rel.Owner) || !strings.EqualFold(r.GetName(), rel.Name) {
					continue
				}
				owner, repo = r.GetOwner().GetLogin(), r.GetName()
			}
			out = append(out, &prCheck{Number: pr.GetNumber(), MergeSHA: pr.GetMergeCommitSHA(), Owner: owner, Repo: repo})
			cache.PRs = append(cache.PRs, cachedPR{Number: pr.GetNumber(), MergeSHA: pr.GetMergeCommitSHA(), Owner: owner, Repo: repo})
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	// Only a found PR is remembered: GitHub may not have associated a
	// fresh merge with its PR yet, and a direct push is re-asked.
	if len(out) > 0 {
		data, _ := json.Marshal(cache)
		if _, err := g.st.PutIfAbsent(ctx, store.Record{PK: pk, SK: sha, Version: 1, Data: data, Expires: g.now().Add(commitCacheTTL)}); err != nil {
			g.log.WarnContext(ctx, "release gate: cache pull requests of commit", "repo", rel.Repo, "commit", sha, "err", err)
		}
	}
	return out, nil
}

// verdict fills p's verdict from the store, or from the Evaluator when
// none is stored (and records it). No verdict holds the release.
func (g *Gate) verdict(ctx context.Context, p *prCheck) error {
	v, err := verdict.Get(ctx, g.st, p.Owner, p.Repo, p.MergeSHA)
	switch {
	case err == nil:
	case !errors.Is(err, store.ErrNotFound):
		return err
	case g.eval == nil:
		p.Problem = "no verdict recorded for its merge"
		return nil
	default:
		v, err = g.eval.EvaluateMerged(ctx, p.Owner, p.Repo, p.Number)
		if err != nil {
			return fmt.Errorf("evaluate merged %s/%s#%d: %w", p.Owner, p.Repo, p.Number, err)
		}
		if v.MergeSHA == p.MergeSHA && v.PR == p.Number {
			if err := verdict.Put(ctx, g.st, v); err != nil {
				return err
			}
		}
	}
	if v.PR != p.Number || v.MergeSHA != p.MergeSHA {
		p.Problem = fmt.Sprintf("its verdict is for #%d@%s", v.PR, short(v.MergeSHA))
		return nil
	}
	p.Verdict = v
	return nil
}

// decide turns what was found into an approval status and its summary; an
// empty status means wait. reported says every direct push in the range
// already had a release rejected: the gate then waits, so that a person can
// approve one in CodePipeline (which makes it what is deployed) instead of
// every new execution being rejected before anyone can look.
func (c *checkResult) decide(rel Release, dep, rev string, reported bool) (types.ApprovalStatus, string) {
	head := "checkoff"
	if c.TooMany > 0 {
		return "", fmt.Sprintf("%d commits since %s are more than checkoff checks; approve or reject in CodePipeline", c.TooMany, short(dep))
	}
	if len(c.Direct) > 0 {
		names := make([]string, 0, 5)
		for i, sha := range c.Direct {
			if i == 5 {
				names = append(names, fmt.Sprintf("and %d more", len(c.Direct)-5))
				break
			}
			names = append(names, short(sha))
		}
		noun := "commit"
		if len(c.Direct) > 1 {
			noun = "commits"
		}
		if reported {
			return "", truncate(fmt.Sprintf(
				"%s waits on %s: %s %s reached %s without a pull request (a release with it was already rejected); a person must approve a release in CodePipeline.",
				head, short(rev), noun, strings.Join(names, ", "), rel.Branch))
		}
		return types.ApprovalStatusRejected, truncate(fmt.Sprintf(
			"%s rejected %s: %s %s reached %s without a pull request. Review it, then approve a release in CodePipeline by hand; checkoff approves none that includes it.",
			head, short(rev), noun, strings.Join(names, ", "), rel.Branch))
	}
	if bad := c.incomplete(); len(bad) > 0 {
		var b strings.Builder
		verb := "waits"
		status := types.ApprovalStatus("")
		if rel.OnIncomplete == OnIncompleteReject {
			verb, status = "rejected", types.ApprovalStatusRejected
		}
		fmt.Fprintf(&b, "%s %s %s: not every PR is checked off:", head, verb, short(rev))
		for i, p := range bad {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " #%d (%s)", p.Number, p.holdReason())
		}
		b.WriteString(".")
		return status, truncate(b.String())
	}
	since := "(first release)"
	if dep != "" && dep != rev {
		since = "since " + short(dep)
	}
	prefix := fmt.Sprintf("%s approved %s: every change %s was merged through checked-off PRs:", head, short(rev), since)
	if len(c.PRs) == 0 {
		// Unreachable (commitRange always yields rev itself, which maps to
		// a PR or is a direct push), but approving nothing checked would
		// be the one wrong answer.
		return "", "nothing was checked"
	}
	var b strings.Builder
	b.WriteString(prefix)
	for i, p := range c.PRs {
		part := fmt.Sprintf(" #%d", p.Number)
		if len(p.Verdict.Reviewers) > 0 {
			part += " reviewed by " + strings.Join(p.Verdict.Reviewers, ", ")
		}
		last := i == len(c.PRs)-1
		room := maxSummary - b.Len() - len(part) - 1
		if !last {
			room -= len(morePRs(len(c.PRs) - i - 1))
		}
		if room < 0 {
			b.WriteString(morePRs(len(c.PRs) - i))
			break
		}
		b.WriteString(part)
		if last {
			b.WriteString(".")
		} else {
			b.WriteString(";")
		}
	}
	return types.ApprovalStatusApproved, truncate(b.String())
}

// directPK is the partition recording that a release with direct push sha
// was rejected (one per push: see checkPK).
func directPK(pipeline, sha string) string { return "release-direct#" + pipeline + "@" + sha }

const directSK = "rejected"

// directReported says whether a release with each direct push was already
// rejected.
func (g *Gate) directReported(ctx context.Context, pipeline string, shas []string) (bool, error) {
	for _, sha := range shas {
		_, err := g.st.Get(ctx, directPK(pipeline, sha), directSK)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("load rejected direct push %s: %w", short(sha), err)
		}
	}
	return len(shas) > 0, nil
}

// recordDirect remembers that a release with these direct pushes was
// rejected. Best effort: without the record the next release is rejected
// again, which is the safe side.
func (g *Gate) recordDirect(ctx context.Context, pipeline, execID string, shas []string) {
	for _, sha := range shas {
		data, _ := json.Marshal(map[string]string{"execution": execID})
		if _, err := g.st.PutIfAbsent(ctx, store.Record{PK: directPK(pipeline, sha), SK: directSK, Version: 1, Data: data}); err != nil {
			g.log.WarnContext(ctx, "release gate: record rejected direct push", "pipeline", pipeline, "execution", execID, "commit", sha, "err", err)
		}
	}
}

func morePRs(n int) string {
	if n == 1 {
		return " and 1 more PR."
	}
	return fmt.Sprintf(" and %d more PRs.", n)
}

func (p *prCheck) holdReason() string {
	if p.Problem != "" {
		return p.Problem
	}
	if len(p.Verdict.Holding) == 0 {
		return "checklists incomplete"
	}
	return strings.Join(p.Verdict.Holding, "; ")
}

// truncate cuts s to CodePipeline's summary limit at a rune boundary. The
// limit is counted in bytes, which is never more than runes.
func truncate(s string) string {
	if len(s) <= maxSummary {
		return s
	}
	const ell = "…"
	cut := maxSummary - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

// short abbreviates a commit SHA as git does.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// commentMarker starts every hold comment, so people and tools can find
// them; holdMarker completes it with the pipeline.
const commentMarker = "<!-- checkoff:release-hold"

// holdMarker is the first line of the gate's hold comment on a PR held in
// pipeline: how the gate finds its comment again. Box texts in the comment
// are escaped, so they cannot forge it.
func holdMarker(pipeline string) string { return commentMarker + " pipeline=" + pipeline + " -->" }

// holdPK and holdSK address the record of the hold comment on PR number.
func holdPK(repo string) string                 { return "release-hold#" + strings.ToLower(repo) }
func holdSK(pipeline string, number int) string { return fmt.Sprintf("%s#%d", pipeline, number) }

// holdRecord remembers the one hold comment on a PR: its ID, a digest of
// the body it shows, and, while a reconcile is posting it, since when.
type holdRecord struct {
	ID      int64     `json:"id,omitempty"`
	Digest  string    `json:"digest,omitempty"`
	Posting time.Time `json:"posting,omitzero"`
}

// holdPostingTTL is how long a reconcile's claim to post a hold comment
// stops others from posting it; a claim left by a crash expires.
const holdPostingTTL = 2 * time.Minute

// maxCommentPages bounds the pages of comments read looking for the hold
// comment (100 a page).
const maxCommentPages = 10

// commentHolds keeps one comment on each incomplete PR with a verdict,
// saying which boxes hold the release, edited in place when they change.
// Best effort: failures are logged, and a later reconcile posts the
// comment.
func (g *Gate) commentHolds(ctx context.Context, rel Release, rev string, c *checkResult) {
	if c.TooMany > 0 {
		return
	}
	var gh *github.Client
	for _, p := range c.incomplete() {
		if p.Problem != "" {
			continue // nothing the author can tick: no verdict yet
		}
		if gh == nil {
			var err error
			if gh, err = g.gh(ctx, rel.Owner, rel.Name); err != nil {
				g.log.WarnContext(ctx, "release gate: github client for hold comment", "pipeline", rel.Pipeline, "err", err)
				return
			}
		}
		if err := g.commentHold(ctx, gh, rel, rev, p); err != nil {
			g.log.WarnContext(ctx, "release gate: hold comment", "pipeline", rel.Pipeline, "pr", p.Number, "err", err)
		}
	}
}

// commentHold posts or edits the hold comment on p when its body changed.
// A store record, versioned as a counter, lets one reconcile at a time post
// it across processes; the comment's ID is recorded so that it is edited
// in place. Without the record (it expires with the commit cache) the
// comment is found again by its marker.
func (g *Gate) commentHold(ctx context.Context, gh *github.Client, rel Release, rev string, p *prCheck) error {
	body := holdComment(rel, rev, p)
	sum := sha256.Sum256([]byte(body))
	digest := hex.EncodeToString(sum[:8])
	pk, sk := holdPK(rel.Repo), holdSK(rel.Pipeline, p.Number)
	var st holdRecord
	var version int64
	switch rec, err := g.st.Get(ctx, pk, sk); {
	case err == nil:
		version = rec.Version
		if err := json.Unmarshal(rec.Data, &st); err != nil {
			st = holdRecord{} // unreadable: post again, found by its marker
		}
	case errors.Is(err, store.ErrNotFound):
	default:
		return fmt.Errorf("load hold comment record: %w", err)
	}
	now := g.now()
	if !st.Posting.IsZero() && now.Sub(st.Posting) < holdPostingTTL {
		return nil // another reconcile is posting it
	}
	if st.Posting.IsZero() && st.Digest == digest {
		return nil
	}
	put := func(version int64, r holdRecord) (bool, error) {
		data, _ := json.Marshal(r)
		return g.st.PutIfNewer(ctx, store.Record{PK: pk, SK: sk, Version: version, Data: data, Expires: now.Add(commitCacheTTL)})
	}
	claimed, err := put(version+1, holdRecord{ID: st.ID, Digest: st.Digest, Posting: now})
	if err != nil {
		return fmt.Errorf("claim hold comment: %w", err)
	}
	if !claimed {
		return nil // another reconcile got there first
	}
	id, err := g.postHold(ctx, gh, rel, p, st.ID, body)
	if err != nil {
		// Give the claim back, so that the next reconcile posts it.
		if _, perr := put(version+2, holdRecord{ID: st.ID}); perr != nil {
			g.log.WarnContext(ctx, "release gate: release hold comment claim", "pipeline", rel.Pipeline, "pr", p.Number, "err", perr)
		}
		return err
	}
	if _, err := put(version+2, holdRecord{ID: id, Digest: digest}); err != nil {
		return fmt.Errorf("record hold comment %d: %w", id, err)
	}
	return nil
}

// postHold edits the hold comment id (found by its marker when 0), or
// creates it when there is none, and returns its ID.
func (g *Gate) postHold(ctx context.Context, gh *github.Client, rel Release, p *prCheck, id int64, body string) (int64, error) {
	if id == 0 {
		var err error
		if id, err = g.findHold(ctx, gh, rel, p); err != nil {
			return 0, err
		}
	}
	if id != 0 {
		_, resp, err := gh.Issues.EditComment(ctx, p.Owner, p.Repo, id, &github.IssueComment{Body: github.String(body)})
		switch {
		case err == nil:
			return id, nil
		case resp != nil && resp.StatusCode == http.StatusNotFound:
			// A person deleted it: post a new one.
		default:
			return 0, fmt.Errorf("edit hold comment %d on #%d: %w", id, p.Number, err)
		}
	}
	c, _, err := gh.Issues.CreateComment(ctx, p.Owner, p.Repo, p.Number, &github.IssueComment{Body: github.String(body)})
	if err != nil {
		return 0, fmt.Errorf("comment on #%d: %w", p.Number, err)
	}
	return c.GetID(), nil
}

// findHold returns the ID of the gate's hold comment on p, or 0. Only a
// bot's comment counts: a person quoting the marker must not have their
// comment overwritten.
func (g *Gate) findHold(ctx context.Context, gh *github.Client, rel Release, p *prCheck) (int64, error) {
	marker := holdMarker(rel.Pipeline) + "\n"
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for range maxCommentPages {
		cs, resp, err := gh.Issues.ListComments(ctx, p.Owner, p.Repo, p.Number, opts)
		if err != nil {
			return 0, fmt.Errorf("list comments of #%d: %w", p.Number, err)
		}
		for _, c := range cs {
			if c.GetUser().GetType() == "Bot" && strings.HasPrefix(c.GetBody(), marker) {
				return c.GetID(), nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
	return 0, nil
}

// holdComment is the hold comment's body: the marker, which boxes of p
// hold the release (escaped, cut to GitHub's comment limit) and what to do.
func holdComment(rel Release, rev string, p *prCheck) string {
	head := fmt.Sprintf("%s\n**Release Gate:** this pull request holds the release of `%s` (pipeline `%s`, revision %s). These boxes are not checked off:\n\n",
		holdMarker(rel.Pipeline), rel.Branch, rel.Pipeline, short(rev))
	const tail = "\nOnce they are ticked (reviewer items by a reviewer with write access), checkoff approves the release.\n"
	return fitList(head, holdingItems(p.Verdict.Holding), tail, maxCommentBody)
}
