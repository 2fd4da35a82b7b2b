package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// newStoreFunc returns an empty store whose clock is now.
type newStoreFunc func(t *testing.T, now func() time.Time) Store

// testClock is a settable clock; it starts on a whole second because Dynamo
// keeps expiry to the second.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Now().Truncate(time.Second)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// step is one operation of a conformance scenario. Expires and advance are
// relative to the clock at the start of the scenario.
type step struct {
	op      string // newer, absent, delete, advance
	sk      string
	version int64
	data    string
	expires time.Duration // 0: never
	advance time.Duration
	wrote   bool // want, for newer and absent
}

// want is a record expected from Query("pk").
type want struct {
	sk      string
	version int64
	data    string
	expires time.Duration
}

// testConformance runs the behaviour every Store must share.
func testConformance(t *testing.T, newStore newStoreFunc) {
	t.Run("scenarios", func(t *testing.T) { testScenarios(t, newStore) })
	t.Run("get", func(t *testing.T) { testGet(t, newStore) })
	t.Run("invalid keys", func(t *testing.T) { testInvalidKeys(t, newStore) })
	t.Run("canceled context", func(t *testing.T) { testCanceled(t, newStore) })
	t.Run("concurrent PutIfNewer", func(t *testing.T) { testConcurrentNewer(t, newStore(t, time.Now)) })
	t.Run("concurrent PutIfAbsent", func(t *testing.T) { testConcurrentAbsent(t, newStore(t, time.Now)) })
	t.Run("PutManyIfNewer", func(t *testing.T) { testPutMany(t, newStore) })
	t.Run("PutManyIfNewer against a model", func(t *testing.T) { testPutManyModel(t, newStore(t, time.Now)) })
	t.Run("PutManyThenQuery against a model", func(t *testing.T) { testPutManyThenQuery(t, newStore(t, time.Now)) })
}

func testPutMany(t *testing.T, newStore newStoreFunc) {
	ctx := context.Background()
	clock := newTestClock()
	start := clock.Now()
	s := newStore(t, clock.Now)
	for _, r := range []Record{
		{PK: "pk", SK: "old", Version: 1, Data: []byte("old")},
		{PK: "pk", SK: "new", Version: 9, Data: []byte("new")},
		{PK: "pk", SK: "expired", Version: 9, Data: []byte("expired"), Expires: start.Add(time.Minute)},
	} {
		if ok, err := s.PutIfNewer(ctx, r); err != nil || !ok {
			t.Fatalf("PutIfNewer %s = %v, %v", r.SK, ok, err)
		}
	}
	clock.Advance(time.Minute)

	// Invalid input anywhere in the batch writes nothing.
	bad := []Record{{PK: "pk", SK: "old", Version: 5, Data: []byte("bad")}, {PK: "pk", SK: "", Version: 5}}
	if _, err := s.PutManyIfNewer(ctx, bad); err == nil || !strings.Contains(err.Error(), "sort key: empty") {
		t.Errorf("PutManyIfNewer with an empty sort key: %v, want an invalid key error", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.PutManyIfNewer(canceled, bad[:1]); !errors.Is(err, context.Canceled) {
		t.Errorf("PutManyIfNewer with a canceled context: %v, want context.Canceled", err)
	}
	if got, err := s.Get(ctx, "pk", "old"); err != nil || string(got.Data) != "old" {
		t.Fatalf("after rejected batches Get(old) = %+v, %v; want the old record", got, err)
	}

	batch := []Record{
		{PK: "pk", SK: "old", Version: 2, Data: []byte("old2")},        // newer: writes
		{PK: "pk", SK: "new", Version: 8, Data: []byte("stale")},       // older: no write
		{PK: "pk", SK: "expired", Version: 1, Data: []byte("revived")}, // over an expired record: writes
		{PK: "pk", SK: "fresh", Version: 1, Data: []byte("fresh")},     // absent: writes
		{PK: "other", SK: "x", Version: 3, Data: []byte("x")},          // another partition
		{PK: "pk", SK: "dup", Version: 1, Data: []byte("dup1")},        // of two at one key,
		{PK: "pk", SK: "dup", Version: 2, Data: []byte("dup2")},        // the higher version stays
	}
	wrote, err := s.PutManyIfNewer(ctx, batch)
	if err != nil {
		t.Fatalf("PutManyIfNewer: %v", err)
	}
	if len(wrote) != len(batch) {
		t.Fatalf("PutManyIfNewer reported %d results for %d records", len(wrote), len(batch))
	}
	// Records at distinct keys report exactly; of duplicates only the end
	// state is defined (a store may run them in either order).
	for i, want := range []bool{true, false, true, true, true} {
		if wrote[i] != want {
			t.Errorf("PutManyIfNewer wrote[%d] (%s/%s v%d) = %v, want %v", i, batch[i].PK, batch[i].SK, batch[i].Version, wrote[i], want)
		}
	}
	if !wrote[6] {
		t.Errorf("PutManyIfNewer reported no write of the highest version at dup")
	}
	got, err := s.Query(ctx, "pk")
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "Query pk", got, []Record{
		{PK: "pk", SK: "dup", Version: 2, Data: []byte("dup2")},
		{PK: "pk", SK: "expired", Version: 1, Data: []byte("revived")},
		{PK: "pk", SK: "fresh", Version: 1, Data: []byte("fresh")},
		{PK: "pk", SK: "new", Version: 9, Data: []byte("new")},
		{PK: "pk", SK: "old", Version: 2, Data: []byte("old2")},
	})
	got, err = s.Query(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "Query other", got, []Record{{PK: "other", SK: "x", Version: 3, Data: []byte("x")}})
	if wrote, err := s.PutManyIfNewer(ctx, nil); err != nil || len(wrote) != 0 {
		t.Errorf("PutManyIfNewer(nil) = %v, %v; want nothing", wrote, err)
	}
}

// testPutManyModel applies random batches and checks every report and the
// end state against a map of the highest version per key.
func testPutManyModel(t *testing.T, s Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	type key struct{ pk, sk string }
	model := map[key]int64{}
	for round := range 40 {
		seen := map[key]bool{}
		var batch []Record
		for range 1 + rng.IntN(12) { // more than Dynamo's maxConcurrentPuts
			k := key{fmt.Sprintf("m%d", rng.IntN(3)), fmt.Sprintf("item:%d", rng.IntN(5))}
			if seen[k] { // duplicates have no defined report; see testPutMany
				continue
			}
			seen[k] = true
			v := int64(1 + rng.IntN(20))
			batch = append(batch, Record{PK: k.pk, SK: k.sk, Version: v, Data: fmt.Appendf(nil, "%d", v)})
		}
		wrote, err := s.PutManyIfNewer(ctx, batch)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, r := range batch {
			k := key{r.PK, r.SK}
			want := r.Version > model[k]
			if wrote[i] != want {
				t.Fatalf("round %d: %s/%s v%d over v%d: wrote = %v, want %v", round, r.PK, r.SK, r.Version, model[k], wrote[i], want)
			}
			if want {
				model[k] = r.Version
			}
		}
	}
	for k, v := range model {
		got, err := s.Get(ctx, k.pk, k.sk)
		if err != nil || got.Version != v || string(got.Data) != fmt.Sprint(v) {
			t.Errorf("Get(%s/%s) = v%d %q, %v; want v%d", k.pk, k.sk, got.Version, got.Data, err, v)
		}
	}
}

// testPutManyThenQuery: the partition read back is the partition as the
// writes left it, whether the store does both in one step or not.
func testPutManyThenQuery(t *testing.T, s Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	model := map[string]map[string]int64{"q0": {}, "q1": {}}
	for round := range 30 {
		pk := fmt.Sprintf("q%d", rng.IntN(2))
		var batch []Record
		seen := map[string]bool{}
		for range rng.IntN(6) { // sometimes none: a plain read
			k := fmt.Sprintf("q%d\x00item:%d", rng.IntN(2), rng.IntN(4))
			if seen[k] {
				continue
			}
			seen[k] = true
			p, sk, _ := strings.Cut(k, "\x00")
			v := int64(1 + rng.IntN(20))
			batch = append(batch, Record{PK: p, SK: sk, Version: v, Data: fmt.Appendf(nil, "%d", v)})
		}
		wrote, got, err := PutManyThenQuery(ctx, s, batch, pk)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, r := range batch {
			if want := r.Version > model[r.PK][r.SK]; wrote[i] != want {
				t.Fatalf("round %d: %s/%s v%d over v%d: wrote = %v, want %v", round, r.PK, r.SK, r.Version, model[r.PK][r.SK], wrote[i], want)
			}
			model[r.PK][r.SK] = max(model[r.PK][r.SK], r.Version)
		}
		var want []Record
		for sk, v := range model[pk] {
			want = append(want, Record{PK: pk, SK: sk, Version: v, Data: fmt.Appendf(nil, "%d", v)})
		}
		slices.SortFunc(want, func(a, b Record) int { return strings.Compare(a.SK, b.SK) })
		checkRecords(t, fmt.Sprintf("round %d: read back %s", round, pk), got, want)
	}
	// A bad key fails the call before anything is written or read.
	before, _ := s.Query(ctx, "q0")
	if _, _, err := PutManyThenQuery(ctx, s, []Record{{PK: "q0", SK: "item:0", Version: 99}, {PK: "q0", SK: ""}}, "q0"); err == nil {
		t.Error("a batch with an empty sort key was accepted")
	}
	after, _ := s.Query(ctx, "q0")
	checkRecords(t, "after a refused batch", after, before)
}

func testScenarios(t *testing.T, newStore newStoreFunc) {
	tests := map[string]struct {
		steps []step
		want  []want
	}{
		"newer version replaces": {
			steps: []step{
				{op: "newer", sk: "a", version: 1, data: "one", wrote: true},
				{op: "newer", sk: "a", version: 2, data: "two", wrote: true},
			},
			want: []want{{sk: "a", version: 2, data: "two"}},
		},
		"equal version does not replace": {
			steps: []step{
				{op: "newer", sk: "a", version: 5, data: "first", wrote: true},
				{op: "newer", sk: "a", version: 5, data: "second", wrote: false},
			},
			want: []want{{sk: "a", version: 5, data: "first"}},
		},
		"out of order deliveries converge on the latest": {
			steps: []step{
				{op: "newer", sk: "a", version: 3, data: "three", wrote: true},
				{op: "newer", sk: "a", version: 1, data: "one", wrote: false},
				{op: "newer", sk: "a", version: 2, data: "two", wrote: false},
				{op: "newer", sk: "a", version: 3, data: "three again", wrote: false},
			},
			want: []want{{sk: "a", version: 3, data: "three"}},
		},
		"negative and zero versions order too": {
			steps: []step{
				{op: "newer", sk: "a", version: -7, data: "neg", wrote: true},
				{op: "newer", sk: "a", version: 0, data: "zero", wrote: true},
				{op: "newer", sk: "a", version: -1, data: "late", wrote: false},
			},
			want: []want{{sk: "a", version: 0, data: "zero"}},
		},
		"absent writes once": {
			steps: []step{
				{op: "absent", sk: "d", version: 1, data: "first", wrote: true},
				{op: "absent", sk: "d", version: 9, data: "second", wrote: false},
				{op: "newer", sk: "d", version: 1, data: "same", wrote: false},
			},
			want: []want{{sk: "d", version: 1, data: "first"}},
		},
		"absent replaces an expired record": {
			steps: []step{
				{op: "absent", sk: "d", version: 1, data: "old", expires: time.Minute, wrote: true},
				{op: "advance", advance: time.Minute},
				{op: "absent", sk: "d", version: 1, data: "new", expires: 2 * time.Minute, wrote: true},
			},
			want: []want{{sk: "d", version: 1, data: "new", expires: 2 * time.Minute}},
		},
		"newer replaces an expired record of higher version": {
			steps: []step{
				{op: "newer", sk: "a", version: 9, data: "old", expires: time.Minute, wrote: true},
				{op: "advance", advance: 2 * time.Minute},
				{op: "newer", sk: "a", version: 1, data: "new", wrote: true},
			},
			want: []want{{sk: "a", version: 1, data: "new"}},
		},
		"record is live until the instant it expires": {
			steps: []step{
				{op: "newer", sk: "a", version: 1, data: "short", expires: time.Minute, wrote: true},
				{op: "newer", sk: "b", version: 1, data: "long", expires: time.Hour, wrote: true},
				{op: "advance", advance: time.Minute - time.Second},
				{op: "absent", sk: "a", version: 2, wrote: false},
			},
			want: []want{
				{sk: "a", version: 1, data: "short", expires: time.Minute},
				{sk: "b", version: 1, data: "long", expires: time.Hour},
			},
		},
		"expired records vanish from query": {
			steps: []step{
				{op: "newer", sk: "a", version: 1, data: "expiring", expires: time.Minute, wrote: true},
				{op: "newer", sk: "b", version: 1, data: "kept", wrote: true},
				{op: "newer", sk: "c", version: 1, data: "expiring", expires: time.Minute, wrote: true},
				{op: "advance", advance: time.Minute},
			},
			want: []want{{sk: "b", version: 1, data: "kept"}},
		},
		"delete then a lower version writes": {
			steps: []step{
				{op: "newer", sk: "a", version: 5, data: "five", wrote: true},
				{op: "newer", sk: "b", version: 1, data: "b", wrote: true},
				{op: "delete", sk: "a"},
				{op: "newer", sk: "a", version: 1, data: "one", wrote: true},
			},
			want: []want{{sk: "a", version: 1, data: "one"}, {sk: "b", version: 1, data: "b"}},
		},
		"deleting nothing is fine": {
			steps: []step{
				{op: "delete", sk: "missing"},
				{op: "newer", sk: "a", version: 1, data: "x", wrote: true},
				{op: "delete", sk: "a"},
				{op: "delete", sk: "a"},
			},
			want: nil,
		},
		"query orders by sort key bytes": {
			steps: []step{
				{op: "newer", sk: "item#é", version: 1, wrote: true},
				{op: "newer", sk: "item#b", version: 1, wrote: true},
				{op: "newer", sk: "item#Z", version: 1, wrote: true},
				{op: "newer", sk: "item#a", version: 1, wrote: true},
				{op: "newer", sk: "item", version: 1, wrote: true},
				{op: "absent", sk: "delivery", version: 1, wrote: true},
			},
			want: []want{
				{sk: "delivery", version: 1}, {sk: "item", version: 1}, {sk: "item#Z", version: 1},
				{sk: "item#a", version: 1}, {sk: "item#b", version: 1}, {sk: "item#é", version: 1},
			},
		},
		"binary data round-trips": {
			steps: []step{
				{op: "newer", sk: "bin", version: 1, data: "\x00\xff{\"ticked\":true}\n\x00", wrote: true},
				{op: "newer", sk: "empty", version: 1, data: "", wrote: true},
			},
			want: []want{{sk: "bin", version: 1, data: "\x00\xff{\"ticked\":true}\n\x00"}, {sk: "empty", version: 1}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clock := newTestClock()
			start := clock.Now()
			s := newStore(t, clock.Now)
			// A neighbouring partition must never leak into "pk".
			if ok, err := s.PutIfNewer(ctx, Record{PK: "pk2", SK: "a", Version: 100, Data: []byte("other")}); err != nil || !ok {
				t.Fatalf("PutIfNewer(pk2) = %v, %v", ok, err)
			}
			for i, st := range tc.steps {
				rec := Record{PK: "pk", SK: st.sk, Version: st.version, Data: []byte(st.data)}
				if st.expires != 0 {
					rec.Expires = start.Add(st.expires)
				}
				var wrote bool
				var err error
				switch st.op {
				case "newer":
					wrote, err = s.PutIfNewer(ctx, rec)
				case "absent":
					wrote, err = s.PutIfAbsent(ctx, rec)
				case "delete":
					err = s.Delete(ctx, "pk", st.sk)
				case "advance":
					clock.Advance(st.advance)
					continue
				default:
					t.Fatalf("step %d: unknown op %q", i, st.op)
				}
				if err != nil {
					t.Fatalf("step %d (%s %s v%d): %v", i, st.op, st.sk, st.version, err)
				}
				if wrote != st.wrote {
					t.Fatalf("step %d (%s %s v%d): wrote = %v, want %v", i, st.op, st.sk, st.version, wrote, st.wrote)
				}
			}

			var wantRecs []Record
			for _, w := range tc.want {
				r := Record{PK: "pk", SK: w.sk, Version: w.version, Data: []byte(w.data)}
				if w.expires != 0 {
					r.Expires = start.Add(w.expires)
				}
				wantRecs = append(wantRecs, r)
			}
			got, err := s.Query(ctx, "pk")
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			checkRecords(t, "Query", got, wantRecs)
			// Get agrees with Query on every key the scenario touched.
			for _, st := range tc.steps {
				if st.op == "advance" {
					continue
				}
				got, err := s.Get(ctx, "pk", st.sk)
				i := indexSK(wantRecs, st.sk)
				switch {
				case i < 0 && !errors.Is(err, ErrNotFound):
					t.Errorf("Get(%s) = %+v, %v; want ErrNotFound", st.sk, got, err)
				case i >= 0 && err != nil:
					t.Errorf("Get(%s): %v", st.sk, err)
				case i >= 0:
					checkRecords(t, "Get "+st.sk, []Record{got}, wantRecs[i:i+1])
				}
			}
		})
	}
}

func testGet(t *testing.T, newStore newStoreFunc) {
	ctx := context.Background()
	clock := newTestClock()
	s := newStore(t, clock.Now)
	if _, err := s.Get(ctx, "pk", "nothing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on an empty store: %v, want ErrNotFound", err)
	}
	rec := Record{PK: "pk", SK: "sk", Version: 42, Data: []byte(`{"by":"octocat"}`), Expires: clock.Now().Add(time.Hour)}
	if ok, err := s.PutIfNewer(ctx, rec); err != nil || !ok {
		t.Fatalf("PutIfNewer = %v, %v", ok, err)
	}
	got, err := s.Get(ctx, "pk", "sk")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	checkRecords(t, "Get", []Record{got}, []Record{rec})
	if _, err := s.Get(ctx, "pk", "sk2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of another sort key: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "pk2", "sk"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of another partition: %v, want ErrNotFound", err)
	}
	if recs, err := s.Query(ctx, "pk2"); err != nil || len(recs) != 0 {
		t.Errorf("Query of an empty partition = %v, %v; want none", recs, err)
	}
	clock.Advance(time.Hour)
	if _, err := s.Get(ctx, "pk", "sk"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an expired record: %v, want ErrNotFound", err)
	}
}

func testInvalidKeys(t *testing.T, newStore newStoreFunc) {
	ctx := context.Background()
	s := newStore(t, time.Now)
	if ok, err := s.PutIfNewer(ctx, Record{PK: "pk", SK: "sk", Version: 1, Data: []byte("kept")}); err != nil || !ok {
		t.Fatalf("PutIfNewer = %v, %v", ok, err)
	}
	tests := map[string]struct {
		pk, sk  string
		wantErr string
		badSK   bool // Query, which takes no sort key, succeeds
	}{
		"empty partition key": {pk: "", sk: "sk", wantErr: "partition key: empty"},
		"empty sort key":      {pk: "pk", sk: "", wantErr: "sort key: empty", badSK: true},
		"long partition key":  {pk: strings.Repeat("p", maxPKBytes+1), sk: "sk", wantErr: "partition key: 2049 bytes"},
		"long sort key":       {pk: "pk", sk: strings.Repeat("s", maxSKBytes+1), wantErr: "sort key: 1025 bytes", badSK: true},
		"non-UTF-8 sort key":  {pk: "pk", sk: "s\xffk", wantErr: "not UTF-8", badSK: true},
		"non-UTF-8 partition": {pk: "p\xc3", sk: "sk", wantErr: "not UTF-8"},
		"keys of max length":  {pk: strings.Repeat("p", maxPKBytes), sk: strings.Repeat("s", maxSKBytes)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := Record{PK: tc.pk, SK: tc.sk, Version: 2, Data: []byte("bad")}
			check := func(op string, err error) {
				t.Helper()
				switch {
				case tc.wantErr == "" && err != nil && !errors.Is(err, ErrNotFound):
					t.Errorf("%s: %v, want success", op, err)
				case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
					t.Errorf("%s: error %v, want one containing %q", op, err, tc.wantErr)
				}
			}
			_, err := s.Get(ctx, tc.pk, tc.sk)
			check("Get", err)
			_, err = s.PutIfNewer(ctx, rec)
			check("PutIfNewer", err)
			_, err = s.PutIfAbsent(ctx, rec)
			check("PutIfAbsent", err)
			check("Delete", s.Delete(ctx, tc.pk, tc.sk))
			if !tc.badSK {
				_, err = s.Query(ctx, tc.pk)
				check("Query", err)
			}
		})
	}
	got, err := s.Query(ctx, "pk")
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "after bad input", got, []Record{{PK: "pk", SK: "sk", Version: 1, Data: []byte("kept")}})
}

func testCanceled(t *testing.T, newStore newStoreFunc) {
	s := newStore(t, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := Record{PK: "pk", SK: "sk", Version: 1}
	if _, err := s.PutIfNewer(ctx, rec); !errors.Is(err, context.Canceled) {
		t.Errorf("PutIfNewer: %v, want context.Canceled", err)
	}
	if _, err := s.PutIfAbsent(ctx, rec); !errors.Is(err, context.Canceled) {
		t.Errorf("PutIfAbsent: %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, "pk", "sk"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v, want context.Canceled", err)
	}
	if _, err := s.Query(ctx, "pk"); !errors.Is(err, context.Canceled) {
		t.Errorf("Query: %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "pk", "sk"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v, want context.Canceled", err)
	}
	if got, err := s.Query(context.Background(), "pk"); err != nil || len(got) != 0 {
		t.Errorf("after canceled writes Query = %v, %v; want nothing", got, err)
	}
}

// testConcurrentNewer writes versions 1..n in random order from n goroutines
// through the given stores (several handles on one store, or one).
func testConcurrentNewer(t *testing.T, stores ...Store) {
	const n = 48
	ctx := context.Background()
	wrote := make([]bool, n+1)
	var wg sync.WaitGroup
	for _, v := range rand.Perm(n) {
		v := int64(v + 1)
		wg.Go(func() {
			s := stores[int(v)%len(stores)]
			ok, err := s.PutIfNewer(ctx, Record{PK: "race", SK: "item", Version: v, Data: fmt.Appendf(nil, "v%d", v)})
			if err != nil {
				t.Errorf("PutIfNewer v%d: %v", v, err)
			}
			wrote[v] = ok
		})
	}
	wg.Wait()
	if !wrote[n] {
		t.Errorf("PutIfNewer of the highest version v%d reported no write", n)
	}
	for _, s := range stores {
		got, err := s.Get(ctx, "race", "item")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got.Version != n || string(got.Data) != fmt.Sprintf("v%d", n) {
			t.Errorf("after the race Get = v%d %q, want v%d", got.Version, got.Data, n)
		}
	}
}

// testConcurrentAbsent checks that exactly one of many racing PutIfAbsent wins.
func testConcurrentAbsent(t *testing.T, stores ...Store) {
	const n = 32
	ctx := context.Background()
	var mu sync.Mutex
	var winners []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ok, err := stores[i%len(stores)].PutIfAbsent(ctx, Record{PK: "race", SK: "delivery", Version: int64(i), Data: fmt.Appendf(nil, "%d", i)})
			if err != nil {
				t.Errorf("PutIfAbsent %d: %v", i, err)
			}
			if ok {
				mu.Lock()
				winners = append(winners, i)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("PutIfAbsent winners = %v, want exactly one", winners)
	}
	got, err := stores[0].Get(ctx, "race", "delivery")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != int64(winners[0]) {
		t.Errorf("stored version %d, but the winner was %d", got.Version, winners[0])
	}
}

func indexSK(recs []Record, sk string) int {
	for i, r := range recs {
		if r.SK == sk {
			return i
		}
	}
	return -1
}

func checkRecords(t *testing.T, what string, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d records %s, want %d %s", what, len(got), fmtRecords(got), len(want), fmtRecords(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.PK != w.PK || g.SK != w.SK || g.Version != w.Version || !bytes.Equal(g.Data, w.Data) || !g.Expires.Equal(w.Expires) {
			t.Errorf("%s: record %d = %s, want %s", what, i, fmtRecords([]Record{g}), fmtRecords([]Record{w}))
		}
	}
}

func fmtRecords(recs []Record) string {
	var b strings.Builder
	for _, r := range recs {
		exp := "never"
		if !r.Expires.IsZero() {
			exp = r.Expires.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, "[%s/%s v%d %q exp %s]", r.PK, r.SK, r.Version, r.Data, exp)
	}
	return b.String()
}
