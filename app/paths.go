package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/checkoff-app/checkoff/app/store"
	"github.com/checkoff-app/checkoff/checklist"
)

// Path-scoped checklists (paths: [glob, ...]) apply only when the pull
// request changes a matching file, and a push resets their reviewer ticks
// only when the push changes one. Their facts live in the ledger beside the
// others:
//
//	push@<nanos>   one push and the files it changed (incomplete when
//	               they could not all be read), written only while a
//	               checklist is path-scoped
//	files          the files the PR changes at the newest head, read
//	               once per head commit
const (
	pushAtPfx = "push@"
	filesSK   = "files"
)

// fileList is a list of changed files; Complete is false when GitHub's
// list was cut short (or the files could not be read), so that any glob
// may match.
type fileList struct {
	Head     string   `json:"head,omitempty"` // the head commit they were read at
	Files    []string `json:"files,omitempty"`
	Complete bool     `json:"complete,omitempty"`
}

// matches reports whether any file matches any glob; an incomplete list
// matches everything (fail closed: the checklist applies, the push resets).
func (f fileList) matches(globs []string) bool {
	if !f.Complete {
		return true
	}
	return slices.ContainsFunc(f.Files, func(file string) bool {
		return slices.ContainsFunc(globs, func(g string) bool { return checklist.MatchPath(g, file) })
	})
}

// pushEntry is one push as the ledger keeps it.
type pushEntry struct {
	at    time.Time
	files *fileList // nil: a push recorded without its files
}

// pushAtRecord notes a push at at and the files it changed.
func pushAtRecord(pr PRState, at time.Time, files fileList) (store.Record, error) {
	data, err := json.Marshal(files)
	if err != nil {
		return store.Record{}, fmt.Errorf("encode files of a push to %s: %w", pr, err)
	}
	return store.Record{PK: ledgerPK(pr), SK: pushAtPfx + strconv.FormatInt(at.UnixNano(), 10), Version: max(at.UnixNano(), 1), Data: data}, nil
}

// hasPaths reports whether cfg has a path-scoped checklist.
func hasPaths(cfg *checklist.Config) bool {
	return cfg != nil && slices.ContainsFunc(cfg.Checklists, func(c checklist.Checklist) bool { return len(c.Paths) > 0 })
}

// pushFiles reads what a push from before to pr's head changed, when the
// config in force has path-scoped checklists; the record replaces the
// push's record without files.
func (a *App) pushFiles(ctx context.Context, gh GitHub, pr PRState, before string, rc repoConfig) ([]store.Record, error) {
	if !hasPaths(rc.cfg) {
		return nil, nil
	}
	var files fileList // the previous head unknown: incomplete, it resets them all
	if commitSHA.MatchString(before) {
		got, complete, err := gh.ChangedFiles(ctx, pr.Owner, pr.Repo, before, pr.HeadSHA)
		if err != nil {
			return nil, err
		}
		files = fileList{Files: got, Complete: complete}
	}
	rec, err := pushAtRecord(pr, pr.UpdatedAt, files)
	if err != nil {
		return nil, err
	}
	return []store.Record{rec}, nil
}

// prFiles returns the files pr changes at its head, reading them from
// GitHub once per head commit and keeping them in the ledger.
func (a *App) prFiles(ctx context.Context, gh GitHub, pr PRState, l ledger) (fileList, error) {
	if f, ok := l.files[pr.HeadSHA]; ok {
		return f, nil
	}
	got, complete, err := gh.Files(ctx, pr.Owner, pr.Repo, pr.Number)
	if err != nil {
		return fileList{}, err
	}
	f := fileList{Head: pr.HeadSHA, Files: got, Complete: complete}
	data, err := json.Marshal(f)
	if err != nil {
		return fileList{}, fmt.Errorf("encode files of %s: %w", pr, err)
	}
	// Only the newest head's list is kept (see headRecordOf).
	rec := store.Record{PK: ledgerPK(pr), SK: filesSK, Version: max(pr.UpdatedAt.UnixNano(), 1), Data: data, Expires: a.now().Add(cacheTTL)}
	if _, err := a.store.PutIfNewer(ctx, rec); err != nil {
		return fileList{}, fmt.Errorf("record files of %s: %w", pr, err)
	}
	return f, nil
}

// pathResets is, per path-scoped checklist of cfg, the latest push that
// changed a file it covers (or whose files are unknown).
func pathResets(cfg *checklist.Config, l ledger) map[string]time.Time {
	pushes := l.pushes
	// A push recorded before pushes kept their files (or whose delivery
	// failed before it could say): it reset everything.
	if !l.lastPush.IsZero() && !slices.ContainsFunc(pushes, func(p pushEntry) bool { return p.at.Equal(l.lastPush) }) {
		pushes = append(pushes, pushEntry{at: l.lastPush})
	}
	out := map[string]time.Time{}
	for _, c := range cfg.Checklists {
		if len(c.Paths) == 0 {
			continue
		}
		var latest time.Time
		for _, p := range pushes {
			if (p.files == nil || p.files.matches(c.Paths)) && p.at.After(latest) {
				latest = p.at
			}
		}
		out[c.Name] = latest
	}
	return out
}

// decodePathRecord reads a push@ or files: record into l; it reports
// whether r was one.
func (l *ledger) decodePathRecord(r store.Record) (bool, error) {
	switch {
	case strings.HasPrefix(r.SK, pushAtPfx):
		nanos, err := strconv.ParseInt(strings.TrimPrefix(r.SK, pushAtPfx), 10, 64)
		if err != nil {
			return true, nil // not ours to judge: ignored
		}
		p := pushEntry{at: time.Unix(0, nanos).UTC(), files: &fileList{}}
		if err := json.Unmarshal(r.Data, p.files); err != nil {
			return true, err
		}
		l.pushes = append(l.pushes, p)
		return true, nil
	case r.SK == filesSK:
		var f fileList
		if err := json.Unmarshal(r.Data, &f); err != nil {
			return true, err
		}
		l.files[f.Head] = f
		return true, nil
	}
	return false, nil
}
