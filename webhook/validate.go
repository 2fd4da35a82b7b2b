package webhook

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// A valid signature says that whoever holds the secret sent the body, not
// that the body fits X-GitHub-Event, nor that X-GitHub-Delivery is new:
// neither header is signed. validate checks that a payload has its event's
// shape and the fields its handler needs before anything acts on it, so a
// captured body re-sent under another event's name, or a payload a handler
// cannot use, is refused with 400 instead of costing GitHub calls, writes,
// and a 500 that the sweeper would redeliver.

// eventShape is what the ingress requires of one event's payloads.
type eventShape struct {
	// own are the top-level keys the event always carries. A payload with
	// a marker (below) that is neither own nor optional was made for
	// another event.
	own, optional []string
	// repo: the payload names a repository and an installation.
	repo bool
	// actedOn are the actions whose handler reads the event's objects (see
	// handlers.go); check validates those objects. Other actions are
	// answered without a GitHub call, so only their shape is checked.
	actedOn []string
	check   func(*envelope) string
	// reruns are the actions that only ask for a fresh judgement from what
	// GitHub says now, naming what to judge: two clicks on one run send
	// the same body, and a replayed one costs GitHub calls, not integrity.
	// The ingress remembers their delivery IDs, not their bodies.
	reruns []string
}

// eventShapes covers every event Handlers routes. An event missing here
// reaches its handler unchecked.
var eventShapes = map[string]eventShape{
	"pull_request": {
		own: []string{"pull_request", "number"}, repo: true,
		actedOn: []string{"opened", "edited", "synchronize", "reopened", "ready_for_review", "closed", "assigned", "unassigned"},
		check:   checkPullRequestEvent,
	},
	"pull_request_review": {
		own: []string{"pull_request", "review"}, repo: true,
		actedOn: []string{"submitted", "edited", "dismissed"},
		check:   checkReviewEvent,
	},
	"check_run": {
		own: []string{"check_run"}, optional: []string{"requested_action"}, repo: true,
		actedOn: []string{"rerequested", "requested_action"},
		check:   checkCheckRunEvent,
		reruns:  []string{"rerequested", "requested_action"},
	},
	"check_suite": {
		own: []string{"check_suite"}, repo: true,
		actedOn: []string{"rerequested"},
		check:   checkCheckSuiteEvent,
		reruns:  []string{"rerequested"},
	},
	"merge_group": {
		own: []string{"merge_group"}, repo: true,
		actedOn: []string{"checks_requested"},
		check:   checkMergeGroupEvent,
	},
	"installation":              {own: []string{"installation"}},
	"installation_repositories": {own: []string{"installation", "repositories_added", "repositories_removed"}},
}

// markers are the top-level keys that tell events apart: the objects of
// the events above, and of the events whose bodies are most like theirs
// (comments, review threads, issues, pushes).
var markers = []string{
	"pull_request", "number", "review", "check_run", "requested_action", "check_suite",
	"merge_group", "repositories_added", "repositories_removed",
	"comment", "thread", "issue", "pusher",
}

// has reports whether the payload carries the top-level key, not null.
func (e *envelope) has(key string) bool {
	switch key {
	case "installation":
		return e.Installation != nil
	case "pull_request":
		return e.PullRequest != nil
	case "number":
		return present(e.Number)
	case "review":
		return e.Review != nil
	case "check_run":
		return e.CheckRun != nil
	case "requested_action":
		return e.RequestedAction != nil
	case "check_suite":
		return e.CheckSuite != nil
	case "merge_group":
		return e.MergeGroup != nil
	case "repositories_added":
		return present(e.RepositoriesAdded)
	case "repositories_removed":
		return present(e.RepositoriesRemoved)
	case "comment":
		return present(e.Comment)
	case "thread":
		return present(e.Thread)
	case "issue":
		return present(e.Issue)
	case "pusher":
		return present(e.Pusher)
	}
	panic("webhook: envelope does not read top-level key " + key) // the tables and this switch disagree
}

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// validate returns why a payload of event cannot be handled, or "". The
// reason names fields, never their values: it is logged and answered.
func validate(event string, e *envelope) string {
	shape, ok := eventShapes[event]
	if !ok {
		return ""
	}
	for _, key := range markers {
		if e.has(key) && !slices.Contains(shape.own, key) && !slices.Contains(shape.optional, key) {
			return key + " in a " + event + " payload: it was made for another event"
		}
	}
	for _, key := range shape.own {
		if !e.has(key) {
			return "no " + key + " in a " + event + " payload"
		}
	}
	if shape.repo {
		if reason := checkRepository(e); reason != "" {
			return reason
		}
	}
	if shape.check != nil && slices.Contains(shape.actedOn, e.Action) {
		return shape.check(e)
	}
	return ""
}

// isRerun reports whether a delivery only asks for a re-run (see
// eventShape.reruns).
func isRerun(e *Event) bool {
	return slices.Contains(eventShapes[e.Name].reruns, e.Action)
}

// checkRepository checks what every repository event's handler builds
// GitHub paths and ledger keys from.
func checkRepository(e *envelope) string {
	switch r := e.Repository; {
	case e.Installation == nil || e.Installation.ID <= 0:
		return "installation.id missing"
	case r == nil:
		return "repository missing"
	case r.ID <= 0:
		return "repository.id missing"
	case !isName(r.Name):
		return "repository.name missing or not a repository name"
	case r.Owner == nil || !isName(r.Owner.Login):
		return "repository.owner.login missing or not a login"
	}
	return ""
}

func checkPullRequestEvent(e *envelope) string {
	if reason := checkPullRequest(e); reason != "" {
		return reason
	}
	pr := e.PullRequest
	var n int
	if json.Unmarshal(e.Number, &n) != nil || n != pr.Number {
		return "number differs from pull_request.number"
	}
	if e.Action == "closed" && pr.Merged && !isSHA(pr.MergeCommitSHA) {
		return "pull_request.merge_commit_sha missing or not a commit SHA on a merged pull request"
	}
	return ""
}

func checkReviewEvent(e *envelope) string {
	if reason := checkPullRequest(e); reason != "" {
		return reason
	}
	switch rv := e.Review; {
	case rv.ID <= 0:
		return "review.id missing"
	case rv.User == nil || rv.User.Login == "":
		return "review.user.login missing"
	case rv.State == "":
		return "review.state missing"
	}
	return ""
}

// checkPullRequest checks the pull request object app.PRFrom reads.
func checkPullRequest(e *envelope) string {
	switch pr := e.PullRequest; {
	case pr.Number <= 0:
		return "pull_request.number missing or not positive"
	case pr.Head == nil || !isSHA(pr.Head.SHA):
		return "pull_request.head.sha missing or not a commit SHA"
	case pr.Base == nil || pr.Base.Ref == "":
		return "pull_request.base.ref missing"
	case pr.User == nil || pr.User.Login == "":
		return "pull_request.user.login missing"
	case !isTime(pr.UpdatedAt):
		return "pull_request.updated_at missing or not a time"
	}
	return ""
}

func checkCheckRunEvent(e *envelope) string {
	switch run := e.CheckRun; {
	case run.ID <= 0:
		return "check_run.id missing"
	case !isSHA(run.HeadSHA):
		return "check_run.head_sha missing or not a commit SHA"
	}
	return ""
}

func checkCheckSuiteEvent(e *envelope) string {
	if !isSHA(e.CheckSuite.HeadSHA) {
		return "check_suite.head_sha missing or not a commit SHA"
	}
	return ""
}

func checkMergeGroupEvent(e *envelope) string {
	switch mg := e.MergeGroup; {
	case !isSHA(mg.HeadSHA):
		return "merge_group.head_sha missing or not a commit SHA"
	case mg.HeadRef == "":
		return "merge_group.head_ref missing"
	case mg.BaseRef == "":
		return "merge_group.base_ref missing"
	}
	return ""
}

// isSHA accepts a Git object name as GitHub writes it: 40 (SHA-1) or 64
// (SHA-256) lower-case hex digits. It becomes part of API paths and ledger
// keys, where any other spelling names something else, or nothing.
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isName accepts a GitHub login or repository name: not empty, and nothing
// that would change what a /repos/{owner}/{repo} path names.
func isName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\?#% \t\r\n")
}

func isTime(s string) bool {
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}
