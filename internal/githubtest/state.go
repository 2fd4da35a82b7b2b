package githubtest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Repo is a repository the fake knows.
type Repo struct {
	FullName      string // "owner/name"; required
	ID            int64  // assigned when 0
	DefaultBranch string // "main" when empty
	Private       bool
	// Installation is the App's installation ID on the repo; 0 means the
	// App is not installed there.
	Installation int64
}

// Commit is a git commit of a repository.
type Commit struct {
	SHA     string // 40 lower-case hex digits
	Parents []string
	Message string
	Author  string    // GitHub login of author and committer; "" for none
	Date    time.Time // now when zero
	// Committer, when set, is the committer's login when it differs from
	// Author ("web-flow" for commits GitHub makes, like "Update branch").
	Committer string
	// Verified marks a commit whose signature GitHub verified (GitHub signs
	// the commits it makes itself).
	Verified bool
	// Files are the paths the commit changes (a compare lists the union
	// over the commits it spans).
	Files []string
}

// PullRequest is a pull request. Zero fields get GitHub-like defaults in
// SetPull.
type PullRequest struct {
	Number  int
	Title   string // "Pull request #N" when empty
	Body    string
	User    string // author login; required
	State   string // "open" (default) or "closed"
	Draft   bool
	BaseRef string // base branch; the default branch when empty
	BaseSHA string // the base branch's commit when empty
	HeadRef string // "feature-N" when empty
	HeadSHA string // required
	// Commits are the pull request's commits, for the commit -> pulls
	// lookup (head and merge commit are always included).
	Commits []string
	// Files are the paths the pull request changes, as its files list
	// shows them.
	Files          []string
	Merged         bool
	MergeCommitSHA string
	MergedBy       string // User when empty and Merged
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ClosedAt       time.Time
	MergedAt       time.Time
}

// Review is a pull request review.
type Review struct {
	ID          int64  // assigned when 0
	User        string // required
	State       string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING
	Body        string
	CommitID    string    // the pull request's head SHA when empty
	SubmittedAt time.Time // now when zero
}

// CheckRun is a check run as stored by the fake.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string
	Status      string // queued, in_progress or completed
	Conclusion  string // empty until completed
	DetailsURL  string
	ExternalID  string
	Title       string
	Summary     string
	Text        string
	Actions     []CheckRunAction
	StartedAt   time.Time
	CompletedAt time.Time
	Updates     int // PATCH requests applied since creation
}

// CheckRunAction is a button on a check run.
type CheckRunAction struct {
	Label       string `json:"label"`
	Description string `json:"description"`
	Identifier  string `json:"identifier"`
}

// Comment is an issue (pull request) comment.
type Comment struct {
	ID        int64
	Number    int    // issue or pull request number
	User      string // the App's bot for comments the code under test posted
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
	Updates   int // edits applied since creation
}

// Delivery is a webhook delivery of the App, as GET /app/hook/deliveries
// lists it.
type Delivery struct {
	ID          int64     // assigned when 0
	GUID        string    // the X-GitHub-Delivery value; assigned when empty
	DeliveredAt time.Time // now when zero
	Redelivery  bool
	Duration    float64 // seconds
	// Status is GitHub's text, like "OK" or "Invalid HTTP Response: 503";
	// derived from StatusCode when empty.
	Status         string
	StatusCode     int // 0 when GitHub could not connect
	Event          string
	Action         string
	InstallationID int64
	RepositoryID   int64
	Payload        json.RawMessage // the delivered body; {} when empty
}

// Roles a collaborator can have, as GitHub names them in role_name.
var roles = map[string]string{ // role_name -> permission
	"admin": "admin", "maintain": "write", "write": "write",
	"triage": "read", "read": "read", "none": "none",
}

type repoState struct {
	Repo
	owner, name string
	files       map[string]map[string]string // ref -> path -> content
	branches    map[string]string            // branch -> sha
	commits     map[string]*Commit
	perms       map[string]string // lower-case login -> role
	logins      map[string]string // lower-case login -> login as set
	pulls       map[int]*PullRequest
	reviews     map[int][]*Review
	checkRuns   []*CheckRun
	comments    []*Comment
}

var (
	fullNameRE = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	shaRE      = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// AddRepo adds a repository and returns it with defaults filled in.
func (s *Server) AddRepo(r Repo) Repo {
	s.t.Helper()
	if !fullNameRE.MatchString(r.FullName) {
		s.t.Fatalf("githubtest: AddRepo: FullName %q is not owner/name", r.FullName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(r.FullName)
	if _, ok := s.repos[key]; ok {
		s.t.Fatalf("githubtest: AddRepo: %s added twice", r.FullName)
	}
	if r.ID == 0 {
		r.ID = s.newID()
	}
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	owner, name, _ := strings.Cut(r.FullName, "/")
	s.repos[key] = &repoState{
		Repo: r, owner: owner, name: name,
		files: map[string]map[string]string{}, branches: map[string]string{},
		commits: map[string]*Commit{}, perms: map[string]string{}, logins: map[string]string{},
		pulls: map[int]*PullRequest{}, reviews: map[int][]*Review{},
	}
	return r
}

// repo returns a repository set up earlier, failing the test otherwise.
// Called with s.mu held.
func (s *Server) repo(fullName string) *repoState {
	s.t.Helper()
	rs, ok := s.repos[strings.ToLower(fullName)]
	if !ok {
		s.t.Fatalf("githubtest: repository %s not added (call AddRepo first)", fullName)
	}
	return rs
}

// SetBranch points a branch at a commit (added as a commit when unknown).
func (s *Server) SetBranch(repo, branch, sha string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	s.checkSHA("SetBranch", sha)
	rs.branches[branch] = sha
	rs.knowCommit(sha)
}

// AddCommit adds a commit; parents not known yet are added as root commits.
func (s *Server) AddCommit(repo string, c Commit) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	s.checkSHA("AddCommit", c.SHA)
	for _, p := range c.Parents {
		s.checkSHA("AddCommit parent", p)
		rs.knowCommit(p)
	}
	if c.Date.IsZero() {
		c.Date = now()
	}
	if c.Message == "" {
		c.Message = "Commit " + c.SHA[:7]
	}
	c.Parents = append([]string(nil), c.Parents...)
	c.Files = append([]string(nil), c.Files...)
	rs.commits[c.SHA] = &c
}

func (s *Server) checkSHA(what, sha string) {
	s.t.Helper()
	if !shaRE.MatchString(sha) {
		s.t.Fatalf("githubtest: %s: %q is not a 40-digit lower-case hex SHA", what, sha)
	}
}

// knowCommit registers sha as a commit when it is not known yet.
func (rs *repoState) knowCommit(sha string) {
	if sha == "" {
		return
	}
	if _, ok := rs.commits[sha]; !ok {
		rs.commits[sha] = &Commit{SHA: sha, Message: "Commit " + sha[:7], Date: now()}
	}
}

// SetFile sets the content of a file at ref (a branch name or commit SHA).
// The contents API finds a file at the ref asked for, or at the branch whose
// head is the SHA asked for.
func (s *Server) SetFile(repo, ref, path, content string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	if rs.files[ref] == nil {
		rs.files[ref] = map[string]string{}
	}
	rs.files[ref][strings.Trim(path, "/")] = content
}

// DeleteFile removes a file at ref.
func (s *Server) DeleteFile(repo, ref, path string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.repo(repo).files[ref], strings.Trim(path, "/"))
}

// SetPermission gives login a role on the repository: admin, maintain,
// write, triage, read or none. Logins never given a role are unknown users:
// the permission API answers 404 for them.
func (s *Server) SetPermission(repo, login, role string) {
	s.t.Helper()
	if _, ok := roles[role]; !ok {
		s.t.Fatalf("githubtest: SetPermission: role %q is not admin, maintain, write, triage, read or none", role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	rs.perms[strings.ToLower(login)] = role
	rs.logins[strings.ToLower(login)] = login
}

// SetPull adds or replaces a pull request, filling defaults, and returns it
// as stored. Its head, base and merge commits become known commits.
func (s *Server) SetPull(repo string, pr PullRequest) PullRequest {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	if pr.Number <= 0 || pr.User == "" {
		s.t.Fatalf("githubtest: SetPull: Number and User are required, got #%d by %q", pr.Number, pr.User)
	}
	s.checkSHA("SetPull HeadSHA", pr.HeadSHA)
	if pr.Title == "" {
		pr.Title = fmt.Sprintf("Pull request #%d", pr.Number)
	}
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.State != "open" && pr.State != "closed" {
		s.t.Fatalf("githubtest: SetPull: State %q is not open or closed", pr.State)
	}
	if pr.BaseRef == "" {
		pr.BaseRef = rs.DefaultBranch
	}
	if pr.HeadRef == "" {
		pr.HeadRef = fmt.Sprintf("feature-%d", pr.Number)
	}
	if pr.BaseSHA == "" {
		pr.BaseSHA = rs.branches[pr.BaseRef]
	}
	if pr.BaseSHA == "" {
		sum := sha1.Sum([]byte(rs.FullName + "\x00" + pr.BaseRef))
		pr.BaseSHA = hex.EncodeToString(sum[:])
	}
	s.checkSHA("SetPull BaseSHA", pr.BaseSHA)
	t := now()
	if pr.CreatedAt.IsZero() {
		pr.CreatedAt = t
	}
	if pr.UpdatedAt.IsZero() {
		pr.UpdatedAt = t
	}
	if pr.Merged {
		s.checkSHA("SetPull MergeCommitSHA", pr.MergeCommitSHA)
		pr.State = "closed"
		if pr.MergedAt.IsZero() {
			pr.MergedAt = pr.UpdatedAt
		}
		if pr.MergedBy == "" {
			pr.MergedBy = pr.User
		}
	}
	if pr.State == "closed" && pr.ClosedAt.IsZero() {
		pr.ClosedAt = pr.UpdatedAt
	}
	pr.Commits = append([]string(nil), pr.Commits...)
	for _, sha := range append([]string{pr.HeadSHA, pr.BaseSHA, pr.MergeCommitSHA}, pr.Commits...) {
		rs.knowCommit(sha)
	}
	rs.pulls[pr.Number] = &pr
	return pr
}

// Pull returns a pull request as stored.
func (s *Server) Pull(repo string, number int) (PullRequest, bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, ok := s.repo(repo).pulls[number]
	if !ok {
		return PullRequest{}, false
	}
	return *pr, true
}

// SetReview adds a review to a pull request, or replaces the review with
// the same ID (to edit or dismiss it), and returns it as stored.
func (s *Server) SetReview(repo string, number int, rv Review) Review {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	pr, ok := rs.pulls[number]
	if !ok {
		s.t.Fatalf("githubtest: SetReview: %s has no pull request #%d", repo, number)
	}
	switch rv.State {
	case "APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING":
	default:
		s.t.Fatalf("githubtest: SetReview: State %q is not APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING", rv.State)
	}
	if rv.User == "" {
		s.t.Fatalf("githubtest: SetReview: User is required")
	}
	if rv.CommitID == "" {
		rv.CommitID = pr.HeadSHA
	}
	if rv.SubmittedAt.IsZero() && rv.State != "PENDING" {
		rv.SubmittedAt = now()
	}
	if rv.ID == 0 {
		rv.ID = s.newID()
	}
	for i, old := range rs.reviews[number] {
		if old.ID == rv.ID {
			rs.reviews[number][i] = &rv
			return rv
		}
	}
	rs.reviews[number] = append(rs.reviews[number], &rv)
	return rv
}

// AddCheckRun stores a check run as if created earlier (by this App), and
// returns it with its ID.
func (s *Server) AddCheckRun(repo string, cr CheckRun) CheckRun {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	s.checkSHA("AddCheckRun HeadSHA", cr.HeadSHA)
	rs.knowCommit(cr.HeadSHA)
	if cr.ID == 0 {
		cr.ID = s.newID()
	}
	if cr.Status == "" {
		cr.Status = "queued"
		if cr.Conclusion != "" {
			cr.Status = "completed"
		}
	}
	if cr.StartedAt.IsZero() {
		cr.StartedAt = now()
	}
	rs.checkRuns = append(rs.checkRuns, &cr)
	return cr
}

// CheckRuns returns the repository's check runs in creation order, each in
// its latest state.
func (s *Server) CheckRuns(repo string) []CheckRun {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckRun
	for _, cr := range s.repo(repo).checkRuns {
		c := *cr
		c.Actions = append([]CheckRunAction(nil), cr.Actions...)
		out = append(out, c)
	}
	return out
}

// Comments returns the comments posted on an issue or pull request, oldest
// first.
func (s *Server) Comments(repo string, number int) []Comment {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.repo(repo).comments {
		if c.Number == number {
			out = append(out, *c)
		}
	}
	return out
}

// AddComment stores a comment on a pull request as if posted earlier (by a
// person, or by the App when User is its bot login), and returns it with
// its ID.
func (s *Server) AddComment(repo string, c Comment) Comment {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	if _, ok := rs.pulls[c.Number]; !ok {
		s.t.Fatalf("githubtest: AddComment: %s has no pull request #%d", repo, c.Number)
	}
	if c.User == "" || strings.TrimSpace(c.Body) == "" {
		s.t.Fatalf("githubtest: AddComment: User and Body are required")
	}
	if c.ID == 0 {
		c.ID = s.newID()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	rs.comments = append(rs.comments, &c)
	return c
}

// DeleteComment removes a comment, as a person deleting it would.
func (s *Server) DeleteComment(repo string, id int64) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.repo(repo)
	for i, c := range rs.comments {
		if c.ID == id {
			rs.comments = append(rs.comments[:i:i], rs.comments[i+1:]...)
			return
		}
	}
	s.t.Fatalf("githubtest: DeleteComment: %s has no comment %d", repo, id)
}

// BotLogin is the login of the App's bot user, which the comments and check
// runs the code under test posts are attributed to.
func (s *Server) BotLogin() string { return s.botLogin() }

// AddDelivery records a webhook delivery of the App and returns it with
// defaults filled in.
func (s *Server) AddDelivery(d Delivery) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.ID == 0 {
		d.ID = s.newID()
	}
	if d.GUID == "" {
		d.GUID = guid(d.ID)
	}
	if d.DeliveredAt.IsZero() {
		d.DeliveredAt = now()
	}
	if d.Status == "" {
		d.Status = deliveryStatus(d.StatusCode)
	}
	if len(d.Payload) == 0 {
		d.Payload = json.RawMessage("{}")
	}
	if d.Event == "" {
		d.Event = "pull_request"
	}
	s.deliveries = append(s.deliveries, &d)
	return d
}

// Deliveries returns every delivery, redeliveries included, newest first
// (the order GitHub lists them in).
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Delivery
	for _, d := range s.sortedDeliveries() {
		out = append(out, *d)
	}
	return out
}

// SetRedeliveryStatus sets the HTTP status the fake records for later
// redeliveries (200 by default): the fake does not deliver anything itself.
func (s *Server) SetRedeliveryStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redeliverCode = code
}

// sortedDeliveries orders deliveries newest first. Called with s.mu held.
func (s *Server) sortedDeliveries() []*Delivery {
	out := append([]*Delivery(nil), s.deliveries...)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].DeliveredAt.Equal(out[j].DeliveredAt) {
			return out[i].DeliveredAt.After(out[j].DeliveredAt)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

func deliveryStatus(code int) string {
	switch {
	case code == 0:
		return "failed to connect to host"
	case code >= 200 && code < 300:
		return "OK"
	}
	return fmt.Sprintf("Invalid HTTP Response: %d", code)
}

// guid derives a stable delivery GUID from an ID.
func guid(id int64) string {
	sum := sha1.Sum([]byte(fmt.Sprint(id)))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// now is the fake's clock, truncated like GitHub's timestamps.
func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// resolve turns a branch name, full SHA or unique SHA prefix (7+ digits)
// into a known commit SHA.
func (rs *repoState) resolve(ref string) (string, bool) {
	ref = strings.TrimPrefix(ref, "refs/heads/")
	ref = strings.TrimPrefix(ref, "heads/")
	if sha, ok := rs.branches[ref]; ok {
		return sha, true
	}
	if _, ok := rs.commits[ref]; ok {
		return ref, true
	}
	if len(ref) >= 7 && len(ref) < 40 {
		found := ""
		for sha := range rs.commits {
			if strings.HasPrefix(sha, ref) {
				if found != "" {
					return "", false
				}
				found = sha
			}
		}
		return found, found != ""
	}
	return "", false
}

// notFound is GitHub's 404 answer.
func notFound() response {
	return response{status: http.StatusNotFound, body: map[string]any{
		"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}}
}
