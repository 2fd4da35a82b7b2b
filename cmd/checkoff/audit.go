package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
)

// auditEvent is one line of a pull request's audit trail.
type auditEvent struct {
	// At is when it happened by GitHub's clock (the event's timestamp);
	// zero for facts that carry none (a dismissal).
	At time.Time `json:"at,omitzero"`
	// Recorded is when checkoff stored it; the trail is in this order.
	Recorded time.Time `json:"recorded"`
	Delivery string    `json:"delivery,omitempty"`
	// Kind: tick, untick, waive, unwaive, push, pusher, dismiss, head,
	// retarget, merge, verdict.
	Kind      string   `json:"kind"`
	Checklist string   `json:"checklist,omitempty"`
	Item      string   `json:"item,omitempty"`
	By        string   `json:"by,omitempty"`
	Bot       bool     `json:"bot,omitempty"`
	Review    int64    `json:"review,omitempty"` // the review whose body made a tick, or the one dismissed
	Commit    string   `json:"commit,omitempty"` // the commit a review approved; a head or merge commit
	Base      string   `json:"base,omitempty"`
	Complete  *bool    `json:"complete,omitempty"`
	Reviewers []string `json:"reviewers,omitempty"`
	Holding   []string `json:"holding,omitempty"`
}

// The ledger's records as app/ledger.go stores them. They are decoded
// here, field by field, because the audit reads what was stored, whatever
// version of checkoff stored it; audit_test drives the real App to keep
// the two in step.
type (
	auditTick struct {
		Checked  bool   `json:"checked"`
		By       string `json:"by"`
		Bot      bool   `json:"bot"`
		Review   bool   `json:"review"`
		ReviewID int64  `json:"review_id"`
		Commit   string `json:"commit"`
	}
	auditPR struct {
		HeadSHA  string `json:"head_sha"`
		Base     string `json:"base"`
		Merged   bool   `json:"merged"`
		MergeSHA string `json:"merge_sha"`
	}
)

// ledgerPartition is app's ledgerPK for a repository ID.
func ledgerPartition(repoID int64, number int) string {
	return fmt.Sprintf("%sid:%d#%d", store.LedgerPrefix, repoID, number)
}

var prRef = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38})?)/([A-Za-z0-9._-]{1,100})#([1-9][0-9]{0,9})$`)

// runAudit prints a pull request's ledger history, oldest first: who
// ticked, unticked and waived each box and when, review dismissals, pushes
// that reset reviewer ticks, and the merge verdicts. It reads the store
// the CLI uses: DynamoDB when CHECKOFF_TABLE is set, else the SQLite
// database in CHECKOFF_DATA_DIR (default .checkoff). It never writes.
func runAudit(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	flags := flag.NewFlagSet("audit", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: checkoff audit OWNER/REPO#N --repo-id ID [--json]")
		flags.PrintDefaults()
	}
	repoID := flags.Int64("repo-id", 0, "the repository's numeric ID (gh api repos/OWNER/REPO --jq .id): the ledger is keyed by it, so a renamed or re-created repository never shares a trail")
	asJSON := flags.Bool("json", false, "print a JSON array of events")
	// Flags may follow the pull request.
	var positional []string
	for rest := args; ; {
		if err := flags.Parse(rest); err != nil {
			return exitUsage
		}
		if flags.NArg() == 0 {
			break
		}
		positional = append(positional, flags.Arg(0))
		rest = flags.Args()[1:]
	}
	if len(positional) != 1 {
		flags.Usage()
		return exitUsage
	}
	m := prRef.FindStringSubmatch(positional[0])
	if m == nil {
		fmt.Fprintf(stderr, "checkoff audit: %q is not OWNER/REPO#N\n", positional[0])
		return exitUsage
	}
	owner, repo := m[1], m[2]
	number, _ := strconv.Atoi(m[3])
	if *repoID <= 0 {
		fmt.Fprintf(stderr, "checkoff audit: --repo-id is required: the ledger is keyed by repository ID, not name (gh api repos/%s/%s --jq .id)\n", owner, repo)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hist, closeStore, err := openHistorian(ctx, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff audit: %v\n", err)
		return exitUsage
	}
	defer closeStore()
	events, err := auditTrail(ctx, hist, owner, repo, number, *repoID)
	if err != nil {
		fmt.Fprintf(stderr, "checkoff audit: %v\n", err)
		return exitFail
	}
	if len(events) == 0 {
		fmt.Fprintf(stderr, "checkoff audit: no history of %s/%s#%d (repository ID %d): check --repo-id and the store; changes recorded before the audit trail existed are not kept\n", owner, repo, number, *repoID)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(events); err != nil {
			fmt.Fprintf(stderr, "checkoff audit: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	writeAudit(stdout, fmt.Sprintf("%s/%s#%d", owner, repo, number), *repoID, events)
	return exitOK
}

// openHistorian opens the store read by the CLI, for reading. A missing
// SQLite database is an error, not a new empty one.
func openHistorian(ctx context.Context, getenv func(string) string) (store.Historian, func() error, error) {
	if table := getenv("CHECKOFF_TABLE"); table != "" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("load AWS config: %w", err)
		}
		return store.NewDynamo(dynamodb.NewFromConfig(cfg), table), func() error { return nil }, nil
	}
	dir := getenv("CHECKOFF_DATA_DIR")
	if dir == "" {
		dir = defaultDataDir
	}
	path := filepath.Join(dir, store.SQLiteFileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no ledger database at %s: set CHECKOFF_DATA_DIR to serve's data directory, or CHECKOFF_TABLE for DynamoDB", path)
	}
	s, err := store.OpenSQLite(path, store.SQLiteOptions{})
	if err != nil {
		return nil, nil, err
	}
	return s, s.Close, nil
}

// auditTrail gathers the events of one pull request: its ledger's history,
// then the history of the verdict of every merge commit the ledger saw,
// merged in the order they were recorded.
func auditTrail(ctx context.Context, h store.Historian, owner, repo string, number int, repoID int64) ([]auditEvent, error) {
	pk := ledgerPartition(repoID, number)
	entries, err := h.History(ctx, pk)
	if err != nil {
		return nil, fmt.Errorf("read history of %s/%s#%d: %w", owner, repo, number, err)
	}
	var events []auditEvent
	var merges []string
	var prev auditPR
	for _, e := range entries {
		ev, pr, err := ledgerEvent(e, prev)
		if err != nil {
			return nil, fmt.Errorf("%s/%s#%d: %w", owner, repo, number, err)
		}
		if e.SK == "pr" {
			if pr.Merged && pr.MergeSHA != "" && !slices.Contains(merges, pr.MergeSHA) {
				merges = append(merges, pr.MergeSHA)
			}
			prev = pr
		}
		events = append(events, ev...)
	}
	for _, sha := range merges {
		vs, err := h.History(ctx, verdict.PK(owner, repo, sha))
		if err != nil {
			return nil, fmt.Errorf("read verdicts of %s/%s@%s: %w", owner, repo, sha, err)
		}
		for _, e := range vs {
			if e.Deleted {
				continue
			}
			var v verdict.Verdict
			if err := json.Unmarshal(e.Data, &v); err != nil {
				return nil, fmt.Errorf("decode verdict of %s/%s@%s: %w", owner, repo, sha, err)
			}
			if v.PR != number {
				continue // a merge commit is one pull request's; be sure
			}
			complete := v.Complete
			events = append(events, auditEvent{
				At: v.At.UTC(), Recorded: e.Written.UTC(), Delivery: e.Delivery, Kind: "verdict",
				Commit: sha, Base: v.Base, Complete: &complete, Reviewers: v.Reviewers, Holding: v.Holding,
			})
		}
	}
	slices.SortStableFunc(events, func(a, b auditEvent) int { return a.Recorded.Compare(b.Recorded) })
	return events, nil
}

// ledgerEvent turns one history entry of the ledger into events; prev is
// the pull request state recorded before it, so a state entry reports what
// changed. Entries that say nothing to an auditor (a head's cached facts,
// a state that changed only the body, whose ticks have entries of their
// own) yield none.
func ledgerEvent(e store.HistoryEntry, prev auditPR) ([]auditEvent, auditPR, error) {
	ev := auditEvent{Recorded: e.Written.UTC(), Delivery: e.Delivery}
	decode := func(v any) error {
		if err := json.Unmarshal(e.Data, v); err != nil {
			return fmt.Errorf("decode ledger record %q: %w", e.SK, err)
		}
		return nil
	}
	if e.Deleted {
		ev.Kind, ev.Item = "deleted", e.SK
		return []auditEvent{ev}, prev, nil
	}
	switch sk := e.SK; {
	case strings.HasPrefix(sk, "item:"), strings.HasPrefix(sk, "waive:"):
		var t auditTick
		if err := decode(&t); err != nil {
			return nil, prev, err
		}
		key, waiver := strings.CutPrefix(sk, "waive:")
		if !waiver {
			key = strings.TrimPrefix(sk, "item:")
		}
		ev.Checklist, ev.Item, _ = strings.Cut(key, "\x1f")
		ev.At = time.Unix(0, e.Version/2).UTC() // app's tickVersion
		switch {
		case waiver && t.Checked:
			ev.Kind = "waive"
		case waiver:
			ev.Kind = "unwaive"
		case t.Checked:
			ev.Kind = "tick"
		default:
			ev.Kind = "untick"
		}
		ev.By, ev.Bot, ev.Review, ev.Commit = t.By, t.Bot, t.ReviewID, t.Commit
		if t.Review && t.ReviewID == 0 {
			ev.Review = -1 // a dismissal's untick of every review
		}
		return []auditEvent{ev}, prev, nil
	case sk == "push":
		ev.Kind, ev.At = "push", time.Unix(0, e.Version).UTC()
		return []auditEvent{ev}, prev, nil
	case strings.HasPrefix(sk, "pusher:"):
		ev.Kind, ev.By, ev.At = "pusher", strings.TrimPrefix(sk, "pusher:"), time.Unix(0, e.Version).UTC()
		return []auditEvent{ev}, prev, nil
	case strings.HasPrefix(sk, "dismissed:"):
		id, err := strconv.ParseInt(strings.TrimPrefix(sk, "dismissed:"), 10, 64)
		if err != nil {
			return nil, prev, fmt.Errorf("ledger record %q: %w", sk, err)
		}
		ev.Kind, ev.Review = "dismiss", id
		return []auditEvent{ev}, prev, nil
	case sk == "pr":
		var pr auditPR
		if err := decode(&pr); err != nil {
			return nil, prev, err
		}
		ev.At = time.Unix(0, e.Version).UTC()
		var out []auditEvent
		if pr.HeadSHA != "" && pr.HeadSHA != prev.HeadSHA {
			h := ev
			h.Kind, h.Commit = "head", pr.HeadSHA
			out = append(out, h)
		}
		if pr.Base != "" && prev.Base != "" && pr.Base != prev.Base {
			r := ev
			r.Kind, r.Base = "retarget", pr.Base
			out = append(out, r)
		}
		if pr.Merged && !prev.Merged {
			m := ev
			m.Kind, m.Commit, m.Base = "merge", pr.MergeSHA, pr.Base
			out = append(out, m)
		}
		return out, pr, nil
	}
	return nil, prev, nil
}

// writeAudit prints the trail as an aligned table, one event a line; the
// detail, which may be long (a verdict's holding items), comes last.
func writeAudit(w io.Writer, pr string, repoID int64, events []auditEvent) {
	fmt.Fprintf(w, "Audit trail of %s (repository ID %d), in the order checkoff recorded it.\n", pr, repoID)
	fmt.Fprintf(w, "Times are GitHub's (UTC); a late delivery is recorded after events it precedes.\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHAT\tBY\tDELIVERY\tDETAIL")
	for _, e := range events {
		when := "-"
		if !e.At.IsZero() {
			when = e.At.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", when, e.Kind, auditBy(e), cmpOr(e.Delivery, "-"), auditDetail(e))
	}
	tw.Flush()
}

func auditDetail(e auditEvent) string {
	switch e.Kind {
	case "tick", "untick", "waive", "unwaive":
		d := fmt.Sprintf("%s: %q", e.Checklist, e.Item)
		switch {
		case e.Review > 0 && e.Commit != "":
			d += fmt.Sprintf(" (review %d of %s)", e.Review, short(e.Commit))
		case e.Review > 0:
			d += fmt.Sprintf(" (review %d)", e.Review)
		case e.Review < 0:
			d += " (review dismissed)"
		}
		return d
	case "push":
		return "push that resets reviewer ticks"
	case "pusher":
		return "pushed commits (a contributor)"
	case "dismiss":
		return fmt.Sprintf("review %d dismissed: its ticks no longer count", e.Review)
	case "head":
		return "head " + short(e.Commit)
	case "retarget":
		return "base is now " + e.Base
	case "merge":
		return fmt.Sprintf("merged into %s as %s", e.Base, short(e.Commit))
	case "verdict":
		d := fmt.Sprintf("merge %s: ", short(e.Commit))
		if e.Complete != nil && *e.Complete {
			d += "complete"
		} else {
			d += "INCOMPLETE"
		}
		if len(e.Reviewers) > 0 {
			d += "; reviewers " + strings.Join(e.Reviewers, ", ")
		}
		if len(e.Holding) > 0 {
			d += "; holding: " + strings.Join(e.Holding, "; ")
		}
		return d
	case "deleted":
		return "record " + e.Item + " deleted"
	}
	return ""
}

func auditBy(e auditEvent) string {
	switch {
	case e.Kind == "pusher":
		return e.By
	case e.By == "":
		return "-"
	case e.Bot:
		return e.By + " (bot)"
	}
	return e.By
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
