//go:build !nosqlite

package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func openSQLite(t testing.TB, path string, now func() time.Time) *SQLite {
	t.Helper()
	s, err := OpenSQLite(path, SQLiteOptions{Now: now, SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func newSQLiteStore(t *testing.T, now func() time.Time) Store {
	t.Helper()
	return openSQLite(t, filepath.Join(t.TempDir(), "checkoff.db"), now)
}

// helperVersion is how many versions the racing processes write between
// them (1..helperVersion).
const helperVersion = 60

func TestSQLiteConformance(t *testing.T) {
	testConformance(t, newSQLiteStore)
}

// Two handles on one database stand in for serve and the CLI, or two serve
// during a restart.
func TestSQLiteTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkoff.db")
	a, b := openSQLite(t, path, nil), openSQLite(t, path, nil)
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
	t.Run("marks are shared", func(t *testing.T) {
		if err := a.Deliveries(time.Hour).Done(ctx, "d-1"); err != nil {
			t.Fatal(err)
		}
		if seen, err := b.Deliveries(time.Hour).Seen(ctx, "d-1"); err != nil || seen != "d-1" {
			t.Errorf("b.Seen of a's mark = %v, %v; want true", seen, err)
		}
	})
}

// TestSQLitePragmas pins the settings the durability and concurrency
// claims of SQLite's doc comment rest on.
func TestSQLitePragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkoff.db")
	s := openSQLite(t, path, nil)
	ctx := context.Background()
	tests := map[string]struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		"journal is a WAL":         {s.db, "journal_mode", "wal"},
		"durable writes sync":      {s.full, "synchronous", "2"}, // FULL
		"ephemeral writes do not":  {s.fast, "synchronous", "1"}, // NORMAL
		"foreign keys on (writer)": {s.full, "foreign_keys", "1"},
		"foreign keys on (reader)": {s.db, "foreign_keys", "1"},
		"writers wait for others":  {s.full, "busy_timeout", "10000"},
		"readers wait too":         {s.db, "busy_timeout", "10000"},
		"schema version":           {s.db, "user_version", strconv.Itoa(len(migrations))},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got string
			if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
			}
		})
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, want 0600: the ledger is nobody else's to read", fi.Mode().Perm())
	}
}

func TestSQLiteHistory(t *testing.T) {
	testHistory(t, func(t *testing.T, now func() time.Time) historyStore {
		return openSQLite(t, filepath.Join(t.TempDir(), "checkoff.db"), now)
	})
}

// A batch is one transaction: when it fails, neither its records nor their
// history are there.
func TestSQLiteBatchIsAtomic(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkoff.db")
	s := openSQLite(t, path, nil)
	const pk = "ticks#id:1#1"
	// Another connection holds the write lock, so the batch's commit
	// cannot happen; its records must not half-land.
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = s.PutManyIfNewer(short, []Record{{PK: pk, SK: "item:a", Version: 1}, {PK: pk, SK: "item:b", Version: 1}})
	if err == nil {
		t.Fatal("PutManyIfNewer succeeded while another connection held the write lock")
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if recs, err := s.Query(ctx, pk); err != nil || len(recs) != 0 {
		t.Errorf("after the failed batch Query = %s, %v; want nothing", fmtRecords(recs), err)
	}
	if h, err := s.History(ctx, pk); err != nil || len(h) != 0 {
		t.Errorf("after the failed batch History = %v, %v; want nothing", h, err)
	}
}

func TestSQLiteMigrations(t *testing.T) {
	ctx := context.Background()
	t.Run("forward from version 1", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "checkoff.db")
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{migrations[0], "PRAGMA user_version = 1",
			"INSERT INTO records (pk, sk, version, data) VALUES ('ticks#id:1#2', 'item:a', 3, x'7b7d')"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		s := openSQLite(t, path, nil)
		got, err := s.Get(ctx, "ticks#id:1#2", "item:a")
		if err != nil || got.Version != 3 || string(got.Data) != "{}" {
			t.Fatalf("record from version 1 reads as %+v, %v", got, err)
		}
		if ok, err := s.PutIfNewer(ctx, Record{PK: "ticks#id:1#2", SK: "item:a", Version: 4}); err != nil || !ok {
			t.Fatalf("PutIfNewer after migration = %v, %v", ok, err)
		}
		if h, err := s.History(ctx, "ticks#id:1#2"); err != nil || len(h) != 1 || h[0].Version != 4 {
			t.Errorf("history after migration = %v, %v; want the one write since", h, err)
		}
	})
	t.Run("a newer schema is refused, unchanged", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "checkoff.db")
		s, err := OpenSQLite(path, SQLiteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		future := len(migrations) + 1
		if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", future)); err != nil {
			t.Fatal(err)
		}
		_, err = OpenSQLite(path, SQLiteOptions{})
		if err == nil || !strings.Contains(err.Error(), "upgrade checkoff") {
			t.Fatalf("OpenSQLite of a newer schema: %v, want an error asking to upgrade", err)
		}
		var v int
		if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != future {
			t.Errorf("schema version after the refused open = %d, %v; want %d", v, err, future)
		}
	})
	t.Run("not a database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "checkoff.db")
		if err := os.WriteFile(path, []byte("this is not SQLite, it is a longer text file than a header"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenSQLite(path, SQLiteOptions{}); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("OpenSQLite of a text file: %v, want an error naming it", err)
		}
	})
}

func TestSQLiteSweep(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	path := filepath.Join(t.TempDir(), "checkoff.db")
	s, err := OpenSQLite(path, SQLiteOptions{Now: clock.Now, SweepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range sweepBatch + 5 { // more than one batch
		if _, err := s.PutIfAbsent(ctx, Record{PK: "cache", SK: fmt.Sprint(i), Version: 1, Expires: clock.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutIfNewer(ctx, Record{PK: "cache", SK: "kept", Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Deliveries(time.Minute).Done(ctx, "d-old"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := s.Deliveries(2*time.Hour).Done(ctx, "d-new"); err != nil {
		t.Fatal(err)
	}
	count := func(table string) int {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Swept at open: not due again for an hour.
	if err := s.sweepIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count("records"); n != sweepBatch+6 {
		t.Fatalf("a sweep ran before it was due: %d records left", n)
	}
	clock.Advance(time.Hour)
	if err := s.sweepIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count("records"); n != 1 {
		t.Errorf("after the sweep %d records are left, want the one that never expires", n)
	}
	if n := count("deliveries"); n != 1 {
		t.Errorf("after the sweep %d marks are left, want 1", n)
	}
	// Another process opening the database does not sweep again.
	clock.Advance(time.Minute)
	if _, err := s.PutIfAbsent(ctx, Record{PK: "cache", SK: "x", Version: 1, Expires: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenSQLite(path, SQLiteOptions{Now: clock.Now, SweepEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n := count("records"); n != 2 {
		t.Errorf("a second open swept within the hour: %d records left, want 2", n)
	}
}

func TestSQLiteMarks(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	path := filepath.Join(t.TempDir(), "checkoff.db")
	s := openSQLite(t, path, clock.Now)
	m := s.Deliveries(time.Hour)
	if seen, err := m.Seen(ctx, "d-1"); err != nil || seen != "" {
		t.Fatalf("Seen before Done = %v, %v; want false", seen, err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Done(canceled, "d-1"); err != nil { // the delivery was handled: mark it anyway
		t.Fatalf("Done with a canceled context: %v", err)
	}
	if seen, err := m.Seen(ctx, "d-1"); err != nil || seen != "d-1" {
		t.Fatalf("Seen after Done = %v, %v; want true", seen, err)
	}
	if seen, _ := m.Seen(ctx, "d-2"); seen != "" {
		t.Error("another delivery is seen")
	}
	for _, bad := range []string{"", "two words", "line\nbreak", "\x7f", strings.Repeat("x", maxSKBytes+1)} {
		if err := m.Done(ctx, bad); err == nil {
			t.Errorf("Done(%q) accepted", bad)
		}
	}
	if err := s.Deliveries(0).Done(ctx, "d-3"); err == nil {
		t.Error("Done with a zero ttl accepted")
	}
	// A delivery's ID and body key are marked together, or neither is.
	if err := m.Done(ctx, "d-4", "sha256:ab"); err != nil {
		t.Fatalf("Done of two keys: %v", err)
	}
	for _, id := range []string{"d-4", "sha256:ab"} {
		if seen, err := m.Seen(ctx, id); err != nil || seen != id {
			t.Errorf("Seen(%s) after Done of two keys = %v, %v; want true", id, seen, err)
		}
	}
	for _, c := range []struct {
		ids  []string
		want string
	}{
		{[]string{"d-x", "sha256:ab"}, "sha256:ab"},
		{[]string{"sha256:ab", "d-4"}, "sha256:ab"},
		{[]string{"d-x", "d-y", "d-4"}, "d-4"},
		{[]string{"d-x", "d-y", "d-z"}, ""},
		{nil, ""},
	} {
		if seen, err := m.Seen(ctx, c.ids...); err != nil || seen != c.want {
			t.Errorf("Seen(%v) = %q, %v; want %q", c.ids, seen, err, c.want)
		}
	}
	if err := m.Done(ctx, "d-5", "two words"); err == nil {
		t.Error("Done with one bad key accepted")
	}
	if seen, _ := m.Seen(ctx, "d-5"); seen != "" {
		t.Error("a batch with a bad key marked its good one")
	}
	// Marks outlive the process, until their ttl.
	s.Close()
	if _, err := m.Seen(ctx, "d-1"); !errors.Is(err, errClosed) {
		t.Errorf("Seen after Close: %v, want errClosed", err)
	}
	if err := m.Done(ctx, "d-9"); !errors.Is(err, errClosed) {
		t.Errorf("Done after Close: %v, want errClosed", err)
	}
	m = openSQLite(t, path, clock.Now).Deliveries(time.Hour)
	if seen, err := m.Seen(ctx, "d-1"); err != nil || seen != "d-1" {
		t.Fatalf("Seen after reopening = %v, %v; want true", seen, err)
	}
	clock.Advance(time.Hour)
	if seen, err := m.Seen(ctx, "d-1"); err != nil || seen != "" {
		t.Errorf("Seen after the ttl = %v, %v; want false", seen, err)
	}
}

// TestSQLiteMarksConcurrent: marks asked for at once are committed in
// shared transactions, and every caller returns only once its own are.
func TestSQLiteMarksConcurrent(t *testing.T) {
	ctx := context.Background()
	m := openSQLite(t, filepath.Join(t.TempDir(), "checkoff.db"), nil).Deliveries(time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 100 {
		wg.Go(func() {
			id := fmt.Sprintf("d-%d", i)
			if err := m.Done(ctx, id, "sha256:"+id); err != nil {
				errs <- err
				return
			}
			if seen, err := m.Seen(ctx, "sha256:"+id); err != nil || seen != "sha256:"+id {
				errs <- fmt.Errorf("Seen(%s) right after its Done = %q, %v", id, seen, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSQLiteClosed(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "checkoff.db"), SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, err := s.PutIfNewer(ctx, Record{PK: "pk", SK: "sk", Version: 1}); !errors.Is(err, errClosed) {
		t.Errorf("PutIfNewer after Close: %v, want errClosed", err)
	}
	if _, err := s.Get(ctx, "pk", "sk"); !errors.Is(err, errClosed) {
		t.Errorf("Get after Close: %v, want errClosed", err)
	}
	if _, err := OpenSQLite("", SQLiteOptions{}); err == nil {
		t.Error("OpenSQLite(\"\") succeeded")
	}
}

func init() { sqliteHelper = sqliteHelperProcess }

const (
	sqliteHelperEnv  = "CHECKOFF_SQLITE_TEST_DB"
	sqliteHelperMode = "CHECKOFF_SQLITE_TEST_MODE"
	crashPK          = "ticks#id:7#1" // a ledger partition: history is written too
)

// TestSQLiteProcesses races two real processes, each with several
// goroutines, on one database: two `serve` during a restart.
func TestSQLiteProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkoff.db")
	openSQLite(t, path, nil) // created before the race, as serve would
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for p := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), sqliteHelperEnv+"="+path, sqliteHelperMode+"=race"+strconv.Itoa(p))
		out := new(strings.Builder)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	absentWins := 0
	for p, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v\n%s", p, err, outs[p])
		}
		absentWins += strings.Count(outs[p].String(), "absent=true")
	}
	if absentWins != 1 {
		t.Errorf("PutIfAbsent won in %d processes, want exactly 1", absentWins)
	}
	s := openSQLite(t, path, nil)
	ctx := context.Background()
	got, err := s.Get(ctx, "race", "item")
	if err != nil || got.Version != helperVersion {
		t.Errorf("after the race the record is v%d (%v), want v%d", got.Version, err, helperVersion)
	}
	if recs, err := s.Query(ctx, "keys"); err != nil || len(recs) != helperVersion {
		t.Errorf("partition written by both processes has %d records (%v), want %d", len(recs), err, helperVersion)
	}
	// Every accepted write of the ledger, from either process, is history.
	h, err := s.History(ctx, crashPK)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) == 0 || h[len(h)-1].Version != helperVersion {
		t.Errorf("history of the raced ledger record ends %s, want v%d", fmtHistory(h), helperVersion)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Version <= h[i-1].Version {
			t.Errorf("history goes from v%d to v%d: a write not newer was accepted", h[i-1].Version, h[i].Version)
		}
	}
}

// TestSQLiteKill9 kills a writing process at random points: every record it
// acknowledged (printed "ack N" after PutManyIfNewer returned) is there when
// the database is reopened, with its history, and the database is sound.
func TestSQLiteKill9(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkoff.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	acked := 0
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), sqliteHelperEnv+"="+path, sqliteHelperMode+"=crash")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan int)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
					if i, err := strconv.Atoi(n); err == nil {
						lines <- i
					}
				}
			}
		}()
		first, ok := <-lines
		if !ok {
			cmd.Wait()
			t.Fatalf("round %d: the writer acknowledged nothing: %s", round, stderr.String())
		}
		acked = max(acked, first)
		time.AfterFunc(time.Duration(5+rng.IntN(120))*time.Millisecond, func() { cmd.Process.Kill() })
		for i := range lines { // what it printed before it died was acknowledged
			acked = max(acked, i)
		}
		cmd.Wait()

		s, err := OpenSQLite(path, SQLiteOptions{SweepEvery: -1})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		checkCrashDB(t, s, round, acked)
		s.Close()
	}
	t.Logf("%d records acknowledged over 6 kills", acked)
}

func checkCrashDB(t *testing.T, s *SQLite, round, acked int) {
	t.Helper()
	ctx := context.Background()
	var ok string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("round %d: integrity_check = %q, %v", round, ok, err)
	}
	recs, err := s.Query(ctx, "acked")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.SK] = true
	}
	for i := 1; i <= acked; i++ {
		if !have[fmt.Sprintf("%08d", i)] {
			t.Fatalf("round %d: acknowledged record %d of %d is missing after kill -9", round, i, acked)
		}
	}
	item, err := s.Get(ctx, crashPK, "item:k")
	if err != nil || item.Version < int64(acked) {
		t.Fatalf("round %d: ledger record is v%d (%v), want at least v%d", round, item.Version, err, acked)
	}
	h, err := s.History(ctx, crashPK)
	if err != nil {
		t.Fatal(err)
	}
	// One history entry per committed batch, no gaps, none twice.
	if int64(len(h)) != item.Version {
		t.Fatalf("round %d: %d history entries for v%d", round, len(h), item.Version)
	}
	for i, e := range h {
		if e.Version != int64(i+1) {
			t.Fatalf("round %d: history entry %d is v%d", round, i, e.Version)
		}
	}
}

// sqliteHelperProcess is the child side of TestSQLiteProcesses ("race0",
// "race1") and TestSQLiteKill9 ("crash").
func sqliteHelperProcess(path, mode string) error {
	s, err := OpenSQLite(path, SQLiteOptions{})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	if mode == "crash" {
		start := int64(1)
		if r, err := s.Get(ctx, crashPK, "item:k"); err == nil {
			start = r.Version + 1
		}
		for i := start; ; i++ {
			if _, err := s.PutManyIfNewer(ctx, []Record{
				{PK: crashPK, SK: "item:k", Version: i, Data: fmt.Appendf(nil, `{"checked":%v}`, i%2 == 0)},
				{PK: "acked", SK: fmt.Sprintf("%08d", i), Version: 1},
			}); err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "ack %d\n", i) // os.Stdout is unbuffered
		}
	}
	p, err := strconv.Atoi(strings.TrimPrefix(mode, "race"))
	if err != nil {
		return fmt.Errorf("helper mode %q", mode)
	}
	var versions []int64
	for v := int64(1); v <= helperVersion; v++ {
		if int(v%2) == p {
			versions = append(versions, v)
		}
	}
	rand.Shuffle(len(versions), func(i, j int) { versions[i], versions[j] = versions[j], versions[i] })
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	out := io.Writer(os.Stdout)
	for _, v := range versions {
		wg.Go(func() {
			_, err := s.PutManyIfNewer(ctx, []Record{
				{PK: "race", SK: "item", Version: v},
				{PK: crashPK, SK: "item:k", Version: v},
				{PK: "keys", SK: fmt.Sprint(v), Version: 1},
			})
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
		})
	}
	wg.Go(func() {
		ok, err := s.PutIfAbsent(ctx, Record{PK: "race", SK: "absent", Version: 1})
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
		fmt.Fprintf(out, "absent=%v\n", ok)
	})
	wg.Wait()
	return errors.Join(errs...)
}
