package release

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/checkoff-app/checkoff/internal/snstest"
)

// newNotified is newEnv with the gate publishing to a topic of a fake SNS.
func newNotified(t *testing.T, o envOptions) (*env, *snstest.Server) {
	t.Helper()
	fake := snstest.New(t)
	n, err := NewSNSNotifier(fake.Client(), fake.AddTopic("checkoff-releases"))
	if err != nil {
		t.Fatal(err)
	}
	o.notifier = n
	return newEnv(t, o), fake
}

func wantMessages(t *testing.T, fake *snstest.Server, n int) []snstest.Message {
	t.Helper()
	msgs := fake.Messages()
	if len(msgs) != n {
		var s []string
		for _, m := range msgs {
			s = append(s, m.Subject)
		}
		t.Fatalf("%d notifications %q, want %d", len(msgs), s, n)
	}
	return msgs
}

// boxLines returns the "- " lines of a text: the boxes it lists.
func boxLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "- ") {
			out = append(out, l)
		}
	}
	return out
}

// TestNotifyHold: a held release is published once per execution and set
// of PRs holding it, with the summary CodePipeline sees and the boxes the
// hold comment lists; ticking a box of a PR that still holds it, duplicate
// events and the schedule publish nothing more; an approval publishes
// nothing.
func TestNotifyHold(t *testing.T) {
	e, fake := newNotified(t, envOptions{})
	deployed := e.head
	boxes := []string{"Reviewer Checklist: Are the commit messages appropriate?", "Reviewer Checklist: Are there a sufficient amount of Unit Tests included?"}
	v12 := e.merge(12, false, boxes...)
	if err := e.deliver(v12); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, fake, 0) // nothing waits at the approval yet

	exec := e.release()
	out := must(t, Waiting)(e.started(exec))
	m := wantMessages(t, fake, 1)[0]
	if want := "checkoff held release " + v12.MergeSHA[:7] + " of " + devPipeline; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	want := out.Reason + "\n\n" +
		"Pipeline: " + devPipeline + ", stage " + approveStage + ", execution " + exec + "\n" +
		"Repository: " + repoName + ", branch dev\n" +
		"Revision: " + v12.MergeSHA + "\n" +
		"Deployed: " + deployed + "\n" +
		"\nacme/invoice-log-api#12 holds the release of dev. These boxes are not checked off:\n" +
		"- " + boxes[0] + "\n- " + boxes[1] + "\n" +
		"Once they are ticked (reviewer items by a reviewer with write access), checkoff approves the release.\n"
	if m.Message != want {
		t.Errorf("message:\n%s\nwant:\n%s", m.Message, want)
	}
	// The same explanation as the hold comment on the PR.
	comments := e.gh.Comments(repoName, 12)
	if len(comments) != 1 {
		t.Fatalf("hold comments %+v", comments)
	}
	if got, want := boxLines(m.Message), boxLines(comments[0].Body); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("notification lists %q, the hold comment %q", got, want)
	}

	must(t, Waiting)(e.started(exec))
	if _, err := e.gate.ReconcileAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.at = e.at.Add(time.Hour)
	if err := e.deliver(e.verdict(12, v12.MergeSHA, v12.HeadSHA, false, boxes[1])); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, fake, 1)

	// The approval expires: the gate sees nothing waiting and publishes
	// nothing. Another PR holds the next execution: published for it.
	e.cp.Expire(devPipeline)
	must(t, Nothing)(e.started(exec))
	v13 := e.merge(13, false, "Author Checklist: Has the author tested changes?")
	if err := e.deliver(v13); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, fake, 1)
	exec2 := e.release()
	must(t, Waiting)(e.started(exec2))
	m2 := wantMessages(t, fake, 2)[1]
	for _, s := range []string{"execution " + exec2, "acme/invoice-log-api#12 holds", "- " + boxes[1], "acme/invoice-log-api#13 holds", "- Author Checklist: Has the author tested changes?"} {
		if !strings.Contains(m2.Message, s) {
			t.Errorf("second notification lacks %q:\n%s", s, m2.Message)
		}
	}
	if strings.Contains(m2.Message, boxes[0]) {
		t.Errorf("second notification lists the ticked box %q", boxes[0])
	}

	e.at = e.at.Add(time.Hour)
	if err := e.deliver(e.verdict(12, v12.MergeSHA, v12.HeadSHA, true)); err != nil {
		t.Fatal(err)
	}
	if err := e.deliver(e.verdict(13, v13.MergeSHA, v13.HeadSHA, true)); err != nil {
		t.Fatal(err)
	}
	e.wantResults("Approved " + exec2)
	wantMessages(t, fake, 2)
}

// TestNotifyReject: rejections are published with the summary sent to
// CodePipeline; after a direct push was rejected, the next release waits
// for a person, and that hold is published too.
func TestNotifyReject(t *testing.T) {
	for name, tc := range map[string]struct {
		setup       func(e *env) string // returns what the summary must name
		thenWaiting bool
	}{
		"incomplete PR": {setup: func(e *env) string {
			if err := e.deliver(e.merge(12, false, "Author Checklist: Has the author tested changes?")); err != nil {
				e.t.Fatal(err)
			}
			return "#12 (Author Checklist: Has the author tested changes?)"
		}},
		"direct push": {setup: func(e *env) string {
			pushed := e.push()
			return "commit " + pushed[:7] + " reached dev without a pull request"
		}, thenWaiting: true},
	} {
		t.Run(name, func(t *testing.T) {
			e, fake := newNotified(t, envOptions{onIncomplete: OnIncompleteReject})
			names := tc.setup(e)
			exec := e.release()
			must(t, Rejected)(e.started(exec))
			e.wantResults("Rejected " + exec)
			m := wantMessages(t, fake, 1)[0]
			if !strings.HasPrefix(m.Subject, "checkoff rejected release ") {
				t.Errorf("subject %q", m.Subject)
			}
			summary := e.results()[0].Summary
			if !strings.HasPrefix(m.Message, summary+"\n\n") || !strings.Contains(summary, names) {
				t.Errorf("message does not start with the summary %q naming %q:\n%s", summary, names, m.Message)
			}
			if !tc.thenWaiting {
				return
			}
			if err := e.deliver(e.merge(14, true)); err != nil {
				t.Fatal(err)
			}
			exec2 := e.release()
			must(t, Waiting)(e.started(exec2))
			if m := wantMessages(t, fake, 2)[1]; !strings.HasPrefix(m.Subject, "checkoff held release ") || !strings.Contains(m.Message, "a person must approve") {
				t.Errorf("hold after the rejected push: %q\n%s", m.Subject, m.Message)
			}
		})
	}
}

// TestNotifyFailureRetried: a failed publish changes no decision, is
// logged, and is sent by the next reconcile instead of being lost.
func TestNotifyFailureRetried(t *testing.T) {
	e, fake := newNotified(t, envOptions{})
	if err := e.deliver(e.merge(12, false, "Author Checklist: Has the author tested changes?")); err != nil {
		t.Fatal(err)
	}
	fake.Fail(snstest.AuthorizationError)
	exec := e.release()
	must(t, Waiting)(e.started(exec))
	wantMessages(t, fake, 0)
	if !strings.Contains(e.logs.String(), "release gate: notification") || !strings.Contains(e.logs.String(), "AuthorizationError") {
		t.Errorf("the failed publish was not logged:\n%s", e.logs)
	}
	if _, err := e.gate.ReconcileAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantMessages(t, fake, 1)
}

// TestNotifyOnceAcrossGates: gates in several processes sharing the
// ledger (serve instances, Lambda invocations) reconciling one held
// execution at once publish it once.
func TestNotifyOnceAcrossGates(t *testing.T) {
	e, fake := newNotified(t, envOptions{})
	if err := e.deliver(e.merge(12, false, "Author Checklist: Has the author tested changes?")); err != nil {
		t.Fatal(err)
	}
	exec := e.release()
	gates := []*Gate{e.gate}
	for range 3 {
		g, err := New(Options{Config: e.gate.cfg, Pipeline: e.gate.cp, GitHub: e.gate.gh, Store: e.st,
			Notifier: e.gate.notifier, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		gates = append(gates, g)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(gates))
	for _, g := range gates {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := g.Reconcile(context.Background(), devPipeline); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m := wantMessages(t, fake, 1)[0]
	if !strings.Contains(m.Message, "execution "+exec) {
		t.Errorf("notification %s", m.Message)
	}
}

// TestSNSNotifierLimits: whatever the gate passes, what reaches SNS is
// within its limits (the fake fails the test otherwise): no line break in
// the subject, which would be refused, and nothing over 256 KiB.
func TestSNSNotifierLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		subject, message string
		wantSubject      string
		check            func(t *testing.T, got string)
	}{
		"line breaks in the subject": {subject: "held\r\nBcc: x@example.com\tnow", message: "m",
			wantSubject: "held  Bcc: x@example.com now"},
		"long subject": {subject: strings.Repeat("x", 150), message: "m",
			wantSubject: strings.Repeat("x", 98) + "…"},
		"empty message": {subject: "s", message: "", check: func(t *testing.T, got string) {
			if got != "s" {
				t.Errorf("message %q, want the subject", got)
			}
		}},
		"long message cut at a character": {subject: "s", message: strings.Repeat("é", 200*1024), check: func(t *testing.T, got string) {
			if len(got) > snstest.MaxMessageBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
				t.Errorf("message of %d bytes, valid UTF-8 %v, suffix %q", len(got), utf8.ValidString(got), got[len(got)-3:])
			}
		}},
	} {
		t.Run(name, func(t *testing.T) {
			fake := snstest.New(t)
			n, err := NewSNSNotifier(fake.Client(), fake.AddTopic("t"))
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Publish(context.Background(), tc.subject, tc.message); err != nil {
				t.Fatal(err)
			}
			m := wantMessages(t, fake, 1)[0]
			if tc.wantSubject != "" && m.Subject != tc.wantSubject {
				t.Errorf("subject %q, want %q", m.Subject, tc.wantSubject)
			}
			if tc.check != nil {
				tc.check(t, m.Message)
			}
		})
	}
}

// TestSNSNotifierErrors: a topic that does not exist is an error naming
// the topic; the SDK's retries absorb throttling.
func TestSNSNotifierErrors(t *testing.T) {
	fake := snstest.New(t)
	missing := "arn:aws:sns:" + snstest.Region + ":" + snstest.Account + ":gone"
	n, err := NewSNSNotifier(fake.Client(), missing)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Publish(context.Background(), "s", "m"); err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "NotFound") {
		t.Errorf("publish to a missing topic: %v", err)
	}
	n, _ = NewSNSNotifier(fake.Client(), fake.AddTopic("t"))
	fake.Fail(snstest.Throttled, snstest.Internal)
	if err := n.Publish(context.Background(), "s", "m"); err != nil {
		t.Errorf("publish after two retryable faults: %v", err)
	}
	wantMessages(t, fake, 1)
}

// TestTopicRegion: only a standard topic's ARN is accepted.
func TestTopicRegion(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:sns:eu-west-1:123456789012:checkoff-releases":   "eu-west-1",
		"arn:aws-us-gov:sns:us-gov-west-1:123456789012:releases": "us-gov-west-1",
		"":                  "",
		"checkoff-releases": "",
		"arn:aws:sns:eu-west-1:123456789012:releases.fifo":              "",
		"arn:aws:sqs:eu-west-1:123456789012:releases":                   "",
		"arn:aws:sns:eu-west-1:12345:releases":                          "",
		"arn:aws:sns:eu-west-1:123456789012:releases\n":                 "",
		"arn:aws:sns:eu-west-1:123456789012:*":                          "",
		"arn:aws:sns:eu-west-1:123456789012:releases:subscription-id-1": "",
	} {
		got, err := TopicRegion(arn)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("TopicRegion(%q) = %q, %v; want %q", arn, got, err, want)
		}
		if _, err := NewSNSNotifier(snstest.New(t).Client(), arn); (err == nil) != (want != "") {
			t.Errorf("NewSNSNotifier(%q): %v", arn, err)
		}
	}
}
