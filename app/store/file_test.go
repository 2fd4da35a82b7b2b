package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func newFileStore(t *testing.T, now func() time.Time) Store {
	t.Helper()
	f, err := OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f.now = now
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func TestFileConformance(t *testing.T) {
	testConformance(t, newFileStore)
}

// Two handles on one directory stand in for serve and the gate CLI.
func TestFileTwoHandles(t *testing.T) {
	dir := t.TempDir()
	a, b := openTwo(t, dir)
	ctx := context.Background()
	if ok, err := a.PutIfNewer(ctx, Record{PK: "pr", SK: "item", Version: 2, Data: []byte("a")}); err != nil || !ok {
		t.Fatalf("a.PutIfNewer = %v, %v", ok, err)
	}
	if ok, err := b.PutIfNewer(ctx, Record{PK: "pr", SK: "item", Version: 1, Data: []byte("b")}); err != nil || ok {
		t.Fatalf("b.PutIfNewer of an older version = %v, %v; want no write", ok, err)
	}
	if err := b.Delete(ctx, "pr", "item"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "pr", "item"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a.Get after b.Delete: %v, want ErrNotFound", err)
	}
	t.Run("concurrent PutIfNewer", func(t *testing.T) { testConcurrentNewer(t, a, b) })
	t.Run("concurrent PutIfAbsent", func(t *testing.T) { testConcurrentAbsent(t, a, b) })

	// Many keys in one partition, written through both handles at once: a
	// lost update (read-modify-write without the lock) would drop keys.
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := []*File{a, b}[i%2]
			if ok, err := s.PutIfAbsent(ctx, Record{PK: "shared", SK: fmt.Sprintf("k%02d", i), Version: 1}); err != nil || !ok {
				t.Errorf("PutIfAbsent k%02d = %v, %v", i, ok, err)
			}
		})
	}
	wg.Wait()
	recs, err := b.Query(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("after %d concurrent writes to one partition Query has %d records", n, len(recs))
	}
	for i, r := range recs {
		if want := fmt.Sprintf("k%02d", i); r.SK != want {
			t.Fatalf("record %d is %s, want %s", i, r.SK, want)
		}
	}
}

func openTwo(t *testing.T, dir string) (*File, *File) {
	t.Helper()
	var fs []*File
	for range 2 {
		f, err := OpenFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		fs = append(fs, f)
	}
	return fs[0], fs[1]
}

const (
	helperDirEnv  = "CHECKOFF_STORE_TEST_DIR"
	helperProcEnv = "CHECKOFF_STORE_TEST_PROC"
	helperVersion = 60 // processes write versions 1..helperVersion between them
)

// TestFileProcesses races two real processes, each with several goroutines,
// on one directory.
func TestFileProcesses(t *testing.T) {
	dir := t.TempDir()
	var outs []*bytes.Buffer
	var cmds []*exec.Cmd
	for p := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperProcEnv+"="+strconv.Itoa(p))
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	// Both are running (or starting) before either may write.
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	absentWins, maxWrote := 0, 0
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", p, err, outs[p])
		}
		sc := bufio.NewScanner(outs[p])
		for sc.Scan() {
			switch sc.Text() {
			case "absent=true":
				absentWins++
			case fmt.Sprintf("wrote v%d", helperVersion):
				maxWrote++
			}
		}
	}
	if absentWins != 1 {
		t.Errorf("PutIfAbsent won in %d processes, want exactly 1", absentWins)
	}
	if maxWrote != 1 {
		t.Errorf("the write of the highest version reported success %d times, want 1", maxWrote)
	}
	f, err := OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.Get(context.Background(), "race", "item")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != helperVersion {
		t.Errorf("after the race the record is v%d, want v%d", got.Version, helperVersion)
	}
	recs, err := f.Query(context.Background(), "keys")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != helperVersion {
		t.Errorf("partition written by both processes has %d records, want %d", len(recs), helperVersion)
	}
}

// fileHelperProcess is the child side of TestFileProcesses: process p writes
// the versions v with v%2 == p, from several goroutines.
func fileHelperProcess(dir, proc string) error {
	p, err := strconv.Atoi(proc)
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("no start signal")
		}
	}
	f, err := OpenFile(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	ctx := context.Background()
	var versions []int64
	for v := int64(1); v <= helperVersion; v++ {
		if int(v%2) == p {
			versions = append(versions, v)
		}
	}
	rand.Shuffle(len(versions), func(i, j int) { versions[i], versions[j] = versions[j], versions[i] })
	var (
		mu    sync.Mutex
		lines []string
		errs  []error
		wg    sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(versions); i += 4 {
				v := versions[i]
				ok, err := f.PutIfNewer(ctx, Record{PK: "race", SK: "item", Version: v})
				if err == nil {
					_, err = f.PutIfAbsent(ctx, Record{PK: "keys", SK: fmt.Sprintf("v%03d", v), Version: v})
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					lines = append(lines, fmt.Sprintf("wrote v%d", v))
				}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		ok, err := f.PutIfAbsent(ctx, Record{PK: "race", SK: "delivery", Version: int64(p)})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
		lines = append(lines, fmt.Sprintf("absent=%v", ok))
	})
	wg.Wait()
	fmt.Println(strings.Join(lines, "\n"))
	return errors.Join(errs...)
}

func TestFileReopen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	f, err := OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", st.Mode().Perm())
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	want := []Record{
		{PK: "pr#1", SK: "a", Version: 3, Data: []byte("x"), Expires: exp},
		{PK: "pr#1", SK: "b", Version: 1},
	}
	for _, r := range want {
		if ok, err := f.PutIfNewer(ctx, r); err != nil || !ok {
			t.Fatalf("PutIfNewer = %v, %v", ok, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(ctx, "pr#1", "a"); !errors.Is(err, errClosed) {
		t.Errorf("Get after Close: %v, want %v", err, errClosed)
	}
	if _, err := f.PutIfNewer(ctx, Record{PK: "pr#1", SK: "a", Version: 9}); !errors.Is(err, errClosed) {
		t.Errorf("PutIfNewer after Close: %v, want %v", err, errClosed)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	g, err := OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got, err := g.Query(ctx, "pr#1")
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "after reopen", got, want)
	if ok, err := g.PutIfNewer(ctx, Record{PK: "pr#1", SK: "a", Version: 2}); err != nil || ok {
		t.Errorf("PutIfNewer of an older version after reopen = %v, %v; want no write", ok, err)
	}
}

// TestFileLayout checks what lands on disk: private files, no temp files
// left behind, no file for an empty partition.
func TestFileLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 3 {
		if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: strconv.Itoa(i), Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, partsDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(f.path("pr")) {
		t.Fatalf("partition directory holds %v, want only the file of pr", entries)
	}
	info, err := entries[0].Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("partition file mode %v, want 0600", info.Mode().Perm())
	}
	for i := range 3 {
		if err := f.Delete(ctx, "pr", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(f.path("pr")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file of an emptied partition: %v, want it removed", err)
	}
	// An already expired record is never stored.
	if ok, err := f.PutIfNewer(ctx, Record{PK: "gone", SK: "x", Version: 1, Expires: time.Now().Add(-time.Second)}); err != nil || !ok {
		t.Fatalf("PutIfNewer = %v, %v", ok, err)
	}
	if _, err := os.Stat(f.path("gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file of an expired-only partition: %v, want none", err)
	}
}

func TestFileSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	clock := newTestClock()
	f.now = clock.Now
	exp := clock.Now().Add(time.Minute)
	for _, r := range []Record{
		{PK: "delivery#1", SK: "-", Version: 1, Expires: exp},
		{PK: "pr", SK: "a", Version: 1, Expires: exp},
		{PK: "pr", SK: "b", Version: 1},
	} {
		if ok, err := f.PutIfAbsent(ctx, r); err != nil || !ok {
			t.Fatalf("PutIfAbsent = %v, %v", ok, err)
		}
	}
	crashed := filepath.Join(dir, partsDir, tmpPrefix+"crashed")
	if err := os.WriteFile(crashed, []byte("half a partition"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	if err := f.maybeSweep(); err != nil {
		t.Fatal(err)
	}
	for path, keep := range map[string]bool{f.path("delivery#1"): false, f.path("pr"): true, crashed: false} {
		_, err := os.Stat(path)
		if keep && err != nil {
			t.Errorf("%s: %v, want it kept", path, err)
		}
		if !keep && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want it removed", path, err)
		}
	}
	got, err := f.Query(ctx, "pr")
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "after sweep", got, []Record{{PK: "pr", SK: "b", Version: 1}})

	// The next sweep waits an hour.
	if err := os.WriteFile(crashed, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Minute)
	if err := f.maybeSweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(crashed); err != nil {
		t.Errorf("a sweep within the hour ran: %v", err)
	}
	clock.Advance(31 * time.Minute)
	if err := f.maybeSweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(crashed); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a sweep after the hour did not run: %v", err)
	}
}

// A damaged partition is an error, never an empty partition to write over.
func TestFileDamagedPartition(t *testing.T) {
	ctx := context.Background()
	tests := map[string]struct {
		content string
		wantErr string
	}{
		"truncated":     {content: `{"format":1,"pk":"pr","records":[{"sk":"a"`, wantErr: "unexpected end of JSON input"},
		"other key":     {content: `{"format":1,"pk":"other","records":[]}`, wantErr: `holds key "other", want "pr"`},
		"newer format":  {content: `{"format":2,"pk":"pr","records":[]}`, wantErr: "format 2, want 1"},
		"unsorted keys": {content: `{"format":1,"pk":"pr","records":[{"sk":"b","v":1},{"sk":"a","v":1}]}`, wantErr: "not sorted"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := OpenFile(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := os.WriteFile(f.path("pr"), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			check := func(op string, err error) {
				t.Helper()
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), f.path("pr")) {
					t.Errorf("%s: %v, want an error naming the file and containing %q", op, err, tc.wantErr)
				}
			}
			_, err = f.Get(ctx, "pr", "a")
			check("Get", err)
			_, err = f.Query(ctx, "pr")
			check("Query", err)
			_, err = f.PutIfNewer(ctx, Record{PK: "pr", SK: "a", Version: 5})
			check("PutIfNewer", err)
			_, err = f.PutIfAbsent(ctx, Record{PK: "pr", SK: "a", Version: 5})
			check("PutIfAbsent", err)
			check("Delete", f.Delete(ctx, "pr", "a"))
			b, err := os.ReadFile(f.path("pr"))
			if err != nil || string(b) != tc.content {
				t.Errorf("damaged file changed to %q, %v", b, err)
			}
			// Nor does it stop the store: a sweep passes over it, leaves it
			// as it is, and every other key works.
			f.now = func() time.Time { return time.Now().Add(2 * sweepEvery) }
			if err := f.maybeSweep(); err != nil {
				t.Errorf("sweep over a damaged partition: %v", err)
			}
			if _, derr := decodePartition([]byte(tc.content)); derr != nil { // "other key" decodes, empty: swept
				if b, err := os.ReadFile(f.path("pr")); err != nil || string(b) != tc.content {
					t.Errorf("sweep changed the damaged file to %q, %v", b, err)
				}
			}
			if ok, err := f.PutIfNewer(ctx, Record{PK: "other", SK: "a", Version: 1}); err != nil || !ok {
				t.Errorf("PutIfNewer of another key beside a damaged partition = %v, %v", ok, err)
			}
		})
	}
}

func TestOpenFileErrors(t *testing.T) {
	if _, err := OpenFile(""); err == nil {
		t.Error("OpenFile(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(file); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("OpenFile on a plain file: %v, want an error naming it", err)
	}
}

// PutManyIfNewer exists so that a delivery recording several boxes pays for
// one rewrite (and fsync) of the partition, not one per box.
func TestFilePutManyRewritesOncePerPartition(t *testing.T) {
	f := newFileStore(t, time.Now).(*File)
	ctx := context.Background()
	var batch []Record
	for i := range 6 {
		batch = append(batch, Record{PK: "ticks#a", SK: fmt.Sprintf("item:%d", i), Version: 2})
	}
	batch = append(batch, Record{PK: "ticks#b", SK: "pr", Version: 2}, Record{PK: "ticks#b", SK: "push", Version: 2})
	before := f.writes
	if _, err := f.PutManyIfNewer(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := f.writes - before; got != 2 {
		t.Errorf("PutManyIfNewer over 2 partitions rewrote %d times, want 2", got)
	}
	// A redelivery changes nothing and so rewrites nothing.
	before = f.writes
	wrote, err := f.PutManyIfNewer(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.writes - before; got != 0 || slices.Contains(wrote, true) {
		t.Errorf("repeated PutManyIfNewer rewrote %d times and reported %v, want no write", got, wrote)
	}
}

// A durable partition is created with an fsync of its file and of the
// directory, and every later version is one fdatasync in place. One holding
// only expiring records (delivery marks, caches) is never flushed, by the
// contract of Record.Expires, unless the change removes a durable record:
// that must be as durable as adding it was.
func TestFileSyncsOnlyDurableRecords(t *testing.T) {
	f := newFileStore(t, time.Now).(*File)
	var syncs, datasyncs int
	f.fsync = func(fh *os.File) error { syncs++; return fh.Sync() }
	f.datasync = func(fh *os.File) error { datasyncs++; return fdatasync(fh) }
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	// In order: the later cases write beside the first's record.
	for _, tc := range []struct {
		name            string
		recs            []Record
		syncs, datasync int
	}{
		{"new ledger partition", []Record{{PK: "ticks#a", SK: "item:x", Version: 1}}, 2, 0},
		{"its next version", []Record{{PK: "ticks#a", SK: "item:x", Version: 2}}, 0, 1},
		{"delivery mark", []Record{{PK: "delivery#1", SK: "done", Version: 1, Expires: exp}}, 0, 0},
		{"expiring beside durable", []Record{{PK: "ticks#a", SK: "cache", Version: 1, Expires: exp}}, 0, 1},
		{"two partitions, one each", []Record{{PK: "ticks#b", SK: "item:y", Version: 1}, {PK: "delivery#2", SK: "done", Version: 1, Expires: exp}}, 2, 0},
		{"durable replaced by expiring", []Record{{PK: "ticks#b", SK: "item:y", Version: 2, Expires: exp}}, 0, 1},
		{"expiring only, again", []Record{{PK: "ticks#b", SK: "item:y", Version: 3, Expires: exp}}, 0, 0},
	} {
		syncs, datasyncs = 0, 0
		if _, err := f.PutManyIfNewer(ctx, tc.recs); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if syncs != tc.syncs || datasyncs != tc.datasync {
			t.Errorf("%s: %d fsyncs and %d fdatasyncs, want %d and %d", tc.name, syncs, datasyncs, tc.syncs, tc.datasync)
		}
		for _, r := range tc.recs { // written all the same
			if got, err := f.Get(ctx, r.PK, r.SK); err != nil || got.Version != r.Version {
				t.Errorf("%s: Get(%s/%s) = v%d, %v; want v%d", tc.name, r.PK, r.SK, got.Version, err, r.Version)
			}
		}
	}
}

// An empty partition file is what a power cut can leave of an unsynced
// write (ext4 and XFS commit the rename before the data): no write makes
// one, so it reads as no partition, and a write replaces it.
func TestFileEmptyPartitionFile(t *testing.T) {
	ctx := context.Background()
	f := newFileStore(t, time.Now).(*File)
	if err := os.WriteFile(f.path("delivery#1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(ctx, "delivery#1", "done"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get from an empty partition file: %v, want ErrNotFound", err)
	}
	if recs, err := f.Query(ctx, "delivery#1"); err != nil || len(recs) != 0 {
		t.Errorf("Query of an empty partition file = %v, %v; want nothing", recs, err)
	}
	if ok, err := f.PutIfAbsent(ctx, Record{PK: "delivery#1", SK: "done", Version: 1, Expires: time.Now().Add(time.Hour)}); err != nil || !ok {
		t.Errorf("PutIfAbsent over an empty partition file = %v, %v; want written", ok, err)
	}
	f.now = func() time.Time { return time.Now().Add(2 * sweepEvery) }
	if err := os.WriteFile(f.path("delivery#2"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.maybeSweep(); err != nil {
		t.Errorf("sweep over an empty partition file: %v", err)
	}
	if _, err := os.Stat(f.path("delivery#2")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sweep left the empty partition file: %v", err)
	}
}

// Deleting a partition's last durable record is flushed like adding it.
func TestFileDeleteOfDurableIsFlushed(t *testing.T) {
	ctx := context.Background()
	f := newFileStore(t, time.Now).(*File)
	var flushes int
	f.fsync = func(fh *os.File) error { flushes++; return fh.Sync() }
	f.datasync = func(fh *os.File) error { flushes++; return fdatasync(fh) }
	exp := time.Now().Add(time.Hour)
	if _, err := f.PutManyIfNewer(ctx, []Record{{PK: "pr", SK: "push", Version: 1}, {PK: "pr", SK: "cache", Version: 1, Expires: exp}}); err != nil {
		t.Fatal(err)
	}
	flushes = 0
	if err := f.Delete(ctx, "pr", "push"); err != nil {
		t.Fatal(err)
	}
	if flushes == 0 {
		t.Error("deleting the last durable record was not flushed")
	}
	if _, err := f.Get(ctx, "pr", "push"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
}
