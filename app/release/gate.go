package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/google/go-github/v62/github"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
	"github.com/checkoff-app/checkoff/checklist"
)

// PipelineAPI is every CodePipeline call the gate makes — the four the
// deployment's IAM policy allows. *codepipeline.Client satisfies it.
type PipelineAPI interface {
	GetPipelineState(ctx context.Context, in *codepipeline.GetPipelineStateInput, opts ...func(*codepipeline.Options)) (*codepipeline.GetPipelineStateOutput, error)
	GetPipelineExecution(ctx context.Context, in *codepipeline.GetPipelineExecutionInput, opts ...func(*codepipeline.Options)) (*codepipeline.GetPipelineExecutionOutput, error)
	ListPipelineExecutions(ctx context.Context, in *codepipeline.ListPipelineExecutionsInput, opts ...func(*codepipeline.Options)) (*codepipeline.ListPipelineExecutionsOutput, error)
	PutApprovalResult(ctx context.Context, in *codepipeline.PutApprovalResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutApprovalResultOutput, error)
}

var _ PipelineAPI = (*codepipeline.Client)(nil)

// Evaluator gives the verdict on a merged pull request when none is stored
// (the merge webhook was lost, or has not arrived yet). It must not call the
// gate back: the gate holds the pipeline's lock while it asks.
type Evaluator interface {
	EvaluateMerged(ctx context.Context, owner, repo string, number int) (verdict.Verdict, error)
}

// CheckName is the name of the check run the gate posts on merge commits;
// package app routes a re-run of it here (see ReleaseGate.Rerun).
const CheckName = checklist.ReleaseGateName

// DefaultMaxCommits bounds the commits one reconcile checks. A larger
// range is not approved by checkoff: a person decides (fail closed).
const DefaultMaxCommits = 250

// Options configures New. Config, Pipeline, GitHub and Store are required.
type Options struct {
	Config   *Config
	Pipeline PipelineAPI
	// GitHub returns the installation client for a repository (the app
	// passes a closure over ghclient).
	GitHub    func(ctx context.Context, owner, repo string) (*github.Client, error)
	Store     store.Store
	Evaluator Evaluator // optional; without it a PR with no stored verdict holds the release
	// Notifier is optional: each hold or rejection of an execution is
	// published to it once, with the explanation of the hold comments.
	Notifier Notifier
	Logger   *slog.Logger
	Now      func() time.Time
	// MaxCommits overrides DefaultMaxCommits.
	MaxCommits int
}

// Gate approves CodePipeline manual approvals once every change being
// released was merged through fully checked-off pull requests. It
// implements app.ReleaseGate. A Gate is safe for concurrent use.
type Gate struct {
	cfg        *Config
	cp         PipelineAPI
	gh         func(ctx context.Context, owner, repo string) (*github.Client, error)
	st         store.Store
	eval       Evaluator
	notifier   Notifier
	log        *slog.Logger
	now        func() time.Time
	maxCommits int

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per pipeline, and per merge commit's check run: one at a time in this process
}

// New builds a Gate.
func New(opts Options) (*Gate, error) {
	switch {
	case opts.Config == nil || len(opts.Config.Releases) == 0:
		return nil, errors.New("release gate: a release config with at least one release is required")
	case opts.Pipeline == nil:
		return nil, errors.New("release gate: a CodePipeline client is required")
	case opts.GitHub == nil:
		return nil, errors.New("release gate: a GitHub client source is required")
	case opts.Store == nil:
		return nil, errors.New("release gate: a store is required")
	}
	g := &Gate{
		cfg: opts.Config, cp: opts.Pipeline, gh: opts.GitHub, st: opts.Store, eval: opts.Evaluator, notifier: opts.Notifier,
		log: opts.Logger, now: opts.Now, maxCommits: opts.MaxCommits,
		locks: map[string]*sync.Mutex{},
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.maxCommits <= 0 {
		g.maxCommits = DefaultMaxCommits
	}
	return g, nil
}

func (g *Gate) lock(key string) func() {
	g.mu.Lock()
	l, ok := g.locks[key]
	if !ok {
		l = &sync.Mutex{}
		g.locks[key] = l
	}
	g.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Verdict receives a verdict the app recorded (at a merge, or at a later
// edit). When the PR's base branch feeds a configured pipeline, it posts or
// updates the "Release Gate" check run on the merge commit and reconciles
// that pipeline; otherwise it does nothing. Both steps run even when the
// first fails; their errors are joined.
func (g *Gate) Verdict(ctx context.Context, v verdict.Verdict) error {
	return g.receive(ctx, v, false)
}

// Rerun is Verdict for a re-run of the gate's check run: the run is updated
// even when its outcome is unchanged, because GitHub set its check suite
// back to queued and waits for the App to post.
func (g *Gate) Rerun(ctx context.Context, v verdict.Verdict) error {
	return g.receive(ctx, v, true)
}

func (g *Gate) receive(ctx context.Context, v verdict.Verdict, rerun bool) error {
	rel, ok := g.cfg.ForBranch(v.Owner, v.Repo, v.Base)
	if !ok {
		g.log.DebugContext(ctx, "release gate: branch not released", "repo", v.Owner+"/"+v.Repo, "branch", v.Base, "pr", v.PR)
		return nil
	}
	var errs []error
	if err := g.postCheck(ctx, rel, v, rerun); err != nil {
		errs = append(errs, err)
	}
	if _, err := g.Reconcile(ctx, rel.Pipeline); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// checkRecord remembers the check run posted on a merge commit, so repeated
// verdicts update it instead of piling up runs, and an unchanged verdict
// writes nothing.
type checkRecord struct {
	ID     int64  `json:"id"`
	Digest string `json:"digest"`
}

// checkPK is the partition of the check run record of one merge commit: a
// partition per commit, so the File store does not rewrite a repository's
// every merge to record one.
func checkPK(owner, repo, sha string) string {
	return "release-check#" + strings.ToLower(owner+"/"+repo) + "@" + sha
}

const checkSK = "check"

// postCheck creates or updates the gate's check run on v's merge commit;
// an unchanged outcome is not posted again unless force.
func (g *Gate) postCheck(ctx context.Context, rel Release, v verdict.Verdict, force bool) error {
	if !shaPattern.MatchString(v.MergeSHA) {
		return fmt.Errorf("post %s check for %s/%s#%d: merge commit %q is not a commit SHA", CheckName, v.Owner, v.Repo, v.PR, v.MergeSHA)
	}
	conclusion, title, summary := checkOutput(rel, v)
	sum := sha256.Sum256([]byte(conclusion + "\x00" + title + "\x00" + summary))
	digest := hex.EncodeToString(sum[:8])

	pk := checkPK(v.Owner, v.Repo, v.MergeSHA)
	// Duplicate deliveries handled at once would each create a run.
	defer g.lock(pk)()
	var prev checkRecord
	rec, err := g.st.Get(ctx, pk, checkSK)
	switch {
	case err == nil:
		if rec.Version > v.At.UnixNano() {
			return nil // a newer verdict was already posted
		}
		if json.Unmarshal(rec.Data, &prev) == nil && prev.Digest == digest && !force {
			return nil
		}
	case errors.Is(err, store.ErrNotFound):
	default:
		return fmt.Errorf("post %s check on %s: %w", CheckName, v.MergeSHA, err)
	}

	gh, err := g.gh(ctx, v.Owner, v.Repo)
	if err != nil {
		return fmt.Errorf("post %s check on %s: github client: %w", CheckName, v.MergeSHA, err)
	}
	now := github.Timestamp{Time: g.now()}
	out := &github.CheckRunOutput{Title: github.String(title), Summary: github.String(summary)}
	id := prev.ID
	if id != 0 {
		_, _, err = gh.Checks.UpdateCheckRun(ctx, v.Owner, v.Repo, id, github.UpdateCheckRunOptions{
			Name: CheckName, Status: github.String("completed"), Conclusion: github.String(conclusion),
			CompletedAt: &now, Output: out,
		})
	} else {
		var run *github.CheckRun
		run, _, err = gh.Checks.CreateCheckRun(ctx, v.Owner, v.Repo, github.CreateCheckRunOptions{
			Name: CheckName, HeadSHA: v.MergeSHA, Status: github.String("completed"),
			Conclusion: github.String(conclusion), CompletedAt: &now, Output: out,
		})
		if err == nil {
			id = run.GetID()
		}
	}
	if err != nil {
		return fmt.Errorf("post %s check on %s/%s@%s: %w", CheckName, v.Owner, v.Repo, v.MergeSHA, err)
	}
	data, _ := json.Marshal(checkRecord{ID: id, Digest: digest})
	if _, err := g.st.PutIfNewer(ctx, store.Record{PK: pk, SK: checkSK, Version: v.At.UnixNano(), Data: data}); err != nil {
		return fmt.Errorf("record %s check on %s: %w", CheckName, v.MergeSHA, err)
	}
	return nil
}

// checkOutput says whether the merge may ship and why: the one place a
// verdict becomes a check-run conclusion. Box texts come from the PR body:
// they are escaped, and the list is cut to GitHub's summary limit.
func checkOutput(rel Release, v verdict.Verdict) (conclusion, title, summary string) {
	var b strings.Builder
	if v.Complete {
		fmt.Fprintf(&b, "#%d was merged into `%s` with every checklist checked off", v.PR, v.Base)
		if len(v.Reviewers) > 0 {
			fmt.Fprintf(&b, " (reviewed by %s)", strings.Join(v.Reviewers, ", "))
		}
		fmt.Fprintf(&b, ".\n\nPipeline `%s` may release this commit once every other change in the release is checked off too.\n", rel.Pipeline)
		return "success", "May ship", b.String()
	}
	fmt.Fprintf(&b, "#%d was merged into `%s` before its checklists were checked off. Pipeline `%s` will not release this commit until they are", v.PR, v.Base, rel.Pipeline)
	if rel.OnIncomplete == OnIncompleteReject {
		b.WriteString(" (it rejects releases that include it)")
	}
	b.WriteString(".\n\nHolding the release:\n")
	const tail = "\nTick the boxes in the pull request description (reviewer items by a reviewer with write access); checkoff re-checks on the edit.\n"
	summary = fitList(b.String(), holdingItems(v.Holding), tail, maxCheckSummary)
	switch n := len(v.Holding); n {
	case 0:
		return "failure", "Held: checklists incomplete", summary
	case 1:
		return "failure", "Held: 1 box not checked off", summary
	default:
		return "failure", fmt.Sprintf("Held: %d boxes not checked off", n), summary
	}
}

// holdingItems is what holds a verdict, as list items for GitHub.
func holdingItems(holding []string) []string {
	if len(holding) == 0 {
		return []string{"the checklists are incomplete"}
	}
	items := make([]string, len(holding))
	for i, h := range holding {
		items[i] = itemText(h)
	}
	return items
}
