package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openMarks(t *testing.T, path string, now func() time.Time) *Marks {
	t.Helper()
	m, err := OpenMarks(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if now != nil {
		m.now = now
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestMarks(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	path := filepath.Join(t.TempDir(), "deliveries.log")
	m := openMarks(t, path, clock.Now)
	if seen, err := m.Seen(ctx, "d-1"); err != nil || seen {
		t.Fatalf("Seen before Done = %v, %v; want false", seen, err)
	}
	if err := m.Done(ctx, "d-1"); err != nil {
		t.Fatal(err)
	}
	if seen, err := m.Seen(ctx, "d-1"); err != nil || !seen {
		t.Fatalf("Seen after Done = %v, %v; want true", seen, err)
	}
	if seen, _ := m.Seen(ctx, "d-2"); seen {
		t.Error("another delivery is seen")
	}
	for _, bad := range []string{"", "two words", "line\nbreak", "\x7f", strings.Repeat("x", maxSKBytes+1)} {
		if err := m.Done(ctx, bad); err == nil {
			t.Errorf("Done(%q) accepted", bad)
		}
	}

	// Marks outlive the process, until their ttl.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Seen(ctx, "d-1"); !errors.Is(err, errClosed) {
		t.Errorf("Seen after Close: %v, want errClosed", err)
	}
	if err := m.Done(ctx, "d-9"); !errors.Is(err, errClosed) {
		t.Errorf("Done after Close: %v, want errClosed", err)
	}
	m2 := openMarks(t, path, clock.Now)
	if seen, err := m2.Seen(ctx, "d-1"); err != nil || !seen {
		t.Errorf("Seen after reopening = %v, %v; want true", seen, err)
	}
	clock.Advance(time.Hour)
	if seen, _ := m2.Seen(ctx, "d-1"); seen {
		t.Error("a mark is seen past its ttl")
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m2.Seen(canceled, "d-1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Seen with a canceled context: %v", err)
	}
	// A handled delivery is marked even when its client has gone.
	if err := m2.Done(canceled, "d-3"); err != nil {
		t.Errorf("Done with a canceled context: %v", err)
	}
	if seen, _ := m2.Seen(ctx, "d-3"); !seen {
		t.Error("a delivery marked with a canceled context is not seen")
	}
}

// A crash mid-append leaves a torn last line: it is skipped, and opening
// rewrites the file with the live marks only.
func TestMarksTornAndExpiredLines(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	path := filepath.Join(t.TempDir(), "deliveries.log")
	live, stale := now.Add(time.Hour).UnixNano(), now.Add(-time.Second).UnixNano()
	// The last append was cut short inside its id: no newline.
	content := fmt.Sprintf("%d d-live\n%d d-stale\nnot a line\n%s\n%d d-torn-id", live, stale, strings.Repeat("\x00", 70<<10), live)
	content = content[:len(content)-3]
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	m := openMarks(t, path, nil)
	for id, want := range map[string]bool{"d-live": true, "d-stale": false, "d-torn": false, "d-torn-id": false} {
		if seen, err := m.Seen(ctx, id); err != nil || seen != want {
			t.Errorf("Seen(%s) = %v, %v; want %v", id, seen, err, want)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d d-live\n", live); string(b) != want {
		t.Errorf("file after open = %q, want %q", b, want)
	}
	if err := m.Done(ctx, "d-next"); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if seen, _ := openMarks(t, path, nil).Seen(ctx, "d-next"); !seen {
		t.Error("a mark appended after the compaction is lost")
	}
}

// Stale lines are compacted away as marks expire, so the file and the
// memory stay about as large as a ttl's worth of deliveries.
func TestMarksPrune(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	path := filepath.Join(t.TempDir(), "deliveries.log")
	m := openMarks(t, path, clock.Now)
	for i := range marksPruneEvery {
		if err := m.Done(ctx, fmt.Sprintf("old-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Hour)
	for i := range marksPruneEvery {
		if err := m.Done(ctx, fmt.Sprintf("new-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.live); n != marksPruneEvery {
		t.Errorf("%d marks in memory, want the %d live ones", n, marksPruneEvery)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != marksPruneEvery || strings.Contains(string(b), "old-") {
		t.Errorf("file holds %d lines (expired ones: %v), want the %d live ones", n, strings.Contains(string(b), "old-"), marksPruneEvery)
	}
	if seen, _ := m.Seen(ctx, "new-1"); !seen {
		t.Error("a live mark was lost in the compaction")
	}
}

func TestMarksConcurrent(t *testing.T) {
	ctx := context.Background()
	m := openMarks(t, filepath.Join(t.TempDir(), "deliveries.log"), nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("g%d-%d", g, i)
				if err := m.Done(ctx, id); err != nil {
					t.Error(err)
					return
				}
				if seen, err := m.Seen(ctx, id); err != nil || !seen {
					t.Errorf("Seen(%s) right after Done = %v, %v", id, seen, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestOpenMarksErrors(t *testing.T) {
	if _, err := OpenMarks(filepath.Join(t.TempDir(), "x"), 0); err == nil {
		t.Error("OpenMarks with a zero ttl succeeded")
	}
	if _, err := OpenMarks(filepath.Join(t.TempDir(), "missing", "x"), time.Hour); err == nil {
		t.Error("OpenMarks in a missing directory succeeded")
	}
}

// One process has the log at a time; leftover temp files of a compaction
// cut short are removed on open.
func TestMarksExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deliveries.log")
	leftover := filepath.Join(filepath.Dir(path), ".deliveries.log.tmp-123")
	if err := os.WriteFile(leftover, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := openMarks(t, path, nil)
	if _, err := os.Stat(leftover); err == nil {
		t.Error("leftover temp file kept")
	}
	if m2, err := OpenMarks(path, time.Hour); err == nil || !strings.Contains(err.Error(), "in use") {
		if m2 != nil {
			m2.Close()
		}
		t.Errorf("second OpenMarks of an open log: %v, want in use", err)
	}
	m.Close()
	m3, err := OpenMarks(path, time.Hour)
	if err != nil {
		t.Fatalf("OpenMarks after Close: %v", err)
	}
	m3.Close()
}
