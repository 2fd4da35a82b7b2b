package app

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/checkoff-app/checkoff/checklist"
)

func TestMemoForgetsOldestOnceFull(t *testing.T) {
	m := newMemo[int](3)
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	for i := range 5 {
		m.put(key(i), i)
	}
	for i := range 5 {
		v, ok := m.get(key(i))
		if want := i >= 2; ok != want || (ok && v != i) {
			t.Errorf("get(%d) = %d, %v; want kept=%v", i, v, ok, want)
		}
	}
	m.put(key(4), 40) // present: not replaced, nothing forgotten
	if v, _ := m.get(key(4)); v != 4 {
		t.Errorf("a second put replaced the value: %d", v)
	}
	if _, ok := m.get(key(2)); !ok {
		t.Error("a second put of a present key forgot another")
	}
}

func TestParseBodyIsParse(t *testing.T) {
	inputs := []string{
		"## Author Checklist\n- [x] tests\n- [ ] docs\n",
		"## Author Checklist\n- [ ] tests\n- [ ] docs\n",
		"## Reviewer Checklist\n- [x] " + strings.Repeat("long ", memoMaxBytes/4) + "\n", // over the bound: not kept
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, b := range inputs {
				if got, want := parseBody(b), checklist.Parse([]byte(b)); !reflect.DeepEqual(got, want) {
					t.Errorf("parseBody(%.40q) = %+v, want %+v", b, got, want)
				}
			}
		})
	}
	wg.Wait()
	// Consumers read the shared Document and never write it.
	shared := parseBody(inputs[0])
	checklist.Diff(parseBody(inputs[1]), shared, nil)
	checklist.Evaluate(shared, nil, &checklist.Facts{})
	sameStructure(parseBody(inputs[1]), shared)
	if want := checklist.Parse([]byte(inputs[0])); !reflect.DeepEqual(shared, want) {
		t.Errorf("judging changed the shared Document:\n%+v\nwant %+v", shared, want)
	}
	if _, ok := bodies.get(sha256.Sum256([]byte(inputs[0]))); !ok {
		t.Error("a short body was not kept")
	}
	if _, ok := bodies.get(sha256.Sum256([]byte(inputs[2]))); ok {
		t.Error("a body over memoMaxBytes was kept")
	}
}

func TestParseConfigIsParseConfig(t *testing.T) {
	for _, data := range []string{"incomplete_conclusion: failure\n", "checklists: [\n", "unknown_key: 1\n"} {
		got, gotErr := parseConfig([]byte(data))
		again, againErr := parseConfig([]byte(data))
		want, wantErr := checklist.ParseConfig(configPath, []byte(data))
		if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("parseConfig(%q) = %+v, %v; want %+v, %v", data, got, gotErr, want, wantErr)
		}
		if got != again || gotErr != againErr {
			t.Errorf("parseConfig(%q) parsed again instead of reusing its result", data)
		}
	}
}
