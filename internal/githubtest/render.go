package githubtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"path"
	"strings"
	"time"
)

// The renderers build response objects with every field GitHub's response
// schemas require, so go-github (and the schema self-test) accept them.
// Called with s.mu held.

const htmlBase = "https://github.com"

func (s *Server) apiBase() string { return strings.TrimSuffix(s.URL, "/") }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func strOrNil(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// userID gives every login a stable positive ID.
func userID(login string) int64 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum32()%90000000) + 1000000
}

func nodeID(kind string, id int64) string {
	return base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d", kind, id)))
}

func (s *Server) user(login string) map[string]any {
	u := s.apiBase() + "/users/" + login
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	id := userID(login)
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID("User", id),
		"avatar_url": fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id), "gravatar_id": "",
		"url": u, "html_url": htmlBase + "/" + login,
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "type": typ, "site_admin": false,
		"user_view_type": "public",
	}
}

func (s *Server) userOrNil(login string) any {
	if login == "" {
		return nil
	}
	return s.user(login)
}

func (s *Server) botLogin() string { return s.AppSlug + "[bot]" }

func (s *Server) repository(rs *repoState) map[string]any {
	u := s.apiBase() + "/repos/" + rs.FullName
	html := htmlBase + "/" + rs.FullName
	created := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	visibility := "public"
	if rs.Private {
		visibility = "private"
	}
	return map[string]any{
		"id": rs.ID, "node_id": nodeID("Repository", rs.ID), "name": rs.name, "full_name": rs.FullName,
		"owner": s.user(rs.owner), "private": rs.Private, "html_url": html, "description": nil,
		"fork": false, "url": u,
		"archive_url": u + "/{archive_format}{/ref}", "assignees_url": u + "/assignees{/user}",
		"blobs_url": u + "/git/blobs{/sha}", "branches_url": u + "/branches{/branch}",
		"collaborators_url": u + "/collaborators{/collaborator}", "comments_url": u + "/comments{/number}",
		"commits_url": u + "/commits{/sha}", "compare_url": u + "/compare/{base}...{head}",
		"contents_url": u + "/contents/{+path}", "contributors_url": u + "/contributors",
		"deployments_url": u + "/deployments", "downloads_url": u + "/downloads", "events_url": u + "/events",
		"forks_url": u + "/forks", "git_commits_url": u + "/git/commits{/sha}", "git_refs_url": u + "/git/refs{/sha}",
		"git_tags_url": u + "/git/tags{/sha}", "git_url": "git://github.com/" + rs.FullName + ".git",
		"issue_comment_url": u + "/issues/comments{/number}", "issue_events_url": u + "/issues/events{/number}",
		"issues_url": u + "/issues{/number}", "keys_url": u + "/keys{/key_id}", "labels_url": u + "/labels{/name}",
		"languages_url": u + "/languages", "merges_url": u + "/merges", "milestones_url": u + "/milestones{/number}",
		"notifications_url": u + "/notifications{?since,all,participating}", "pulls_url": u + "/pulls{/number}",
		"releases_url": u + "/releases{/id}", "ssh_url": "git@github.com:" + rs.FullName + ".git",
		"stargazers_url": u + "/stargazers", "statuses_url": u + "/statuses/{sha}", "subscribers_url": u + "/subscribers",
		"subscription_url": u + "/subscription", "tags_url": u + "/tags", "teams_url": u + "/teams",
		"trees_url": u + "/git/trees{/sha}", "clone_url": html + ".git", "mirror_url": nil,
		"hooks_url": u + "/hooks", "svn_url": html, "homepage": nil, "language": "Go",
		"forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "size": 120,
		"default_branch": rs.DefaultBranch, "open_issues_count": 0, "is_template": false, "topics": []any{},
		"has_issues": true, "has_projects": true, "has_wiki": false, "has_pages": false, "has_downloads": true,
		"has_discussions": false, "archived": false, "disabled": false, "visibility": visibility,
		"pushed_at": ts(created), "created_at": ts(created), "updated_at": ts(created),
		"allow_forking": true, "web_commit_signoff_required": false, "license": nil,
		"forks": 0, "open_issues": 0, "watchers": 0,
	}
}

func (s *Server) prLinks(rs *repoState, n int) map[string]any {
	u := fmt.Sprintf("%s/repos/%s", s.apiBase(), rs.FullName)
	link := func(h string) map[string]any { return map[string]any{"href": h} }
	return map[string]any{
		"self":            link(fmt.Sprintf("%s/pulls/%d", u, n)),
		"html":            link(fmt.Sprintf("%s/%s/pull/%d", htmlBase, rs.FullName, n)),
		"issue":           link(fmt.Sprintf("%s/issues/%d", u, n)),
		"comments":        link(fmt.Sprintf("%s/issues/%d/comments", u, n)),
		"review_comments": link(fmt.Sprintf("%s/pulls/%d/comments", u, n)),
		"review_comment":  link(u + "/pulls/comments{/number}"),
		"commits":         link(fmt.Sprintf("%s/pulls/%d/commits", u, n)),
		"statuses":        link(fmt.Sprintf("%s/statuses/%s", u, "")),
	}
}

// pullSimple renders the pull-request-simple shape; pull adds the fields of
// the full pull-request shape.
func (s *Server) pullSimple(rs *repoState, pr *PullRequest) map[string]any {
	u := fmt.Sprintf("%s/repos/%s", s.apiBase(), rs.FullName)
	id := int64(pr.Number)*1000 + rs.ID
	links := s.prLinks(rs, pr.Number)
	links["statuses"] = map[string]any{"href": u + "/statuses/" + pr.HeadSHA}
	ref := func(branch, sha string) map[string]any {
		return map[string]any{
			"label": rs.owner + ":" + branch, "ref": branch, "sha": sha,
			"user": s.user(rs.owner), "repo": s.repository(rs),
		}
	}
	var mergeSHA any
	if pr.MergeCommitSHA != "" {
		mergeSHA = pr.MergeCommitSHA
	}
	var body any
	if pr.Body != "" {
		body = pr.Body // GitHub sends null for an empty description
	}
	return map[string]any{
		"url": fmt.Sprintf("%s/pulls/%d", u, pr.Number), "id": id, "node_id": nodeID("PullRequest", id),
		"html_url":            fmt.Sprintf("%s/%s/pull/%d", htmlBase, rs.FullName, pr.Number),
		"diff_url":            fmt.Sprintf("%s/%s/pull/%d.diff", htmlBase, rs.FullName, pr.Number),
		"patch_url":           fmt.Sprintf("%s/%s/pull/%d.patch", htmlBase, rs.FullName, pr.Number),
		"issue_url":           fmt.Sprintf("%s/issues/%d", u, pr.Number),
		"commits_url":         fmt.Sprintf("%s/pulls/%d/commits", u, pr.Number),
		"review_comments_url": fmt.Sprintf("%s/pulls/%d/comments", u, pr.Number),
		"review_comment_url":  u + "/pulls/comments{/number}",
		"comments_url":        fmt.Sprintf("%s/issues/%d/comments", u, pr.Number),
		"statuses_url":        u + "/statuses/" + pr.HeadSHA,
		"number":              pr.Number, "state": pr.State, "locked": false, "title": pr.Title,
		"user": s.user(pr.User), "body": body, "labels": []any{}, "milestone": nil,
		"active_lock_reason": nil, "created_at": ts(pr.CreatedAt), "updated_at": ts(pr.UpdatedAt),
		"closed_at": tsOrNil(pr.ClosedAt), "merged_at": tsOrNil(pr.MergedAt), "merge_commit_sha": mergeSHA,
		"assignee": nil, "assignees": []any{}, "requested_reviewers": []any{}, "requested_teams": []any{},
		"head": ref(pr.HeadRef, pr.HeadSHA), "base": ref(pr.BaseRef, pr.BaseSHA), "_links": links,
		"author_association": s.association(rs, pr.User), "auto_merge": nil, "draft": pr.Draft,
	}
}

func (s *Server) pull(rs *repoState, pr *PullRequest) map[string]any {
	m := s.pullSimple(rs, pr)
	var mergedBy any
	if pr.Merged {
		mergedBy = s.user(pr.MergedBy)
	}
	mergeableState := "clean"
	if pr.State == "closed" {
		mergeableState = "unknown"
	}
	for k, v := range map[string]any{
		"merged": pr.Merged, "mergeable": pr.State == "open", "rebaseable": pr.State == "open",
		"mergeable_state": mergeableState, "merged_by": mergedBy, "comments": 0, "review_comments": 0,
		"maintainer_can_modify": false, "commits": max(1, len(pr.Commits)), "additions": 10,
		"deletions": 2, "changed_files": 1,
	} {
		m[k] = v
	}
	return m
}

// association is the author_association GitHub computes from the role.
func (s *Server) association(rs *repoState, login string) string {
	switch rs.perms[strings.ToLower(login)] {
	case "admin", "maintain", "write", "triage":
		if strings.EqualFold(login, rs.owner) {
			return "OWNER"
		}
		return "COLLABORATOR"
	case "read":
		return "CONTRIBUTOR"
	}
	return "NONE"
}

func (s *Server) review(rs *repoState, n int, rv *Review) map[string]any {
	html := fmt.Sprintf("%s/%s/pull/%d#pullrequestreview-%d", htmlBase, rs.FullName, n, rv.ID)
	prURL := fmt.Sprintf("%s/repos/%s/pulls/%d", s.apiBase(), rs.FullName, n)
	m := map[string]any{
		"id": rv.ID, "node_id": nodeID("PullRequestReview", rv.ID), "user": s.user(rv.User),
		"body": rv.Body, "state": rv.State, "commit_id": rv.CommitID, "html_url": html,
		"pull_request_url": prURL, "author_association": s.association(rs, rv.User),
		"_links": map[string]any{"html": map[string]any{"href": html}, "pull_request": map[string]any{"href": prURL}},
	}
	if !rv.SubmittedAt.IsZero() {
		m["submitted_at"] = ts(rv.SubmittedAt)
	}
	return m
}

func (s *Server) app() map[string]any {
	return map[string]any{
		"id": s.AppID, "slug": s.AppSlug, "node_id": nodeID("Integration", s.AppID),
		"client_id": fmt.Sprintf("Iv1.%016x", s.AppID), "owner": s.user("checkoff-app"),
		"name": s.AppSlug, "description": "Pull request checklists that count who ticked each box.",
		"external_url": "https://github.com/checkoff-app/checkoff", "html_url": htmlBase + "/apps/" + s.AppSlug,
		"created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-01-02T03:04:05Z",
		"permissions": map[string]any{"checks": "write", "contents": "read", "metadata": "read", "pull_requests": "write"},
		"events":      []any{"check_run", "check_suite", "merge_group", "pull_request", "pull_request_review"},
	}
}

func (s *Server) checkRun(rs *repoState, cr *CheckRun) map[string]any {
	u := fmt.Sprintf("%s/repos/%s/check-runs/%d", s.apiBase(), rs.FullName, cr.ID)
	prs := []any{}
	for _, n := range sortedPullNumbers(rs) {
		pr := rs.pulls[n]
		if pr.HeadSHA != cr.HeadSHA || pr.State != "open" {
			continue
		}
		ref := func(branch, sha string) map[string]any {
			return map[string]any{"ref": branch, "sha": sha, "repo": map[string]any{
				"id": rs.ID, "url": s.apiBase() + "/repos/" + rs.FullName, "name": rs.name}}
		}
		prs = append(prs, map[string]any{
			"id": int64(pr.Number)*1000 + rs.ID, "number": pr.Number,
			"url":  fmt.Sprintf("%s/repos/%s/pulls/%d", s.apiBase(), rs.FullName, pr.Number),
			"head": ref(pr.HeadRef, pr.HeadSHA), "base": ref(pr.BaseRef, pr.BaseSHA),
		})
	}
	actions := []any{}
	for _, a := range cr.Actions {
		actions = append(actions, map[string]any{"label": a.Label, "description": a.Description, "identifier": a.Identifier})
	}
	var conclusion any
	if cr.Conclusion != "" {
		conclusion = cr.Conclusion
	}
	return map[string]any{
		"id": cr.ID, "node_id": nodeID("CheckRun", cr.ID), "head_sha": cr.HeadSHA, "name": cr.Name,
		"external_id": cr.ExternalID, "url": u,
		"html_url":    fmt.Sprintf("%s/%s/runs/%d", htmlBase, rs.FullName, cr.ID),
		"details_url": strOrNil(cr.DetailsURL), "status": cr.Status, "conclusion": conclusion,
		"started_at": tsOrNil(cr.StartedAt), "completed_at": tsOrNil(cr.CompletedAt),
		"output": map[string]any{
			"title": strOrNil(cr.Title), "summary": strOrNil(cr.Summary), "text": strOrNil(cr.Text),
			"annotations_count": 0, "annotations_url": u + "/annotations",
		},
		"check_suite": map[string]any{"id": userID(cr.HeadSHA)}, "app": s.app(),
		"pull_requests": prs, "actions": actions,
	}
}

// blobSHA is git's object ID of a blob.
func blobSHA(content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(sum[:])
}

// base64Lines encodes like the contents API: base64 in lines of 60.
func base64Lines(content string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(content))
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60])
		b.WriteByte('\n')
		enc = enc[60:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	return b.String()
}

func (s *Server) contentEntry(rs *repoState, ref, p, typ, content string) map[string]any {
	u := fmt.Sprintf("%s/repos/%s/contents/%s?ref=%s", s.apiBase(), rs.FullName, p, ref)
	sha := blobSHA(content)
	gitURL := fmt.Sprintf("%s/repos/%s/git/blobs/%s", s.apiBase(), rs.FullName, sha)
	html := fmt.Sprintf("%s/%s/blob/%s/%s", htmlBase, rs.FullName, ref, p)
	var download any = fmt.Sprintf("https://raw.githubusercontent.com/%s/%s/%s", rs.FullName, ref, p)
	if typ == "dir" {
		sha = blobSHA("tree " + p)
		gitURL = fmt.Sprintf("%s/repos/%s/git/trees/%s", s.apiBase(), rs.FullName, sha)
		html = fmt.Sprintf("%s/%s/tree/%s/%s", htmlBase, rs.FullName, ref, p)
		download = nil
	}
	size := len(content)
	if typ == "dir" {
		size = 0
	}
	return map[string]any{
		"type": typ, "size": size, "name": path.Base(p), "path": p, "sha": sha, "url": u,
		"git_url": gitURL, "html_url": html, "download_url": download,
		"_links": map[string]any{"self": u, "git": gitURL, "html": html},
	}
}

// diffEntry is a changed file as the pull request files list shows it.
func (s *Server) diffEntry(rs *repoState, pr *PullRequest, file string) map[string]any {
	sha := blobSHA(pr.HeadSHA + ":" + file)
	return map[string]any{
		"sha": sha, "filename": file, "status": "modified", "additions": 1, "deletions": 1, "changes": 2,
		"blob_url":     htmlBase + "/" + rs.FullName + "/blob/" + pr.HeadSHA + "/" + file,
		"raw_url":      htmlBase + "/" + rs.FullName + "/raw/" + pr.HeadSHA + "/" + file,
		"contents_url": s.apiBase() + "/repos/" + rs.FullName + "/contents/" + file + "?ref=" + pr.HeadSHA,
		"patch":        "@@ -1 +1 @@\n-old\n+new",
	}
}

func (s *Server) commit(rs *repoState, c *Commit) map[string]any {
	u := fmt.Sprintf("%s/repos/%s", s.apiBase(), rs.FullName)
	gitUser := map[string]any{"name": "unknown", "email": "unknown@example.com", "date": ts(c.Date)}
	if c.Author != "" {
		gitUser = map[string]any{"name": c.Author, "email": c.Author + "@users.noreply.github.com", "date": ts(c.Date)}
	}
	parents := []any{}
	for _, p := range c.Parents {
		parents = append(parents, map[string]any{"sha": p, "url": u + "/commits/" + p, "html_url": htmlBase + "/" + rs.FullName + "/commit/" + p})
	}
	var author any = map[string]any{}
	if c.Author != "" {
		author = s.user(c.Author)
	}
	committer, committerGit := author, gitUser
	if c.Committer != "" {
		committer = s.user(c.Committer)
		committerGit = map[string]any{"name": c.Committer, "email": c.Committer + "@users.noreply.github.com", "date": ts(c.Date)}
		if c.Committer == "web-flow" {
			committerGit = map[string]any{"name": "GitHub", "email": "noreply@github.com", "date": ts(c.Date)}
		}
	}
	verification := map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil}
	if c.Verified {
		verification = map[string]any{"verified": true, "reason": "valid", "signature": "-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----", "payload": "tree " + c.SHA, "verified_at": ts(c.Date)}
	}
	return map[string]any{
		"url": u + "/commits/" + c.SHA, "sha": c.SHA, "node_id": base64.RawStdEncoding.EncodeToString([]byte("Commit:" + c.SHA)),
		"html_url": htmlBase + "/" + rs.FullName + "/commit/" + c.SHA, "comments_url": u + "/commits/" + c.SHA + "/comments",
		"commit": map[string]any{
			"url": u + "/git/commits/" + c.SHA, "author": gitUser, "committer": committerGit, "message": c.Message,
			"comment_count": 0, "tree": map[string]any{"sha": blobSHA("tree " + c.SHA), "url": u + "/git/trees/" + blobSHA("tree "+c.SHA)},
			"verification": verification,
		},
		"author": author, "committer": committer, "parents": parents,
	}
}

func (s *Server) installation(id int64, account string) map[string]any {
	perms := map[string]any{}
	for k, v := range s.permsOf(id) {
		perms[k] = v
	}
	created := "2024-01-02T03:04:05Z"
	return map[string]any{
		"id": id, "account": s.user(account), "repository_selection": "selected",
		"access_tokens_url": fmt.Sprintf("%s/app/installations/%d/access_tokens", s.apiBase(), id),
		"repositories_url":  s.apiBase() + "/installation/repositories",
		"html_url":          fmt.Sprintf("%s/organizations/%s/settings/installations/%d", htmlBase, account, id),
		"app_id":            s.AppID, "app_slug": s.AppSlug, "client_id": fmt.Sprintf("Iv1.%016x", s.AppID),
		"target_id": userID(account), "target_type": "Organization", "permissions": perms,
		"events":     []any{"check_run", "check_suite", "merge_group", "pull_request", "pull_request_review"},
		"created_at": created, "updated_at": created, "single_file_name": nil,
		"has_multiple_single_files": false, "single_file_paths": []any{},
		"suspended_by": nil, "suspended_at": nil,
	}
}

func (s *Server) deliveryItem(d *Delivery) map[string]any {
	var action, inst, repo any
	if d.Action != "" {
		action = d.Action
	}
	if d.InstallationID != 0 {
		inst = d.InstallationID
	}
	if d.RepositoryID != 0 {
		repo = d.RepositoryID
	}
	return map[string]any{
		"id": d.ID, "guid": d.GUID, "delivered_at": ts(d.DeliveredAt), "redelivery": d.Redelivery,
		"duration": d.Duration, "status": d.Status, "status_code": d.StatusCode, "event": d.Event,
		"action": action, "installation_id": inst, "repository_id": repo, "throttled_at": nil,
	}
}
