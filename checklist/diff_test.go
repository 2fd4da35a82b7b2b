package checklist

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	const base = "## Author Checklist\n- [ ] Has the author tested changes?\n- [x] Does a build from the Cmd Line Pass?\n\n" +
		"## Reviewer Checklist\n- [ ] Are the commit messages appropriate?\n"
	author := func(text string) string { return authorKey(text) }
	tests := map[string]struct {
		old, new string // old "-" means nil
		want     []Change
	}{
		"opened: every checked box": {
			old: "-", new: base,
			want: []Change{{"Author Checklist", author("Does a build from the Cmd Line Pass?"), "Does a build from the Cmd Line Pass?", true, false}},
		},
		"no change": {old: base, new: base},
		"tick": {
			old: base,
			new: "## Author Checklist\n- [x] Has the author tested changes?\n- [x] Does a build from the Cmd Line Pass?\n\n" +
				"## Reviewer Checklist\n- [x] Are the commit messages appropriate?\n",
			want: []Change{
				{"Author Checklist", author("Has the author tested changes?"), "Has the author tested changes?", true, false},
				{"Reviewer Checklist", reviewerKey("Are the commit messages appropriate?"), "Are the commit messages appropriate?", true, false},
			},
		},
		"untick": {
			old:  base,
			new:  "## Author Checklist\n- [ ] Has the author tested changes?\n- [ ] Does a build from the Cmd Line Pass?\n",
			want: []Change{{"Author Checklist", author("Does a build from the Cmd Line Pass?"), "Does a build from the Cmd Line Pass?", false, false}},
		},
		"box added checked": {
			old:  base,
			new:  base + "- [x] New box\n- [ ] Another new box\n",
			want: []Change{{"Reviewer Checklist", reviewerKey("New box"), "New box", true, false}},
		},
		"box removed is not a change": {
			old: base,
			new: "## Author Checklist\n- [ ] Has the author tested changes?\n\n## Reviewer Checklist\n",
		},
		"reordered boxes are not changes": {
			old: base,
			new: "## Reviewer Checklist\n- [ ] Are the commit messages appropriate?\n\n" +
				"## Author Checklist\n- [x] Does a build from the Cmd Line Pass?\n- [ ] Has the author tested changes?\n",
		},
		"edited text of a checked box reads as a new box": {
			old:  base,
			new:  "## Author Checklist\n- [ ] Has the author tested changes?\n- [x] Does a build pass?\n",
			want: []Change{{"Author Checklist", author("Does a build pass?"), "Does a build pass?", true, false}},
		},
		"markup and case changes keep the key": {
			old: base,
			new: "## Author Checklist\n- [ ] has the **author** tested changes\n- [x] Does a build from the `Cmd Line` Pass?\n\n" +
				"## Reviewer Checklist\n- [ ] Are the commit messages appropriate?\n",
		},
		"marking a box optional keeps its key": {
			old: base,
			new: "## Author Checklist\n- [x] N/A: Has the author tested changes?\n- [x] Does a build from the Cmd Line Pass?\n",
			want: []Change{
				{"Author Checklist", author("Has the author tested changes?"), "N/A: Has the author tested changes?", true, false},
				{"Author Checklist", author("Has the author tested changes?"), "N/A: Has the author tested changes?", true, true},
			},
		},
		"striking an item through is a waiver; restoring it takes the waiver back": {
			old: "## Reviewer Checklist\n- [ ] Are the commit messages appropriate?\n- [ ] ~~Ran it~~\n",
			new: "## Reviewer Checklist\n- [ ] ~~Are the commit messages appropriate?~~\n- [ ] Ran it\n",
			want: []Change{
				{"Reviewer Checklist", reviewerKey("Are the commit messages appropriate?"), "Are the commit messages appropriate?", true, true},
				{"Reviewer Checklist", reviewerKey("Ran it"), "Ran it", false, true},
			},
		},
		"an item added already optional is a waiver": {
			old:  base,
			new:  base + "- [ ] POST-MERGE: deploy\n",
			want: []Change{{"Reviewer Checklist", reviewerKey("deploy"), "POST-MERGE: deploy", true, true}},
		},
		"repeated text: the second box changes": {
			old:  "## Author Checklist\n- [x] Ran it\n- [ ] Ran it\n",
			new:  "## Author Checklist\n- [x] Ran it\n- [x] Ran it\n",
			want: []Change{{"Author Checklist", author("Ran it") + "#2", "Ran it", true, false}},
		},
		"boxes outside checklists are ignored": {
			old: base,
			new: "- [x] Loose box\n\n" + base + "\n## Notes\n- [x] Another loose box\n",
		},
		"boxes in code are ignored": {
			old: base,
			new: base + "```\n- [x] Are the commit messages appropriate?\n```\n",
		},
		"section deleted": {old: base, new: "Nothing here.\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var old *Document
			if tc.old != "-" {
				old = Parse([]byte(tc.old))
			}
			got := Diff(old, Parse([]byte(tc.new)), DefaultConfig())
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestDiffKeysMatchEvaluate: the ledger stores ticks under Diff's keys and
// Evaluate looks them up under its own; they must agree.
func TestDiffKeysMatchEvaluate(t *testing.T) {
	body := []byte("## Author Checklist\n- [x] A\n- [x] a!\n- [x] N/A: B\n- [x] ~~C~~\n\n## Reviewer Checklist\n- [x] A\n")
	doc := Parse(body)
	changes := Diff(nil, doc, nil)
	var keys []string
	for _, r := range Evaluate(doc, nil, nil) {
		for _, it := range r.Items {
			keys = append(keys, it.Key)
		}
	}
	var got []string
	for _, c := range changes {
		if !c.Waiver {
			got = append(got, c.Key)
		}
	}
	if len(keys) != 5 || !reflect.DeepEqual(got, keys) {
		t.Errorf("Diff keys %q, Evaluate keys %q", got, keys)
	}
}

func TestDiffNil(t *testing.T) {
	if got := Diff(Parse([]byte("## Author Checklist\n- [x] A\n")), nil, nil); got != nil {
		t.Errorf("Diff(old, nil) = %v, want nil", got)
	}
}
