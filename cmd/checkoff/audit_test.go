package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/app/verdict"
)

const auditBody = `Export invoices.

## Author Checklist
- [x] Unit tests cover the change
- [ ] CHANGELOG.md updated

## Reviewer Checklist
- [ ] Code is readable
`

// auditScenario drives the real App (dry-run: no GitHub) over st through a
// pull request's life: opened with one box ticked, the author ticks the
// other, a reviewer ticks by review, the review is dismissed, a push, the
// reviewer ticks again in the body, and the merge. It returns the PR.
func auditScenario(t *testing.T, st store.Store) app.PRState {
	t.Helper()
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	// The App's clock stamps what GitHub does not: a dismissal, a verdict.
	now := t0.Add(3 * time.Minute)
	a, err := app.New(app.Options{Store: st, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		DryRun: &app.DryRun{Out: io.Discard, Writers: []string{"bob-reviewer"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	author, reviewer := app.Actor{Login: "alice-dev"}, app.Actor{Login: "bob-reviewer"}
	pr := app.PRState{Installation: 1, Owner: "acme", Repo: "invoices", RepoID: 9876, Number: 12,
		HeadSHA: strings.Repeat("a", 40), Base: "main", BaseSHA: strings.Repeat("b", 40),
		Author: author.Login, Body: auditBody, UpdatedAt: t0}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("opened", a.Opened(store.WithDelivery(ctx, "d-open"), pr, author))

	old := pr.Body
	pr.Body = strings.Replace(pr.Body, "- [ ] CHANGELOG", "- [x] CHANGELOG", 1)
	pr.UpdatedAt = t0.Add(time.Minute)
	step("edited", a.Edited(store.WithDelivery(ctx, "d-edit"), pr, old, author))

	review := app.Review{ID: 555, User: reviewer, State: "APPROVED", CommitID: pr.HeadSHA,
		Body: "## Reviewer Checklist\n- [x] Code is readable\n", SubmittedAt: t0.Add(2 * time.Minute)}
	step("review", a.ReviewSubmitted(store.WithDelivery(ctx, "d-review"), pr, review))
	review.State = "DISMISSED"
	step("dismissed", a.ReviewDismissed(store.WithDelivery(ctx, "d-dismiss"), pr, review))

	pr.HeadSHA, pr.UpdatedAt = strings.Repeat("c", 40), t0.Add(4*time.Minute)
	step("pushed", a.Pushed(store.WithDelivery(ctx, "d-push"), pr, author))

	old = pr.Body
	pr.Body = strings.Replace(pr.Body, "- [ ] Code is readable", "- [x] Code is readable", 1)
	pr.UpdatedAt = t0.Add(5 * time.Minute)
	step("reviewer ticks", a.Edited(store.WithDelivery(ctx, "d-tick"), pr, old, reviewer))

	pr.Merged, pr.MergeSHA, pr.UpdatedAt = true, strings.Repeat("d", 40), t0.Add(6*time.Minute)
	now = t0.Add(6 * time.Minute)
	step("merged", a.Evaluate(store.WithDelivery(ctx, "d-merge"), pr))
	return pr
}

func auditEnv(dir string) func(string) string {
	return func(k string) string {
		if k == "CHECKOFF_DATA_DIR" {
			return dir
		}
		return ""
	}
}

// TestAudit reads back, through the CLI, the trail the real App left in a
// SQLite database; the text form is a golden file.
func TestAudit(t *testing.T) {
	dir := t.TempDir()
	st, err := store.OpenSQLite(filepath.Join(dir, store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	auditScenario(t, st)
	st.Close()

	var stdout, stderr bytes.Buffer
	if code := runAudit([]string{"acme/invoices#12", "--repo-id", "9876"}, &stdout, &stderr, auditEnv(dir)); code != exitOK {
		t.Fatalf("audit exit %d: %s", code, stderr.String())
	}
	compareGolden(t, filepath.Join("testdata", "audit", "trail.golden"), stdout.Bytes())

	stdout.Reset()
	if code := runAudit([]string{"--json", "--repo-id=9876", "acme/invoices#12"}, &stdout, &stderr, auditEnv(dir)); code != exitOK {
		t.Fatalf("audit --json exit %d: %s", code, stderr.String())
	}
	var events []auditEvent
	if err := json.Unmarshal(stdout.Bytes(), &events); err != nil {
		t.Fatalf("audit --json is not a JSON array of events: %v\n%s", err, stdout.String())
	}
	kinds := map[string]int{}
	for i, e := range events {
		kinds[e.Kind]++
		if i > 0 && e.Recorded.Before(events[i-1].Recorded) {
			t.Errorf("event %d (%s) recorded before the one above it: not oldest first", i, e.Kind)
		}
	}
	for _, k := range []string{"tick", "untick", "dismiss", "push", "merge", "verdict"} {
		if kinds[k] == 0 {
			t.Errorf("the trail has no %s event: %v", k, kinds)
		}
	}
}

// The audit trail covers the partitions the App writes: its ledger key and
// verdict.PK keep history in every store.
func TestAuditPartitionsKeepHistory(t *testing.T) {
	if pk := ledgerPartition(1, 2); !store.KeepsHistory(pk) {
		t.Errorf("ledger partition %s keeps no history", pk)
	}
	if pk := verdict.PK("o", "r", "sha"); !store.KeepsHistory(pk) {
		t.Errorf("verdict partition %s keeps no history", pk)
	}
}

func TestAuditBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]struct {
		args    []string
		env     func(string) string
		code    int
		wantErr string
	}{
		"no pull request":       {args: nil, env: auditEnv(dir), code: exitUsage, wantErr: "usage: checkoff audit"},
		"not OWNER/REPO#N":      {args: []string{"acme/invoices", "--repo-id", "1"}, env: auditEnv(dir), code: exitUsage, wantErr: "not OWNER/REPO#N"},
		"number zero":           {args: []string{"acme/invoices#0", "--repo-id", "1"}, env: auditEnv(dir), code: exitUsage, wantErr: "not OWNER/REPO#N"},
		"no repo ID":            {args: []string{"acme/invoices#1"}, env: auditEnv(dir), code: exitUsage, wantErr: "--repo-id is required"},
		"two pull requests":     {args: []string{"a/b#1", "a/b#2", "--repo-id", "1"}, env: auditEnv(dir), code: exitUsage, wantErr: "usage"},
		"no database":           {args: []string{"acme/invoices#1", "--repo-id", "1"}, env: auditEnv(dir), code: exitUsage, wantErr: "no ledger database"},
		"nothing for that repo": {args: []string{"acme/invoices#1", "--repo-id", "1"}, env: auditEnv(""), code: exitFail, wantErr: "no history of acme/invoices#1"},
	}
	// "nothing for that repo" reads an empty database.
	emptyDir := t.TempDir()
	st, err := store.OpenSQLite(filepath.Join(emptyDir, store.SQLiteFileName), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	tc := tests["nothing for that repo"]
	tc.env = auditEnv(emptyDir)
	tests["nothing for that repo"] = tc
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runAudit(tc.args, &stdout, &stderr, tc.env); code != tc.code || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed %q on bad input", stdout.String())
			}
		})
	}
	// The audit only reads: it never creates a database where none was.
	if _, err := os.Stat(filepath.Join(dir, store.SQLiteFileName)); !os.IsNotExist(err) {
		t.Errorf("audit created a database: %v", err)
	}
}

// TestAuditDynamo: the same trail, left by the App in DynamoDB (dynalite)
// and read by the CLI with CHECKOFF_TABLE, reads as it does from SQLite.
func TestAuditDynamo(t *testing.T) {
	endpoint := startDynalite(t)
	createLedgerTable(t, endpoint)
	for k, v := range map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDCOLDSTART", "AWS_SECRET_ACCESS_KEY": "cold-start-secret",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
	} {
		t.Setenv(k, v)
	}
	client := dynamodb.New(dynamodb.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDCOLDSTART", "cold-start-secret", ""),
	})
	auditScenario(t, store.NewDynamo(client, coldTable))

	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "CHECKOFF_TABLE" {
			return coldTable
		}
		return ""
	}
	if code := runAudit([]string{"acme/invoices#12", "--repo-id", "9876"}, &stdout, &stderr, env); code != exitOK {
		t.Fatalf("audit exit %d: %s", code, stderr.String())
	}
	// The same entries as on SQLite. Within one delivery's batch DynamoDB
	// writes concurrently, so the order of entries of one delivery may
	// differ; the deliveries' order may not.
	want, err := os.ReadFile(filepath.Join("testdata", "audit", "trail.golden"))
	if err != nil {
		t.Fatal(err)
	}
	byDelivery := func(out string) []string {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var out2 []string
		for i := 0; i < len(lines); {
			j := i
			for j < len(lines) && deliveryOf(lines[j]) == deliveryOf(lines[i]) {
				j++
			}
			group := slices.Clone(lines[i:j])
			slices.Sort(group)
			out2 = append(out2, group...)
			i = j
		}
		return out2
	}
	if got, want := byDelivery(stdout.String()), byDelivery(string(want)); !slices.Equal(got, want) {
		t.Errorf("trail from DynamoDB:\n%s\nwant the SQLite trail:\n%s", stdout.String(), want)
	}
}

// deliveryOf is the DELIVERY column of an audit line ("" for others).
func deliveryOf(line string) string {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[3], "d-") {
		return ""
	}
	return f[3]
}
