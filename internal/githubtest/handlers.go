package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// handle answers a validated request. It runs with s.mu held and returns,
// besides the answer, what GitHub would reject beyond the schema (these fail
// the test).
func (s *Server) handle(req *request) (response, []string) {
	if _, ok := req.params["owner"]; ok && req.repo == nil {
		return notFound(), nil
	}
	switch req.op.id {
	case "checks/create":
		return s.createCheckRun(req)
	case "checks/update":
		return s.updateCheckRun(req)
	case "checks/list-for-ref":
		return s.listCheckRuns(req), nil
	case "repos/get-content":
		return s.getContent(req), nil
	case "repos/get-collaborator-permission-level":
		return s.getPermission(req), nil
	case "pulls/get":
		pr, ok := req.repo.pulls[atoi(req.params["pull_number"])]
		if !ok {
			return notFound(), nil
		}
		return response{status: http.StatusOK, body: s.pull(req.repo, pr)}, nil
	case "pulls/list-reviews":
		return s.listReviews(req), nil
	case "pulls/list-files":
		return s.listFiles(req), nil
	case "repos/compare-commits-with-basehead":
		return s.compare(req), nil
	case "repos/list-pull-requests-associated-with-commit":
		return s.pullsForCommit(req), nil
	case "issues/create-comment":
		return s.createComment(req)
	case "issues/list-comments":
		return s.listComments(req), nil
	case "issues/update-comment":
		return s.updateComment(req)
	case "apps/get-repo-installation":
		if req.repo.Installation == 0 {
			return notFound(), nil
		}
		return response{status: http.StatusOK, body: s.installation(req.repo.Installation, req.repo.owner)}, nil
	case "apps/create-installation-access-token":
		return s.createToken(req)
	case "apps/list-webhook-deliveries":
		return s.listDeliveries(req)
	case "apps/get-webhook-delivery":
		return s.getDelivery(req), nil
	case "apps/redeliver-webhook-delivery":
		return s.redeliver(req), nil
	case "apps/get-authenticated":
		return response{status: http.StatusOK, body: s.app()}, nil
	}
	return response{status: http.StatusNotImplemented, body: map[string]any{"message": "githubtest: " + req.op.id + " not implemented"}},
		[]string{req.op.id + " is in the subset but the fake does not implement it"}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// unprocessable is GitHub's 422 answer for a request it understood but
// refuses.
func unprocessable(problems ...string) (response, []string) {
	return response{status: http.StatusUnprocessableEntity, body: map[string]any{
		"message": "Validation Failed", "errors": problems,
		"documentation_url": "https://docs.github.com/rest", "status": "422"}}, problems
}

// checkRunBody is the request body of checks/create and checks/update,
// already validated against the schema.
type checkRunBody struct {
	Name        *string `json:"name"`
	HeadSHA     *string `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	ExternalID  *string `json:"external_id"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title   *string `json:"title"`
		Summary *string `json:"summary"`
		Text    *string `json:"text"`
	} `json:"output"`
	Actions *[]CheckRunAction `json:"actions"`
}

func decodeBody(v any, into any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// applyCheckRun applies a request body to a check run, enforcing the rules
// GitHub documents beyond the schema.
func applyCheckRun(cr *CheckRun, b *checkRunBody) []string {
	var problems []string
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&cr.Name, b.Name)
	set(&cr.DetailsURL, b.DetailsURL)
	set(&cr.ExternalID, b.ExternalID)
	if b.Name != nil && strings.TrimSpace(*b.Name) == "" {
		problems = append(problems, "name can't be blank")
	}
	parseTime := func(field string, dst *time.Time, src *string) {
		if src == nil {
			return
		}
		t, err := time.Parse(time.RFC3339, *src)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %q is not an ISO 8601 timestamp", field, *src))
			return
		}
		*dst = t.UTC()
	}
	parseTime("started_at", &cr.StartedAt, b.StartedAt)
	parseTime("completed_at", &cr.CompletedAt, b.CompletedAt)
	if b.Output != nil {
		set(&cr.Title, b.Output.Title)
		set(&cr.Summary, b.Output.Summary)
		set(&cr.Text, b.Output.Text)
	}
	if b.Actions != nil {
		cr.Actions = append([]CheckRunAction(nil), (*b.Actions)...)
	}
	if b.Status != nil {
		cr.Status = *b.Status
		if cr.Status != "completed" {
			cr.Conclusion = ""
		}
	}
	if b.Conclusion != nil {
		if *b.Conclusion == "stale" {
			problems = append(problems, "conclusion stale can only be set by GitHub")
		}
		// GitHub: providing a conclusion sets the status to completed.
		cr.Conclusion = *b.Conclusion
		cr.Status = "completed"
	}
	switch {
	case cr.Status == "completed" && cr.Conclusion == "":
		problems = append(problems, "conclusion is required when status is completed")
	case b.CompletedAt != nil && cr.Conclusion == "":
		problems = append(problems, "conclusion is required when completed_at is given")
	}
	if cr.Status == "completed" && cr.CompletedAt.IsZero() {
		cr.CompletedAt = now()
	}
	return problems
}

func (s *Server) createCheckRun(req *request) (response, []string) {
	var b checkRunBody
	if err := decodeBody(req.body, &b); err != nil {
		return unprocessable(err.Error())
	}
	sha := *b.HeadSHA
	if _, ok := req.repo.commits[sha]; !ok || !shaRE.MatchString(sha) {
		return unprocessable(fmt.Sprintf("No commit found for SHA: %s (the fake knows commits from AddCommit, SetBranch and SetPull)", sha))
	}
	cr := &CheckRun{ID: s.newID(), Status: "queued", StartedAt: now()}
	if problems := applyCheckRun(cr, &b); len(problems) > 0 {
		return unprocessable(problems...)
	}
	cr.HeadSHA = sha
	req.repo.checkRuns = append(req.repo.checkRuns, cr)
	return response{status: http.StatusCreated, body: s.checkRun(req.repo, cr)}, nil
}

func (s *Server) updateCheckRun(req *request) (response, []string) {
	id, _ := strconv.ParseInt(req.params["check_run_id"], 10, 64)
	var cr *CheckRun
	for _, c := range req.repo.checkRuns {
		if c.ID == id {
			cr = c
		}
	}
	if cr == nil {
		return notFound(), nil
	}
	var b checkRunBody
	if err := decodeBody(req.body, &b); err != nil {
		return unprocessable(err.Error())
	}
	updated := *cr
	updated.Actions = append([]CheckRunAction(nil), cr.Actions...)
	if problems := applyCheckRun(&updated, &b); len(problems) > 0 {
		return unprocessable(problems...) // nothing changes
	}
	updated.Updates++
	*cr = updated
	return response{status: http.StatusOK, body: s.checkRun(req.repo, cr)}, nil
}

func (s *Server) listCheckRuns(req *request) response {
	q := req.r.URL.Query()
	sha, ok := req.repo.resolve(req.params["ref"])
	if !ok {
		return notFound()
	}
	var runs []*CheckRun
	latest := map[string]*CheckRun{}
	for _, cr := range req.repo.checkRuns {
		if cr.HeadSHA != sha {
			continue
		}
		if name := q.Get("check_name"); name != "" && cr.Name != name {
			continue
		}
		if st := q.Get("status"); st != "" && cr.Status != st {
			continue
		}
		if id := q.Get("app_id"); id != "" && id != strconv.FormatInt(s.AppID, 10) {
			continue
		}
		if q.Get("filter") == "all" {
			runs = append(runs, cr)
		} else if old, ok := latest[cr.Name]; !ok || cr.ID > old.ID {
			latest[cr.Name] = cr
		}
	}
	for _, cr := range latest {
		runs = append(runs, cr)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID > runs[j].ID })
	lo, hi, link := s.paginate(req.r, len(runs), 30)
	items := []any{}
	for _, cr := range runs[lo:hi] {
		items = append(items, s.checkRun(req.repo, cr))
	}
	return withLink(response{status: http.StatusOK, body: map[string]any{"total_count": len(runs), "check_runs": items}}, link)
}

func (s *Server) getContent(req *request) response {
	rs := req.repo
	p := strings.Trim(req.params["path"], "/")
	ref := req.r.URL.Query().Get("ref")
	if ref == "" {
		ref = rs.DefaultBranch
	}
	files, ok := rs.files[ref]
	if !ok {
		// A SHA or branch may name the same commit as a ref files were set at.
		if sha, found := rs.resolve(ref); found {
			files = rs.files[sha]
			for branch, head := range rs.branches {
				if files == nil && head == sha {
					files = rs.files[branch]
				}
			}
		}
	}
	if content, ok := files[p]; ok {
		entry := s.contentEntry(rs, ref, p, "file", content)
		entry["content"] = base64Lines(content)
		entry["encoding"] = "base64"
		return response{status: http.StatusOK, body: entry}
	}
	var names []string
	seen := map[string]string{}
	for fp, content := range files {
		rest, ok := strings.CutPrefix(fp, p+"/")
		if !ok {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		if _, dup := seen[name]; dup {
			continue
		}
		names = append(names, name)
		seen[name] = "file:" + content
		if isDir {
			seen[name] = "dir"
		}
	}
	if len(names) == 0 {
		return notFound()
	}
	sort.Strings(names)
	list := []any{}
	for _, name := range names {
		kind := seen[name]
		if kind == "dir" {
			list = append(list, s.contentEntry(rs, ref, p+"/"+name, "dir", ""))
		} else {
			list = append(list, s.contentEntry(rs, ref, p+"/"+name, "file", strings.TrimPrefix(kind, "file:")))
		}
	}
	return response{status: http.StatusOK, body: list}
}

func (s *Server) getPermission(req *request) response {
	key := strings.ToLower(req.params["username"])
	role, ok := req.repo.perms[key]
	if !ok {
		return notFound()
	}
	u := s.user(req.repo.logins[key])
	u["role_name"] = role
	perm := roles[role]
	u["permissions"] = map[string]any{
		"admin": role == "admin", "maintain": role == "admin" || role == "maintain",
		"push": perm == "write" || perm == "admin", "triage": perm != "none" && role != "read",
		"pull": perm != "none",
	}
	return response{status: http.StatusOK, body: map[string]any{"permission": perm, "role_name": role, "user": u}}
}

func (s *Server) listReviews(req *request) response {
	n := atoi(req.params["pull_number"])
	if _, ok := req.repo.pulls[n]; !ok {
		return notFound()
	}
	var visible []*Review
	for _, rv := range req.repo.reviews[n] {
		if rv.State != "PENDING" { // pending reviews are visible to their author only
			visible = append(visible, rv)
		}
	}
	lo, hi, link := s.paginate(req.r, len(visible), 30)
	items := []any{}
	for _, rv := range visible[lo:hi] {
		items = append(items, s.review(req.repo, n, rv))
	}
	return withLink(response{status: http.StatusOK, body: items}, link)
}

// listFiles lists a pull request's changed files, paged like GitHub (30
// by default, at most 100 a page, 3,000 in all).
func (s *Server) listFiles(req *request) response {
	n := atoi(req.params["pull_number"])
	pr, ok := req.repo.pulls[n]
	if !ok {
		return notFound()
	}
	files := pr.Files
	if len(files) > maxPullFiles {
		files = files[:maxPullFiles]
	}
	lo, hi, link := s.paginate(req.r, len(files), 100)
	items := []any{}
	for _, f := range files[lo:hi] {
		items = append(items, s.diffEntry(req.repo, pr, f))
	}
	return withLink(response{status: http.StatusOK, body: items}, link)
}

// maxCompareFiles is how many files GitHub lists in a comparison at most.
const maxCompareFiles = 300

// compareFiles are the files the commits ahead change, each once, sorted,
// at most maxCompareFiles, as GitHub lists them in a comparison.
func (s *Server) compareFiles(rs *repoState, ahead []*Commit, head string) []any {
	seen := map[string]bool{}
	var names []string
	for _, c := range ahead {
		for _, f := range c.Files {
			if !seen[f] {
				seen[f] = true
				names = append(names, f)
			}
		}
	}
	sort.Strings(names)
	out := []any{}
	for _, f := range names {
		if len(out) == maxCompareFiles {
			break
		}
		out = append(out, s.diffEntry(rs, &PullRequest{HeadSHA: head}, f))
	}
	return out
}

// maxPullFiles is how many files GitHub lists for a pull request at most.
const maxPullFiles = 3000

// compare answers base...head like GitHub: the commits reachable from head
// and not from base, oldest first.
func (s *Server) compare(req *request) response {
	rs := req.repo
	base, head, ok := strings.Cut(req.params["basehead"], "...")
	if !ok || base == "" || head == "" || strings.Contains(head, "...") {
		return notFound()
	}
	baseSHA, ok1 := rs.resolve(base)
	headSHA, ok2 := rs.resolve(head)
	if !ok1 || !ok2 {
		return notFound()
	}
	fromBase := rs.ancestors(baseSHA)
	fromHead := rs.ancestors(headSHA)
	// Post-order walk from head over parents: parents before children.
	var ahead []*Commit
	done := map[string]bool{}
	var walk func(sha string)
	walk = func(sha string) {
		if done[sha] || fromBase[sha] {
			return
		}
		done[sha] = true
		c := rs.commits[sha]
		for _, p := range c.Parents {
			walk(p)
		}
		ahead = append(ahead, c)
	}
	walk(headSHA)
	behind := 0
	for sha := range fromBase {
		if !fromHead[sha] {
			behind++
		}
	}
	mergeBase := ""
	queue := []string{headSHA}
	for seen := map[string]bool{}; len(queue) > 0 && mergeBase == ""; {
		sha := queue[0]
		queue = queue[1:]
		if seen[sha] {
			continue
		}
		seen[sha] = true
		if fromBase[sha] {
			mergeBase = sha
			break
		}
		queue = append(queue, rs.commits[sha].Parents...)
	}
	status := "diverged"
	switch {
	case len(ahead) == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	// Without paging parameters GitHub returns up to 250 commits.
	lo, hi, link := 0, min(len(ahead), 250), ""
	if q := req.r.URL.Query(); q.Has("page") || q.Has("per_page") {
		lo, hi, link = s.paginate(req.r, len(ahead), 250)
	}
	commits := []any{}
	for _, c := range ahead[lo:hi] {
		commits = append(commits, s.commit(rs, c))
	}
	u := fmt.Sprintf("%s/repos/%s/compare/%s...%s", s.apiBase(), rs.FullName, base, head)
	html := fmt.Sprintf("%s/%s/compare/%s...%s", htmlBase, rs.FullName, base, head)
	var mb any = map[string]any{}
	if mergeBase != "" {
		mb = s.commit(rs, rs.commits[mergeBase])
	} else {
		mb = s.commit(rs, rs.commits[baseSHA])
	}
	return withLink(response{status: http.StatusOK, body: map[string]any{
		"url": u, "html_url": html, "permalink_url": fmt.Sprintf("%s/%s/compare/%s...%s", htmlBase, rs.FullName, baseSHA[:7], headSHA[:7]),
		"diff_url": html + ".diff", "patch_url": html + ".patch",
		"base_commit": s.commit(rs, rs.commits[baseSHA]), "merge_base_commit": mb,
		"status": status, "ahead_by": len(ahead), "behind_by": behind, "total_commits": len(ahead),
		"commits": commits, "files": s.compareFiles(rs, ahead, headSHA),
	}}, link)
}

// ancestors returns sha and every commit reachable from it.
func (rs *repoState) ancestors(sha string) map[string]bool {
	out := map[string]bool{}
	stack := []string{sha}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if out[c] {
			continue
		}
		out[c] = true
		if commit, ok := rs.commits[c]; ok {
			stack = append(stack, commit.Parents...)
		}
	}
	return out
}

func (s *Server) pullsForCommit(req *request) response {
	sha, ok := req.repo.resolve(req.params["commit_sha"])
	if !ok {
		return response{status: http.StatusUnprocessableEntity, body: map[string]any{
			"message": "No commit found for SHA: " + req.params["commit_sha"], "status": "422"}}
	}
	var found []*PullRequest
	for _, n := range sortedPullNumbers(req.repo) {
		pr := req.repo.pulls[n]
		match := pr.HeadSHA == sha || pr.MergeCommitSHA == sha
		for _, c := range pr.Commits {
			match = match || c == sha
		}
		if match {
			found = append(found, pr)
		}
	}
	lo, hi, link := s.paginate(req.r, len(found), 30)
	items := []any{}
	for _, pr := range found[lo:hi] {
		items = append(items, s.pullSimple(req.repo, pr))
	}
	return withLink(response{status: http.StatusOK, body: items}, link)
}

func sortedPullNumbers(rs *repoState) []int {
	var ns []int
	for n := range rs.pulls {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

// maxCommentBody is GitHub's limit on comment bodies, in characters.
const maxCommentBody = 65536

func (s *Server) createComment(req *request) (response, []string) {
	n := atoi(req.params["issue_number"])
	if _, ok := req.repo.pulls[n]; !ok {
		return notFound(), nil
	}
	body, _ := req.body.(map[string]any)["body"].(string)
	if problems := checkCommentBody(body); len(problems) > 0 {
		return unprocessable(problems...)
	}
	t := now()
	c := &Comment{ID: s.newID(), Number: n, User: s.botLogin(), Body: body, CreatedAt: t, UpdatedAt: t}
	req.repo.comments = append(req.repo.comments, c)
	return response{status: http.StatusCreated, body: s.issueComment(req.repo, c)}, nil
}

// checkCommentBody applies GitHub's rules on a comment body: not blank, at
// most maxCommentBody characters.
func checkCommentBody(body string) []string {
	if strings.TrimSpace(body) == "" {
		return []string{"body can't be blank"}
	}
	if l := len([]rune(body)); l > maxCommentBody {
		return []string{fmt.Sprintf("body is too long (%d characters, maximum is %d)", l, maxCommentBody)}
	}
	return nil
}

// listComments lists an issue's or pull request's comments oldest first,
// paged like GitHub (30 by default, at most 100).
func (s *Server) listComments(req *request) response {
	n := atoi(req.params["issue_number"])
	if _, ok := req.repo.pulls[n]; !ok {
		return notFound()
	}
	var since time.Time
	if v := req.r.URL.Query().Get("since"); v != "" {
		since, _ = time.Parse(time.RFC3339, v)
	}
	var list []*Comment
	for _, c := range req.repo.comments {
		if c.Number == n && !c.UpdatedAt.Before(since) {
			list = append(list, c)
		}
	}
	lo, hi, link := s.paginate(req.r, len(list), 100)
	items := []any{}
	for _, c := range list[lo:hi] {
		items = append(items, s.issueComment(req.repo, c))
	}
	return withLink(response{status: http.StatusOK, body: items}, link)
}

// updateComment edits a comment's body. Stricter than GitHub, which lets
// an installation with write access edit anyone's comment: the fake
// refuses (and fails the test) an edit of a comment the App did not write,
// because checkoff must never overwrite what a person wrote.
func (s *Server) updateComment(req *request) (response, []string) {
	id, _ := strconv.ParseInt(req.params["comment_id"], 10, 64)
	var c *Comment
	for _, x := range req.repo.comments {
		if x.ID == id {
			c = x
		}
	}
	if c == nil {
		return notFound(), nil
	}
	if c.User != s.botLogin() {
		return response{status: http.StatusForbidden, body: map[string]any{
				"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest", "status": "403"}},
			[]string{fmt.Sprintf("edit of comment %d written by %s, not by the App (%s)", id, c.User, s.botLogin())}
	}
	body, _ := req.body.(map[string]any)["body"].(string)
	if problems := checkCommentBody(body); len(problems) > 0 {
		return unprocessable(problems...)
	}
	c.Body, c.UpdatedAt = body, now()
	c.Updates++
	return response{status: http.StatusOK, body: s.issueComment(req.repo, c)}, nil
}

// issueComment renders a comment as the issue comment API does.
func (s *Server) issueComment(rs *repoState, c *Comment) map[string]any {
	u := fmt.Sprintf("%s/repos/%s/issues", s.apiBase(), rs.FullName)
	m := map[string]any{
		"id": c.ID, "node_id": nodeID("IssueComment", c.ID), "url": fmt.Sprintf("%s/comments/%d", u, c.ID),
		"html_url":  fmt.Sprintf("%s/%s/pull/%d#issuecomment-%d", htmlBase, rs.FullName, c.Number, c.ID),
		"issue_url": fmt.Sprintf("%s/%d", u, c.Number), "body": c.Body, "user": s.user(c.User),
		"created_at": ts(c.CreatedAt), "updated_at": ts(c.UpdatedAt), "author_association": "NONE",
		"reactions": map[string]any{"url": fmt.Sprintf("%s/comments/%d/reactions", u, c.ID), "total_count": 0,
			"+1": 0, "-1": 0, "laugh": 0, "confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0},
	}
	if c.User == s.botLogin() {
		m["performed_via_github_app"] = s.app()
	} else {
		m["author_association"] = s.association(rs, c.User)
	}
	return m
}

func (s *Server) createToken(req *request) (response, []string) {
	id, _ := strconv.ParseInt(req.params["installation_id"], 10, 64)
	byName := map[string]*repoState{}
	byID := map[int64]*repoState{}
	for key, rs := range s.repos {
		if rs.Installation == id {
			byName[key] = rs
			byID[rs.ID] = rs
		}
	}
	if _, configured := s.installPerms[id]; len(byName) == 0 && !configured {
		return notFound(), nil
	}
	var b struct {
		Repositories  []string          `json:"repositories"`
		RepositoryIDs []int64           `json:"repository_ids"`
		Permissions   map[string]string `json:"permissions"`
	}
	if req.body != nil {
		if err := decodeBody(req.body, &b); err != nil {
			return unprocessable(err.Error())
		}
	}
	var repos map[string]bool
	var problems []string
	for _, name := range b.Repositories {
		if repos == nil {
			repos = map[string]bool{}
		}
		// Names are without the owner; the installation's account owns them.
		found := false
		for key, rs := range byName {
			if strings.EqualFold(rs.name, name) {
				repos[key], found = true, true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("repository %q is not in installation %d", name, id))
		}
	}
	for _, rid := range b.RepositoryIDs {
		if repos == nil {
			repos = map[string]bool{}
		}
		rs, ok := byID[rid]
		if !ok {
			problems = append(problems, fmt.Sprintf("repository id %d is not in installation %d", rid, id))
			continue
		}
		repos[strings.ToLower(rs.FullName)] = true
	}
	granted := s.permsOf(id)
	perms := granted
	if b.Permissions != nil {
		perms = map[string]string{}
		for name, level := range b.Permissions {
			if !hasPermission(granted, name+":"+level) {
				problems = append(problems, fmt.Sprintf("The permissions requested are not granted to this installation: %s:%s", name, level))
			}
			perms[name] = level
		}
	}
	if len(problems) > 0 {
		return unprocessable(problems...)
	}
	tok := s.issueToken(id, perms, repos)
	permsOut := map[string]any{}
	for k, v := range perms {
		permsOut[k] = v
	}
	selection := "all"
	if repos != nil {
		selection = "selected"
	}
	return response{status: http.StatusCreated, body: map[string]any{
		"token": tok.value, "expires_at": ts(tok.expires), "permissions": permsOut,
		"repository_selection": selection,
	}}, nil
}

// listDeliveries pages newest first with an opaque cursor, like GitHub.
func (s *Server) listDeliveries(req *request) (response, []string) {
	q := req.r.URL.Query()
	all := s.sortedDeliveries()
	var list []*Delivery
	for _, d := range all {
		ok := d.StatusCode >= 200 && d.StatusCode < 300
		switch q.Get("status") {
		case "success":
			if !ok {
				continue
			}
		case "failure":
			if ok {
				continue
			}
		}
		list = append(list, d)
	}
	start := 0
	if c := q.Get("cursor"); c != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(c, "v1_"), 10, 64)
		if err != nil || !strings.HasPrefix(c, "v1_") {
			return unprocessable(fmt.Sprintf("cursor %q is not a cursor this API returned", c))
		}
		start = len(list)
		for i, d := range list {
			if d.ID == id {
				start = i + 1
			}
		}
	}
	per := perPage(q, 30)
	end := min(start+per, len(list))
	items := []any{}
	for _, d := range list[start:end] {
		items = append(items, s.deliveryItem(d))
	}
	link := ""
	if end < len(list) {
		next := url.Values{"per_page": {strconv.Itoa(per)}, "cursor": {fmt.Sprintf("v1_%d", list[end-1].ID)}}
		if st := q.Get("status"); st != "" {
			next.Set("status", st)
		}
		link = fmt.Sprintf(`<%sapp/hook/deliveries?%s>; rel="next"`, s.URL, next.Encode())
	}
	return withLink(response{status: http.StatusOK, body: items}, link), nil
}

func (s *Server) findDelivery(req *request) *Delivery {
	id, _ := strconv.ParseInt(req.params["delivery_id"], 10, 64)
	for _, d := range s.deliveries {
		if d.ID == id {
			return d
		}
	}
	return nil
}

func (s *Server) getDelivery(req *request) response {
	d := s.findDelivery(req)
	if d == nil {
		return notFound()
	}
	m := s.deliveryItem(d)
	var payload any
	if err := json.Unmarshal(d.Payload, &payload); err != nil {
		payload = map[string]any{}
	}
	headers := map[string]any{
		"Accept": "*/*", "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/fake",
		"X-GitHub-Delivery": d.GUID, "X-GitHub-Event": d.Event,
		"X-GitHub-Hook-ID": "1", "X-GitHub-Hook-Installation-Target-ID": strconv.FormatInt(s.AppID, 10),
		"X-GitHub-Hook-Installation-Target-Type": "integration",
	}
	m["request"] = map[string]any{"headers": headers, "payload": payload}
	m["response"] = map[string]any{"headers": map[string]any{}, "payload": ""}
	m["url"] = "https://checkoff.example.com/webhook"
	return response{status: http.StatusOK, body: m}
}

func (s *Server) redeliver(req *request) response {
	d := s.findDelivery(req)
	if d == nil {
		return notFound()
	}
	re := *d
	re.ID = s.newID()
	re.Redelivery = true
	re.DeliveredAt = now()
	re.StatusCode = s.redeliverCode
	re.Status = deliveryStatus(re.StatusCode)
	s.deliveries = append(s.deliveries, &re)
	return response{status: http.StatusAccepted, body: map[string]any{}}
}

func perPage(q url.Values, def int) int {
	per := def
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = v
	}
	return min(per, 100)
}

// paginate applies page/per_page to total items and builds GitHub's Link
// header. max caps per_page (100 for most lists).
func (s *Server) paginate(r *http.Request, total, max int) (lo, hi int, link string) {
	q := r.URL.Query()
	per := 30
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = v
	}
	if per > max {
		per = max
	}
	if max < 100 {
		per = min(per, 100)
	}
	page := 1
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	lo = min((page-1)*per, total)
	hi = min(lo+per, total)
	last := (total + per - 1) / per
	var links []string
	rel := func(p int, name string) {
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		links = append(links, fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.apiBase(), r.URL.EscapedPath(), v.Encode(), name))
	}
	if page < last {
		rel(page+1, "next")
		rel(last, "last")
	}
	if page > 1 {
		rel(1, "first")
		rel(page-1, "prev")
	}
	return lo, hi, strings.Join(links, ", ")
}

func withLink(resp response, link string) response {
	if link != "" {
		if resp.header == nil {
			resp.header = http.Header{}
		}
		resp.header.Set("Link", link)
	}
	return resp
}
