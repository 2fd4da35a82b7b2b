package webhook

import "encoding/json"

// Event is a verified delivery, decoded once, by the Dispatcher, into the
// fields checkoff reads of any event it handles. A handler reads it and
// never decodes the payload again: decoding a 10-30 KiB payload twice (once
// here, once into go-github's full types) was a sixth of a delivery's CPU.
//
// Objects are pointers, so an absent key and a JSON null both read as nil.
// The Dispatcher has checked, by the table in validate.go, that the
// objects the handler of an acted-on action reads are present and well
// formed; other actions may come with any of them nil.
type Event struct {
	// Name is X-GitHub-Event: pull_request, check_run, ...
	Name string `json:"-"`
	// Delivery is X-GitHub-Delivery, the delivery's GUID.
	Delivery string `json:"-"`

	Action       string        `json:"action"`
	Before       string        `json:"before"` // synchronize: the previous head
	Sender       User          `json:"sender"`
	Installation *Installation `json:"installation"`
	Repository   *Repository   `json:"repository"`

	PullRequest     *PullRequest     `json:"pull_request"`
	Changes         *Changes         `json:"changes"`
	Review          *Review          `json:"review"`
	CheckRun        *CheckRun        `json:"check_run"`
	RequestedAction *RequestedAction `json:"requested_action"`
	CheckSuite      *CheckSuite      `json:"check_suite"`
	MergeGroup      *MergeGroup      `json:"merge_group"`
}

// User is a GitHub account as a payload names it.
type User struct {
	Login string `json:"login"`
	Type  string `json:"type"` // User, Bot, Organization
}

// Installation is the App installation a delivery is for.
type Installation struct {
	ID      int64 `json:"id"`
	Account *User `json:"account"`
}

// Repository is the repository a delivery is about.
type Repository struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	Owner    *User  `json:"owner"`
}

// RepoID is a repository named by its ID only, as in a pull request's base.
type RepoID struct {
	ID int64 `json:"id"`
}

// Branch is a pull request's head or base.
type Branch struct {
	Ref  string  `json:"ref"`
	SHA  string  `json:"sha"`
	Repo *RepoID `json:"repo"`
}

// PullRequest is a pull_request or pull_request_review payload's pull
// request.
type PullRequest struct {
	Number         int     `json:"number"`
	Head           *Branch `json:"head"`
	Base           *Branch `json:"base"`
	User           *User   `json:"user"`
	Assignees      []User  `json:"assignees"`
	Body           string  `json:"body"`
	UpdatedAt      string  `json:"updated_at"` // RFC 3339
	Merged         bool    `json:"merged"`
	MergeCommitSHA string  `json:"merge_commit_sha"`
}

// PullRequestRef is a pull request as a check run or suite lists it.
type PullRequestRef struct {
	Number int     `json:"number"`
	Base   *Branch `json:"base"`
}

// Changes is what an edited action changed; nil fields did not change.
type Changes struct {
	Body *Change `json:"body"`
	Base *struct {
		Ref *Change `json:"ref"`
		SHA *Change `json:"sha"`
	} `json:"base"`
}

// Change is a changed field's previous value.
type Change struct {
	From string `json:"from"`
}

// Review is a pull_request_review payload's review.
type Review struct {
	ID          int64  `json:"id"`
	User        *User  `json:"user"`
	State       string `json:"state"`
	Body        string `json:"body"`
	CommitID    string `json:"commit_id"`
	SubmittedAt string `json:"submitted_at"` // RFC 3339, or empty
}

// CheckRun is a check_run payload's run.
type CheckRun struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	HeadSHA string `json:"head_sha"`
	App     *struct {
		Slug string `json:"slug"`
	} `json:"app"`
	PullRequests []PullRequestRef `json:"pull_requests"`
}

// RequestedAction is the button of a check run a requested_action pressed.
type RequestedAction struct {
	Identifier string `json:"identifier"`
}

// CheckSuite is a check_suite payload's suite.
type CheckSuite struct {
	HeadSHA      string           `json:"head_sha"`
	PullRequests []PullRequestRef `json:"pull_requests"`
}

// MergeGroup is a merge_group payload's group.
type MergeGroup struct {
	HeadSHA string `json:"head_sha"`
	HeadRef string `json:"head_ref"`
	BaseRef string `json:"base_ref"` // refs/heads/<base>
}

// envelope decodes a payload into its Event, and beside it the keys the
// ingress reads only to tell events apart (see markers in validate.go).
type envelope struct {
	*Event

	Number              json.RawMessage `json:"number"`
	RepositoriesAdded   json.RawMessage `json:"repositories_added"`
	RepositoriesRemoved json.RawMessage `json:"repositories_removed"`
	Comment             json.RawMessage `json:"comment"`
	Thread              json.RawMessage `json:"thread"`
	Issue               json.RawMessage `json:"issue"`
	Pusher              json.RawMessage `json:"pusher"`
}
