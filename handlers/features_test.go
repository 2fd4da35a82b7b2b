package handlers

import (
	"strings"
	"testing"
	"time"

	"github.com/checkoff-app/checkoff/internal/githubtest"
)

// Scenarios of the checklist features through the real stack: the body
// checklist (#15), path-scoped checklists, the owner's shared config and
// coding-agent PRs (#11).

// TestScenarioBodyChecklistAttributed: a body checklist owns the tasks
// outside the other sections; who ticked them is recorded and judged like
// any checklist's.
func TestScenarioBodyChecklistAttributed(t *testing.T) {
	h := newHarness(t)
	h.setConfig("checklists:\n  - name: Author Checklist\n    ticked_by: author\n  - name: Tasks\n    scope: body\n    ticked_by: author\n")
	tasks := func(box string) string {
		return "Intro\r\n\r\n- [" + box + "] update the changelog\r\n\r\n## Author Checklist\r\n- [x] Tested\r\n"
	}
	mustOK(t, h.opened(prState{Body: tasks(" "), At: t0}))
	wantRun(t, h.run("Tasks", hHead), "failure", "Tasks: 0 of 1 ticked")
	// A reviewer ticks the author's task: not counted.
	mustOK(t, h.edited(hReviewer, tasks(" "), prState{Body: tasks("x"), At: t0.Add(time.Minute)}))
	wantRun(t, h.run("Tasks", hHead), "failure", "Tasks: 0 of 1 ticked", "not the author")
	// The author unticks and ticks it: counted.
	mustOK(t, h.edited(hAuthor, tasks("x"), prState{Body: tasks(" "), At: t0.Add(2 * time.Minute)}))
	mustOK(t, h.edited(hAuthor, tasks(" "), prState{Body: tasks("x"), At: t0.Add(3 * time.Minute)}))
	wantRun(t, h.run("Tasks", hHead), "success", "Tasks: 1 of 1 ticked", "ticked by @"+hAuthor)
}

// TestScenarioPathScoped: the files list decides whether a path-scoped
// checklist applies.
func TestScenarioPathScoped(t *testing.T) {
	for name, tc := range map[string]struct {
		files      []string
		conclusion string
		title      string
	}{
		"no changed file matches": {[]string{"src/export.go"}, "success", "not required: no changed file matches"},
		"a changed file matches":  {[]string{"src/export.go", "migrations/0042.sql"}, "failure", "Migrations: 0 of 1 ticked"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.setConfig("checklists:\n  - name: Migrations\n    ticked_by: reviewer\n    paths: [\"migrations/**\"]\n")
			s := prState{Body: "## Migrations\r\n- [ ] Rollback tested\r\n", At: t0}
			h.setPull(s)
			pr, _ := h.gh.Pull(hRepo, hPR)
			pr.Files = tc.files
			h.gh.SetPull(hRepo, pr)
			mustOK(t, h.deliver("pull_request", h.prPayload("opened", hAuthor, s, nil)))
			wantRun(t, h.run("Migrations", hHead), tc.conclusion, tc.title)
		})
	}
}

// TestScenarioSharedConfig: a repository without its own config is judged
// under the owner's shared one (OWNER/.github, where the App is installed).
func TestScenarioSharedConfig(t *testing.T) {
	h := newHarness(t)
	h.gh.AddRepo(githubtest.Repo{FullName: hOwner + "/.github", DefaultBranch: "main", Installation: githubtest.FixtureInstallation})
	h.gh.SetFile(hOwner+"/.github", "main", configFile, "checklists:\n  - name: Security Review\n    ticked_by: reviewer\n")
	mustOK(t, h.opened(prState{Body: "## Security Review\r\n- [ ] Threat model updated\r\n", At: t0}))
	wantRun(t, h.run("Security Review", hHead), "failure", "Security Review: 0 of 1 ticked", "acme/.github")
	if _, ok := h.latest(authorList, hHead); ok {
		t.Error("judged under the defaults as well")
	}
}

// TestScenarioAgentPR: a PR a coding agent opened answers to its
// assignees: an assignee's author ticks count once assigned, its reviewer
// ticks never do.
func TestScenarioAgentPR(t *testing.T) {
	const agent = "copilot-swe-agent[bot]"
	h := newHarness(t)
	asAgent := func(p map[string]any) {
		githubtest.Set(p, "pull_request.user.login", agent)
		githubtest.Set(p, "pull_request.user.type", "Bot")
	}
	s := prState{Body: body("....", "...."), At: t0}
	h.setPull(s)
	mustOK(t, h.deliver("pull_request", h.prPayload("opened", agent, s, asAgent)))
	wantRun(t, h.run(authorList, hHead), "failure", "Author Checklist: 0 of 4 ticked", "assign the person responsible")

	assigned := func(p map[string]any) {
		asAgent(p)
		// A full user object, as GitHub sends one: the sender's, renamed.
		u := map[string]any{}
		for k, v := range p["sender"].(map[string]any) {
			u[k] = v
		}
		u["login"], u["type"] = hAuthor, "User"
		githubtest.Set(p, "pull_request.assignees", []any{u})
	}
	s1 := prState{Body: body("xxxx", "xxxx"), At: t0.Add(time.Minute)}
	h.setPull(s1)
	mustOK(t, h.deliver("pull_request", h.prPayload("edited", hAuthor, s1, func(p map[string]any) {
		assigned(p)
		githubtest.Set(p, "changes", map[string]any{"body": map[string]any{"from": s.Body}})
	})))
	wantRun(t, h.run(authorList, hHead), "success", "Author Checklist: 4 of 4 ticked")
	rv := h.run(reviewerList, hHead)
	wantRun(t, rv, "failure", "Reviewer Checklist: 0 of 4 ticked")
	if line := itemLine(t, rv, items(reviewerList)[0]); !strings.Contains(line, hAuthor+", the author") {
		t.Errorf("assignee's reviewer tick: %q", line)
	}
}
