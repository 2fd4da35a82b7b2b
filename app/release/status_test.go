package release

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestStatus explains a held release without answering it: the waiting
// execution, the deployed revision, each PR with what holds it, direct
// pushes, and the answer a reconcile would give; nothing is written to
// GitHub or CodePipeline.
func TestStatus(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	deployed := e.head
	if err := e.deliver(e.merge(12, true)); err != nil {
		t.Fatal(err)
	}
	if err := e.deliver(e.merge(13, false, "Reviewer Checklist: Are the commit messages appropriate? (not ticked; tick: a reviewer with write access)")); err != nil {
		t.Fatal(err)
	}
	direct := e.push()

	st, err := e.gate.Status(ctx, devPipeline)
	if err != nil || st.Waiting || st.Reason != "no approval is waiting" {
		t.Fatalf("before a release: %+v, %v", st, err)
	}

	exec := e.release()
	writes := e.gh.Writes()
	st, err = e.gate.Status(ctx, devPipeline)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Waiting || st.ExecutionID != exec || st.Revision != e.head || st.Deployed != deployed {
		t.Errorf("status %+v, want execution %s of %s over %s", st, exec, e.head[:7], deployed[:7])
	}
	if len(st.PRs) != 2 || !st.PRs[0].Complete || st.PRs[1].Complete || len(st.PRs[1].Holding) != 1 {
		t.Errorf("PRs %+v", st.PRs)
	}
	if !slices.Equal(st.Direct, []string{direct}) || st.Answer != Rejected {
		t.Errorf("direct %v answer %s: %s", st.Direct, st.Answer, st.Reason)
	}
	if n := len(e.results()); n != 0 {
		t.Errorf("status answered the approval: %+v", e.results())
	}
	if w := e.gh.Writes(); w != writes {
		t.Errorf("status wrote to GitHub %d times", w-writes)
	}
	if _, err := e.gate.Status(ctx, "nope"); !errors.Is(err, ErrUnknownPipeline) {
		t.Errorf("unknown pipeline: %v", err)
	}
}
