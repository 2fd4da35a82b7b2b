package checklist

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzEvaluate parses and evaluates arbitrary bodies, with and without
// attribution facts derived from salt, under the default config or one
// with a whole-body checklist and a pick-N group, and checks the
// invariants: no panic, ticked <= total, a body checklist never missing and
// owning exactly the boxes no section owns, Counted only for a checked box or a review tick, ticks
// counted only from whom the checklist allows, and no box from inside a
// fenced code block.
func FuzzEvaluate(f *testing.F) {
	files, _ := filepath.Glob("testdata/eval/*.md")
	for i, file := range files {
		if body, err := os.ReadFile(file); err == nil {
			f.Add(body, uint8(i))
		}
	}
	f.Add([]byte("## Author Checklist\r\n- [x] a\r\n* [ ] b\r\n1) [X] c\r\n"), uint8(7))
	f.Add([]byte("**Reviewer Checklist**\n> - [x] quoted\n\n```\n- [x] fenced\n```\n"), uint8(3))
	f.Add([]byte("## Author Checklist\n- [x] N/A\n- [x] ~~struck~~\n- [ ] \x00\xff\n"), uint8(200))

	f.Add([]byte("- [x] a body task\n<details><summary>Reviewer Checklist</summary>\n\n- [x] b\n</details>\n- [ ] N/A c\n"), uint8(130))

	// Half the salts judge under the defaults; the other half beside a
	// whole-body checklist and a pick-2 group, with markers anywhere.
	other := DefaultConfig()
	other.OptionalMatch = MatchAnywhere
	other.Checklists[0].Select = 2
	other.Checklists = append(other.Checklists, Checklist{Name: "Tasks", Scope: BodyScope, TickedBy: Author, AllowExtraItems: true})
	configs := []*Config{DefaultConfig(), other}
	f.Fuzz(func(t *testing.T, body []byte, salt uint8) {
		cfg := configs[salt>>7]
		doc := Parse(body)
		rs := Evaluate(doc, cfg, nil)
		checkInvariants(t, rs, nil)

		facts := fuzzFacts(rs, salt)
		withFacts := Evaluate(doc, cfg, facts)
		checkInvariants(t, withFacts, facts)
		// A tick or a waiver counts only when its record admits it.
		admitted := func(role Role, rec Tick, ok bool) bool {
			switch role {
			case Author:
				return ok && rec.Checked && strings.EqualFold(rec.By, facts.Author)
			case Reviewer:
				return ok && rec.Checked && !rec.Bot && rec.CanWrite && !strings.EqualFold(rec.By, facts.Author) &&
					!facts.Contributors[strings.ToLower(rec.By)] && !rec.At.Before(facts.ResetAt)
			}
			return true
		}
		for i, r := range withFacts {
			for j, it := range r.Items {
				if it.Counted {
					rec, ok := facts.Ticks[it.Key]
					if !admitted(r.Checklist.TickedBy, rec, ok) {
						t.Fatalf("%s item %q counted with record %+v", r.Checklist.TickedBy, it.Text, rec)
					}
				}
				if it.Optional {
					rec, ok := facts.Waivers[it.Key]
					if !admitted(r.Checklist.TickedBy, rec, ok) {
						t.Fatalf("%s item %q optional with waiver %+v", r.Checklist.TickedBy, it.Text, rec)
					}
				}
				if it.Optional && !rs[i].Items[j].Optional {
					t.Fatalf("item %q optional only with facts", it.Text)
				}
			}
		}

		// Diff against nothing lists exactly the checked boxes; against
		// itself, nothing.
		checked, optional := 0, 0
		for _, r := range rs {
			for _, it := range r.Items {
				if it.Checked {
					checked++
				}
				if it.Optional {
					optional++
				}
			}
		}
		ticks, waivers := 0, 0
		for _, c := range Diff(nil, doc, cfg) {
			if c.Waiver {
				waivers++
			} else {
				ticks++
			}
		}
		if ticks != checked || waivers != optional {
			t.Fatalf("Diff(nil, doc) has %d ticks and %d waivers for %d checked and %d optional boxes", ticks, waivers, checked, optional)
		}
		// A whole-body checklist owns every box no section owns: each box
		// of the body belongs to it or to a section.
		if cfg == other {
			owned := map[int]bool{}
			for _, r := range rs {
				for _, it := range r.Items {
					owned[it.Line] = true
				}
				if r.Checklist.Scope == BodyScope && r.Status == Missing {
					t.Fatalf("body checklist missing")
				}
			}
			for _, it := range doc.Items {
				if !owned[it.Line] {
					t.Fatalf("box %+v belongs to no checklist beside a body checklist", it)
				}
			}
		}
		if d := Diff(doc, doc, cfg); len(d) != 0 {
			t.Fatalf("Diff(doc, doc) = %+v", d)
		}
		_ = CheckTemplate(doc, cfg)

		// The same body inside a top-level fence no line of it can close
		// must yield no box at all.
		fence := strings.Repeat("`", longestRun(body, '`')+3)
		fenced := Parse([]byte("## Author Checklist\n\n" + fence + "\n" + string(body) + "\n" + fence + "\n- [x] after\n"))
		if len(fenced.Items) != 1 || fenced.Items[0].Text != "after" {
			t.Fatalf("fenced body yields items %+v, want only the box after the fence", fenced.Items)
		}
	})
}

// fuzzFacts derives a ledger from the boxes of rs: each box gets one of a
// range of records (none, author, writer, bot, reader, stale, review), chosen
// by its position and salt.
func fuzzFacts(rs []Result, salt uint8) *Facts {
	reset := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	facts := &Facts{Author: "amy", Ticks: map[string]Tick{}, Waivers: map[string]Tick{}, Contributors: map[string]bool{"amy": true, "carl": true}}
	if salt&1 == 1 {
		facts.ResetAt = reset
	}
	n := int(salt)
	for _, r := range rs {
		for _, it := range r.Items {
			n++
			rec := Tick{Checked: true, By: "rob", At: reset.Add(time.Hour), CanWrite: true}
			switch n % 9 {
			case 0:
				continue // no record
			case 1:
				rec.By = "Amy"
			case 2:
				rec.Bot = true
			case 3:
				rec.CanWrite = false
			case 4:
				rec.At = reset.Add(-time.Hour)
			case 5:
				rec.Review = true
			case 6:
				rec.Checked = false
			case 7:
				rec.Review, rec.By = true, "amy"
			case 8:
				rec.By = "carl" // a contributor
			}
			facts.Ticks[it.Key] = rec
			if it.Optional {
				// Waivers by the same range of people as the ticks.
				facts.Waivers[it.Key] = rec
			}
		}
	}
	return facts
}

func longestRun(b []byte, c byte) int {
	longest, run := 0, 0
	for _, x := range b {
		if x == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/config/*.yml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("checkoff.yml", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			if cfg != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		if err := validConfig(cfg); err != nil {
			t.Fatalf("accepted invalid config: %v", err)
		}
	})
}
