package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slotFile reads the layout of pk's partition file.
func slotFile(t *testing.T, f *File, pk string) ([]byte, slotLayout) {
	t.Helper()
	b, err := os.ReadFile(f.path(pk))
	if err != nil {
		t.Fatal(err)
	}
	_, l, err := decodeFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, l
}

// A power cut during the in-place write of a new version leaves its slot
// torn: the other slot, the version acknowledged before, is read, and the
// next write goes over the torn slot.
func TestSlotTornWrite(t *testing.T) {
	ctx := context.Background()
	f := newFileStore(t, time.Now).(*File)
	for v := int64(1); v <= 2; v++ {
		if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: "a", Version: v, Data: fmt.Appendf(nil, "v%d", v)}); err != nil {
			t.Fatal(err)
		}
	}
	b, l := slotFile(t, f, "pr")
	if l.seq != 2 || l.active != 1 || len(b) != slotFileHead+2*minSlotSize {
		t.Fatalf("after two writes: slot %d seq %d, file %d bytes; want slot 1 seq 2 in a %d-byte file", l.active, l.seq, len(b), slotFileHead+2*minSlotSize)
	}
	for name, tear := range map[string]func(slot []byte){
		"payload byte flipped": func(s []byte) { s[slotHeaderLen+3] ^= 0xff },
		"cut short (zeros)":    func(s []byte) { clear(s[slotHeaderLen+5 : slotHeaderLen+64]) },
		"header torn":          func(s []byte) { clear(s[:8]) },
		"length past the slot": func(s []byte) { s[12], s[13], s[14], s[15] = 0xff, 0xff, 0xff, 0x7f },
	} {
		t.Run(name, func(t *testing.T) {
			torn := bytes.Clone(b)
			tear(torn[l.offset(1) : l.offset(1)+l.size])
			if err := os.WriteFile(f.path("pr"), torn, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := f.Get(ctx, "pr", "a")
			if err != nil || got.Version != 1 || string(got.Data) != "v1" {
				t.Fatalf("Get with the newest slot torn = v%d %q, %v; want v1 from the other slot", got.Version, got.Data, err)
			}
			if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: "a", Version: 3, Data: []byte("v3")}); err != nil {
				t.Fatal(err)
			}
			if got, err := f.Get(ctx, "pr", "a"); err != nil || string(got.Data) != "v3" {
				t.Fatalf("Get after writing over the torn slot = %q, %v; want v3", got.Data, err)
			}
			if _, l2 := slotFile(t, f, "pr"); l2.active != 1 {
				t.Errorf("the next version went to slot %d, want the torn slot 1", l2.active)
			}
		})
	}
	// Both slots torn: an error naming the file, never an empty partition.
	torn := bytes.Clone(b)
	torn[l.offset(0)+slotHeaderLen] ^= 0xff
	torn[l.offset(1)+slotHeaderLen] ^= 0xff
	if err := os.WriteFile(f.path("pr"), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(ctx, "pr", "a"); err == nil || !strings.Contains(err.Error(), "no slot holds a whole version") || !strings.Contains(err.Error(), f.path("pr")) {
		t.Errorf("Get with both slots torn: %v, want an error naming the file", err)
	}
	if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: "a", Version: 9}); err == nil {
		t.Error("PutIfNewer wrote over a partition it could not read")
	}
}

// A partition that outgrows its slots moves to a new file with larger
// ones, and keeps every record.
func TestSlotGrowth(t *testing.T) {
	ctx := context.Background()
	f := newFileStore(t, time.Now).(*File)
	big := bytes.Repeat([]byte("x"), 3000)
	var sizes []int64
	for i := range 12 {
		if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: fmt.Sprintf("item:%02d", i), Version: 1, Data: big}); err != nil {
			t.Fatal(err)
		}
		if _, l := slotFile(t, f, "pr"); len(sizes) == 0 || sizes[len(sizes)-1] != l.size {
			sizes = append(sizes, l.size)
		}
	}
	recs, err := f.Query(ctx, "pr")
	if err != nil || len(recs) != 12 {
		t.Fatalf("Query after growth = %d records, %v; want 12", len(recs), err)
	}
	for i, r := range recs {
		if r.SK != fmt.Sprintf("item:%02d", i) || !bytes.Equal(r.Data, big) {
			t.Errorf("record %d = %s with %d bytes", i, r.SK, len(r.Data))
		}
	}
	if len(sizes) < 3 || sizes[0] != minSlotSize*2 {
		t.Errorf("slot sizes over the growth %v, want several, from %d up", sizes, minSlotSize*2)
	}
	for i := 1; i < len(sizes); i++ {
		if sizes[i] <= sizes[i-1] {
			t.Errorf("slot sizes %v do not grow", sizes)
		}
	}
}

// A plain JSON file (format 1, as written before slots, and still for
// expiring-only partitions) is read, and its first durable write turns it
// into a slotted file.
func TestSlotFromPlainFile(t *testing.T) {
	ctx := context.Background()
	f := newFileStore(t, time.Now).(*File)
	old, err := json.Marshal(partition{Format: fileFormat, PK: "pr", Records: []fileRecord{{SK: "a", Version: 1, Data: []byte("old")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.path("pr"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get(ctx, "pr", "a"); err != nil || string(got.Data) != "old" {
		t.Fatalf("Get from a plain file = %q, %v", got.Data, err)
	}
	if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: "b", Version: 1}); err != nil {
		t.Fatal(err)
	}
	b, l := slotFile(t, f, "pr")
	if !bytes.HasPrefix(b, []byte(slotFileMagic)) || l.seq != 1 {
		t.Errorf("after a durable write: slotted %v, seq %d; want a slotted file at seq 1", bytes.HasPrefix(b, []byte(slotFileMagic)), l.seq)
	}
	if recs, err := f.Query(ctx, "pr"); err != nil || len(recs) != 2 {
		t.Errorf("Query = %v, %v; want both records", recs, err)
	}
	// Expiring records alone stay plain JSON: they are never flushed.
	if _, err := f.PutIfAbsent(ctx, Record{PK: "delivery#1", SK: "done", Version: 1, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(f.path("delivery#1")); err != nil || !bytes.HasPrefix(b, []byte("{")) {
		t.Errorf("expiring-only partition file starts %q, %v; want plain JSON", b[:min(len(b), 16)], err)
	}
}

// Readers take no lock while a writer rewrites slots in place: each read
// sees a whole version, never an error, and never an older version than
// the read before it. A stress test: flushing is stubbed out so that
// writes come fast enough for readers to catch slots half written, and a
// version spans two pages.
func TestSlotReadersDuringWrites(t *testing.T) {
	ctx := context.Background()
	f := newFileStore(t, time.Now).(*File)
	f.datasync = func(*os.File) error { return nil }
	if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: "a", Version: 1, Data: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			last := int64(0)
			for !stop.Load() {
				got, err := f.Get(ctx, "pr", "a")
				if err != nil {
					t.Errorf("Get during writes: %v", err)
					return
				}
				if got.Version < last {
					t.Errorf("Get went back from v%d to v%d", last, got.Version)
					return
				}
				last = got.Version
			}
		})
	}
	pad := bytes.Repeat([]byte("p"), 6000) // a version spans two pages
	for v := int64(2); v <= 3000; v++ {
		if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: "a", Version: v, Data: append(fmt.Appendf(nil, "%d", v), pad...)}); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d reads met a torn slot and read again under the lock", f.torn.Load())
}

// A durable file's creation and growth sync the directory; in-place
// versions do not. When that sync fails, the write fails, and the next
// flushed write syncs the directory first: until then the rename could be
// undone by a power cut, taking any later version with it.
func TestSlotDirectorySync(t *testing.T) {
	ctx := context.Background()
	f := newFileStore(t, time.Now).(*File)
	dirSyncs, failDir := 0, false
	f.fsync = func(fh *os.File) error {
		if fi, err := fh.Stat(); err == nil && fi.IsDir() {
			dirSyncs++
			if failDir {
				return errors.New("injected: directory sync failed")
			}
		}
		return fh.Sync()
	}
	step := func(name string, rec Record, wantSyncs int, wantErr bool) {
		t.Helper()
		dirSyncs = 0
		_, err := f.PutIfNewer(ctx, rec)
		if (err != nil) != wantErr || dirSyncs != wantSyncs {
			t.Errorf("%s: %d directory syncs, error %v; want %d, error %v", name, dirSyncs, err, wantSyncs, wantErr)
		}
	}
	step("creation", Record{PK: "pr", SK: "a", Version: 1}, 1, false)
	step("in place", Record{PK: "pr", SK: "a", Version: 2}, 0, false)
	failDir = true
	step("growth, directory sync failing", Record{PK: "pr", SK: "big", Version: 1, Data: bytes.Repeat([]byte("x"), 3*minSlotSize)}, 1, true)
	step("in place after it, still failing", Record{PK: "pr", SK: "a", Version: 3}, 1, true)
	failDir = false
	step("in place after it", Record{PK: "pr", SK: "a", Version: 4}, 1, false)
	step("in place again", Record{PK: "pr", SK: "a", Version: 5}, 0, false)
	if got, err := f.Get(ctx, "pr", "a"); err != nil || got.Version != 5 {
		t.Errorf("Get = v%d, %v; want v5", got.Version, err)
	}
}

// A reader that finds a slot torn (a writer is writing it, or a crash left
// it) reads again under the writers' lock, and gets the newest whole
// version.
func TestSlotTornReadRetries(t *testing.T) {
	ctx := context.Background()
	f := newFileStore(t, time.Now).(*File)
	for v := int64(1); v <= 2; v++ {
		if _, err := f.PutIfNewer(ctx, Record{PK: "pr", SK: "a", Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	b, l := slotFile(t, f, "pr")
	b[l.offset(1)+slotHeaderLen] ^= 0xff // the newest slot torn, its magic intact
	if err := os.WriteFile(f.path("pr"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, l2, err := decodeFile(b)
	if err != nil || !l2.torn {
		t.Fatalf("decodeFile of a torn slot: torn %v, %v", l2.torn, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if got, err := f.Get(ctx, "pr", "a"); err != nil || got.Version != 1 {
			t.Errorf("Get over a torn slot = v%d, %v; want v1", got.Version, err)
		}
		if recs, err := f.Query(ctx, "pr"); err != nil || len(recs) != 1 || recs[0].Version != 1 {
			t.Errorf("Query over a torn slot = %v, %v; want v1", recs, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("reading a torn slot did not return")
	}
}

func FuzzDecodeFile(f *testing.F) {
	p, _ := json.Marshal(partition{Format: fileFormat, PK: "pr", Records: []fileRecord{{SK: "a", Version: 1}}})
	f.Add(newSlotFile(1, p))
	f.Add(p)
	f.Add([]byte(slotFileMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, l, err := decodeFile(b)
		if err != nil {
			return
		}
		if p == nil || (l.size > 0 && (l.active < 0 || l.active > 1 || l.offset(2) > int64(len(b)))) {
			t.Fatalf("decodeFile = %v, %+v without error", p, l)
		}
	})
}
