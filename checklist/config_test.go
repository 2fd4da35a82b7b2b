package checklist

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the result (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestParseConfigGolden decodes every testdata/config/*.yml and compares
// the decoded config, or the error, with the .golden file beside it.
func TestParseConfigGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/config/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no config cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig("checkoff.yml", data)
			var got []byte
			if err != nil {
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("error %v is not a *ConfigError", err)
				}
				if cfg != nil {
					t.Errorf("config %+v returned with error", cfg)
				}
				got = []byte("error: " + err.Error() + "\n")
			} else {
				if err := validConfig(cfg); err != nil {
					t.Errorf("ParseConfig accepted an invalid config: %v", err)
				}
				got, _ = json.MarshalIndent(cfg, "", "  ")
				got = append(got, '\n')
			}
			checkGolden(t, strings.TrimSuffix(file, ".yml")+".golden", got)
		})
	}
}

// validConfig checks what every config ParseConfig returns must satisfy.
func validConfig(cfg *Config) error {
	if len(cfg.Checklists) == 0 || len(cfg.Checklists) > maxChecklists {
		return fmt.Errorf("%d checklists", len(cfg.Checklists))
	}
	names := map[string]bool{}
	bodies := 0
	for _, cl := range cfg.Checklists {
		switch {
		case cl.Name == "":
			return errors.New("empty name")
		case names[NameKey(cl.Name)]:
			return fmt.Errorf("duplicate name %q", cl.Name)
		case ReservedName(cl.Name):
			return fmt.Errorf("reserved name %q", cl.Name)
		case nameProblem(cl.Name) != "":
			return fmt.Errorf("name %q %s", cl.Name, nameProblem(cl.Name))
		case cl.Scope != SectionScope && cl.Scope != BodyScope:
			return fmt.Errorf("scope %q", cl.Scope)
		case cl.Scope == BodyScope && cl.Heading != "":
			return fmt.Errorf("body checklist %q has heading %q", cl.Name, cl.Heading)
		case cl.Scope == SectionScope && HeadingKey(cl.Heading) == "":
			return fmt.Errorf("heading %q matches nothing", cl.Heading)
		case cl.Select < 0 || cl.Select > maxItems:
			return fmt.Errorf("select %d", cl.Select)
		case !cl.AllowExtraItems && len(cl.Items) > 0 && cl.Select > len(cl.Items):
			return fmt.Errorf("select %d of %d items", cl.Select, len(cl.Items))
		case cl.Paths != nil && len(cl.Paths) == 0:
			return errors.New("paths given but empty")
		case cl.TickedBy != Author && cl.TickedBy != Reviewer && cl.TickedBy != Anyone:
			return fmt.Errorf("ticked_by %q", cl.TickedBy)
		case len(cl.Items) > maxItems:
			return fmt.Errorf("%d items", len(cl.Items))
		case strings.Contains(cl.Name, keySep):
			return errors.New("name holds the key separator")
		}
		names[NameKey(cl.Name)] = true
		if cl.Scope == BodyScope {
			bodies++
		}
		for _, g := range cl.Paths {
			if globProblem(g) != "" {
				return fmt.Errorf("glob %q: %s", g, globProblem(g))
			}
		}
	}
	if bodies > 1 {
		return fmt.Errorf("%d body checklists", bodies)
	}
	switch cfg.OptionalMatch {
	case MatchPrefix, MatchAnywhere:
	default:
		return fmt.Errorf("optional_match %q", cfg.OptionalMatch)
	}
	if u, err := url.Parse(cfg.DetailsURL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return fmt.Errorf("details_url %q", cfg.DetailsURL)
	}
	switch cfg.IncompleteConclusion {
	case "failure", "action_required", "neutral":
	default:
		return fmt.Errorf("incomplete_conclusion %q", cfg.IncompleteConclusion)
	}
	for _, m := range cfg.OptionalMarkers {
		if m == "" {
			return errors.New("empty optional marker")
		}
	}
	return nil
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if len(cfg.Checklists) != 2 {
		t.Fatalf("got %d checklists, want 2", len(cfg.Checklists))
	}
	a, r := cfg.Checklists[0], cfg.Checklists[1]
	if a.Name != "Author Checklist" || a.Heading != a.Name || a.TickedBy != Author || !a.AllowExtraItems || len(a.Items) != 4 {
		t.Errorf("author checklist: %+v", a)
	}
	if r.Name != "Reviewer Checklist" || r.Heading != r.Name || r.TickedBy != Reviewer || !r.AllowExtraItems || len(r.Items) != 4 {
		t.Errorf("reviewer checklist: %+v", r)
	}
	// Reviewer ticks reset on a push unless a repository opts out
	// (reset_reviewer_on_push: false): issue 9, item 5.
	if cfg.IncompleteConclusion != "failure" || !cfg.ResetReviewerOnPush || len(cfg.Branches) != 0 {
		t.Errorf("settings: %+v", cfg)
	}
	if !reflect.DeepEqual(cfg.OptionalMarkers, []string{"N/A", "OPTIONAL", "POST-MERGE"}) {
		t.Errorf("optional markers %q", cfg.OptionalMarkers)
	}
	if !reflect.DeepEqual(cfg.SkipAuthors, []string{"dependabot[bot]", "renovate[bot]"}) {
		t.Errorf("skip authors %q", cfg.SkipAuthors)
	}
	if err := validConfig(cfg); err != nil {
		t.Error(err)
	}
	// Each call is independent: changing one must not change the next.
	cfg.Checklists[0].Items[0] = "changed"
	cfg.OptionalMarkers[0] = "changed"
	if again := DefaultConfig(); again.Checklists[0].Items[0] == "changed" || again.OptionalMarkers[0] == "changed" {
		t.Error("DefaultConfig shares slices between calls")
	}
	// An empty file is the default configuration.
	got, err := ParseConfig("checkoff.yml", nil)
	if err != nil || !reflect.DeepEqual(got, DefaultConfig()) {
		t.Errorf("ParseConfig(empty) = %+v, %v", got, err)
	}
}

// TestParseConfigErrors covers inputs a file in testdata cannot hold well,
// and pins the exact line and message of the errors users will see most.
func TestParseConfigErrors(t *testing.T) {
	many := func(format string, n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	tests := map[string]struct {
		in   string
		line int
		msg  string
	}{
		"unknown key": {
			in:   "checklists:\n  - name: Author Checklist\n    tickd_by: author\n",
			line: 3, msg: `unknown key "tickd_by"`,
		},
		"crlf line endings keep line numbers": {
			in:   "branches: [master]\r\n\r\nincomplete_conclusion: pass\r\n",
			line: 3, msg: `incomplete_conclusion must be one of failure, action_required, neutral, not "pass"`,
		},
		"invalid utf-8": {
			in:   "branches:\n  - \xff\n",
			line: 2, msg: "invalid UTF-8",
		},
		"nul byte": {
			in:   "branches: [master]\nskip_authors: [a\x00b]\n",
			line: 2, msg: "control character U+0000 is not allowed",
		},
		"too many checklists": {
			in:   "checklists:\n" + many("  - name: c%d\n", maxChecklists+1),
			line: maxChecklists + 2, msg: fmt.Sprintf("too many checklists: the limit is %d", maxChecklists),
		},
		"too many items": {
			in:   "checklists:\n  - name: A\n    items:\n" + many("      - item %d\n", maxItems+1),
			line: maxItems + 4, msg: fmt.Sprintf("items has too many entries: the limit is %d", maxItems),
		},
		"name too long": {
			in:   "checklists:\n  - name: " + strings.Repeat("x", maxNameLen+1) + "\n",
			line: 2, msg: fmt.Sprintf("name is longer than %d characters", maxNameLen),
		},
		"escaped control character in a name": {
			in:   "checklists:\n  - name: \"A\\x1fB\"\n",
			line: 2, msg: "name contains a control character",
		},
		"oversized file": {
			in:   "# " + strings.Repeat("x", maxConfigBytes) + "\n",
			line: 0, msg: fmt.Sprintf("file is %d bytes; the limit is %d", maxConfigBytes+3, maxConfigBytes),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := ParseConfig("checkoff.yml", []byte(tc.in))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseConfig = %+v, %v; want a *ConfigError", cfg, err)
			}
			if ce.File != "checkoff.yml" || ce.Line != tc.line || ce.Msg != tc.msg {
				t.Errorf("got %#v, want line %d %q", ce, tc.line, tc.msg)
			}
		})
	}
}

func TestConfigErrorFormat(t *testing.T) {
	tests := map[string]struct {
		err  ConfigError
		want string
	}{
		"with line":    {ConfigError{".github/checkoff.yml", 3, `unknown key "tickd_by"`}, `.github/checkoff.yml:3: unknown key "tickd_by"`},
		"without line": {ConfigError{"checkoff.yml", 0, "file is too big"}, "checkoff.yml: file is too big"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestParseConfigDefaultsPerKey checks that each key left out keeps its
// default while the keys given take effect.
func TestParseConfigDefaultsPerKey(t *testing.T) {
	cfg, err := ParseConfig("c.yml", []byte("checklists:\n  - name: Docs\nincomplete_conclusion: neutral\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Checklists = []Checklist{{Name: "Docs", Heading: "Docs", TickedBy: Anyone, AllowExtraItems: true, Scope: SectionScope}}
	want.IncompleteConclusion = "neutral"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
}

// TestParseConfigResetReviewerOnPush: a push resets reviewer ticks unless
// the file says otherwise, and false stays available.
func TestParseConfigResetReviewerOnPush(t *testing.T) {
	tests := map[string]struct {
		in   string
		want bool
	}{
		"no file":             {"", true},
		"key absent":          {"incomplete_conclusion: neutral\n", true},
		"checklists only":     {"checklists:\n  - name: Docs\n", true},
		"explicitly true":     {"reset_reviewer_on_push: true\n", true},
		"explicitly false":    {"reset_reviewer_on_push: false\n", false},
		"false with settings": {"branches: [main]\nreset_reviewer_on_push: false\n", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := ParseConfig("checkoff.yml", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ResetReviewerOnPush != tc.want {
				t.Errorf("ResetReviewerOnPush = %v, want %v", cfg.ResetReviewerOnPush, tc.want)
			}
		})
	}
}

// TestParseConfigAllowContributors: allow_contributors is a strict boolean
// per checklist, false when absent.
func TestParseConfigAllowContributors(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []bool // per checklist
		line int    // of the error, when want is nil
		msg  string
	}{
		"absent": {
			in:   "checklists:\n  - name: Reviewer Checklist\n    ticked_by: reviewer\n",
			want: []bool{false},
		},
		"true on one checklist": {
			in:   "checklists:\n  - name: Author Checklist\n  - name: Reviewer Checklist\n    ticked_by: reviewer\n    allow_contributors: true\n",
			want: []bool{false, true},
		},
		"explicitly false": {
			in:   "checklists:\n  - name: Reviewer Checklist\n    allow_contributors: false\n",
			want: []bool{false},
		},
		"quoted": {
			in:   "checklists:\n  - name: R\n    allow_contributors: \"true\"\n",
			line: 3, msg: `allow_contributors must be true or false, not "true"`,
		},
		"yes is not a boolean": {
			in:   "checklists:\n  - name: R\n    allow_contributors: yes\n",
			line: 3, msg: `allow_contributors must be true or false, not "yes"`,
		},
		"a list": {
			in:   "checklists:\n  - name: R\n    allow_contributors: [true]\n",
			line: 3, msg: "allow_contributors must be true or false, not a list",
		},
		"twice": {
			in:   "checklists:\n  - name: R\n    allow_contributors: true\n    allow_contributors: false\n",
			line: 4, msg: `duplicate key "allow_contributors" (first at line 3)`,
		},
		"misspelt": {
			in:   "checklists:\n  - name: R\n    allow_contributor: true\n",
			line: 3, msg: `unknown key "allow_contributor"`,
		},
		"at the top level": {
			in:   "allow_contributors: true\n",
			line: 1, msg: `unknown key "allow_contributors"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := ParseConfig("checkoff.yml", []byte(tc.in))
			if tc.want == nil {
				var ce *ConfigError
				if !errors.As(err, &ce) || cfg != nil {
					t.Fatalf("ParseConfig = %+v, %v; want a *ConfigError", cfg, err)
				}
				if ce.Line != tc.line || ce.Msg != tc.msg {
					t.Errorf("got line %d %q, want line %d %q", ce.Line, ce.Msg, tc.line, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, cl := range cfg.Checklists {
				got = append(got, cl.AllowContributors)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AllowContributors = %v, want %v", got, tc.want)
			}
		})
	}
	for _, cl := range DefaultConfig().Checklists {
		if cl.AllowContributors {
			t.Errorf("default %s allows contributors", cl.Name)
		}
	}
}

// TestParseConfigConfusableNames: a checklist name that reads like the
// release gate's check, or like another checklist's name, once invisible
// characters are dropped and compatibility forms normalised (NFKC), is
// refused at its line; so is a name GitHub would show as something else.
// Issue 16, item 8.
func TestParseConfigConfusableNames(t *testing.T) {
	one := func(name string) string { return "checklists:\n  - name: " + name + "\n" }
	two := func(a, b string) string { return "checklists:\n  - name: " + a + "\n  - name: " + b + "\n" }
	bad := func(name, problem string) string {
		return fmt.Sprintf("name %q %s; a check-run name must be plain visible text", name, problem)
	}
	dup := func(name string, first int) string {
		return fmt.Sprintf("duplicate checklist name %q (first at line %d)", name, first)
	}
	reserved := func(name string) string {
		return fmt.Sprintf("checklist name %q is reserved for checkoff's release gate check; rename the checklist", name)
	}
	tests := map[string]struct {
		in   string
		line int
		msg  string // "" when the config is valid
	}{
		"the gate's name":             {in: one("Release Gate"), line: 2, msg: reserved("Release Gate")},
		"the gate's name, lower case": {in: one("release gate"), line: 2, msg: reserved("release gate")},
		"no-break space":              {in: one(`"Release\u00a0Gate"`), line: 2, msg: reserved("Release\u00a0Gate")},
		"no-break space, YAML escape": {in: one(`"Release\_Gate"`), line: 2, msg: reserved("Release\u00a0Gate")},
		"ideographic space":           {in: one("Release\u3000Gate"), line: 2, msg: reserved("Release\u3000Gate")},
		"en space":                    {in: one("Release\u2002Gate"), line: 2, msg: reserved("Release\u2002Gate")},
		"two spaces":                  {in: one(`"Release  Gate"`), line: 2, msg: reserved("Release  Gate")},
		"full-width letters":          {in: one("Ｒｅｌｅａｓｅ Ｇａｔｅ"), line: 2, msg: reserved("Ｒｅｌｅａｓｅ Ｇａｔｅ")},
		"variation selector":          {in: one("Release Gate\ufe00"), line: 2, msg: reserved("Release Gate\ufe00")},
		"second checklist":            {in: two("Docs", "RELEASE GATE"), line: 3, msg: reserved("RELEASE GATE")},
		"zero-width space": {in: one(`"Release\u200bGate"`), line: 2,
			msg: bad("Release\u200bGate", "contains the invisible character U+200B")},
		"zero-width joiner": {in: one(`"Release Gate\u200d"`), line: 2,
			msg: bad("Release Gate\u200d", "contains the invisible character U+200D")},
		"byte order mark": {in: one(`"\ufeffRelease Gate"`), line: 2,
			msg: bad("\ufeffRelease Gate", "contains the invisible character U+FEFF")},
		"soft hyphen": {in: one(`"Re\u00adlease Gate"`), line: 2,
			msg: bad("Re\u00adlease Gate", "contains the invisible character U+00AD")},
		"right-to-left override": {in: one(`"etaG esaeleR\u202e"`), line: 2,
			msg: bad("etaG esaeleR\u202e", "contains the invisible character U+202E")},
		"hangul filler": {in: one(`"QA\u3164"`), line: 2,
			msg: bad("QA\u3164", "contains the invisible character U+3164")},
		"combining grapheme joiner": {in: one(`"Q\u034fA"`), line: 2,
			msg: bad("Q\u034fA", "contains the invisible character U+034F")},
		"line separator": {in: one(`"Release\u2028Gate"`), line: 2,
			msg: bad("Release\u2028Gate", "contains the line break U+2028")},
		"private use": {in: one(`"QA\ue000"`), line: 2,
			msg: bad("QA\ue000", "contains the character U+E000, which has no glyph")},
		"only a variation selector": {in: one(`"\ufe0f"`), line: 2,
			msg: bad("\ufe0f", "has no visible text")},
		"only no-break spaces": {in: one(`"\u00a0\u00a0"`), line: 2, msg: "name is empty"},
		"longer than GitHub shows": {in: one(strings.Repeat("é", maxNameLen+1)), line: 2,
			msg: fmt.Sprintf("name is longer than %d characters", maxNameLen)},
		"duplicate by case": {in: two("Docs", "DOCS"), line: 3,
			msg: dup("DOCS", 2)},
		"duplicate by no-break space": {in: two("Author Checklist", `"Author\u00a0Checklist"`), line: 3,
			msg: dup("Author\u00a0Checklist", 2)},
		"duplicate by ligature": {in: two("final review", "ﬁnal review"), line: 3,
			msg: dup("ﬁnal review", 2)},
		"duplicate by long s": {in: two("Security", "ſecurity"), line: 3,
			msg: dup("ſecurity", 2)},
		"duplicate by full-width": {in: two("QA", "ＱＡ"), line: 3,
			msg: dup("ＱＡ", 2)},

		// Names that merely resemble the gate's, or use letters beyond
		// ASCII, are fine.
		"gate as part of a name":          {in: one("Release Gate Review")},
		"accents":                         {in: one("Sécurité")},
		"emoji with a variation selector": {in: one(`"\u2705\ufe0f QA"`)},
		"cyrillic":                        {in: one("Проверка")},
		"at the length limit":             {in: one(strings.Repeat("é", maxNameLen))},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := ParseConfig("checkoff.yml", []byte(tc.in))
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				if err := validConfig(cfg); err != nil {
					t.Error(err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || cfg != nil {
				t.Fatalf("ParseConfig = %+v, %v; want a *ConfigError", cfg, err)
			}
			if ce.File != "checkoff.yml" || ce.Line != tc.line || ce.Msg != tc.msg {
				t.Errorf("got line %d %q\nwant line %d %q", ce.Line, ce.Msg, tc.line, tc.msg)
			}
		})
	}
}

// TestReservedName is what the App can ask of a name from anywhere.
func TestReservedName(t *testing.T) {
	tests := map[string]struct {
		name string
		want bool
	}{
		"exact":              {"Release Gate", true},
		"case":               {"rElEaSe gAtE", true},
		"no-break space":     {"Release\u00a0Gate", true},
		"narrow nbsp":        {"Release\u202fGate", true},
		"zero-width space":   {"Release\u200bGate", false}, // "ReleaseGate": no space left
		"zero-width inside":  {"Rele\u200base Gate", true},
		"word joiner":        {"Release \u2060Gate", true},
		"surrounding spaces": {" Release Gate\t", true},
		"full-width":         {"Ｒｅｌｅａｓｅ　Ｇａｔｅ", true},
		"plural":             {"Release Gates", false},
		"other":              {"Reviewer Checklist", false},
		"empty":              {"", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ReservedName(tc.name); got != tc.want {
				t.Errorf("ReservedName(%q) = %v, want %v (key %q)", tc.name, got, tc.want, NameKey(tc.name))
			}
		})
	}
}

func TestNameKey(t *testing.T) {
	tests := map[string]struct{ a, b string }{
		"case":             {"Author Checklist", "AUTHOR CHECKLIST"},
		"no-break space":   {"Author Checklist", "Author\u00a0Checklist"},
		"space runs":       {"Author Checklist", " Author \t Checklist "},
		"ligature":         {"final", "ﬁnal"},
		"superscript":      {"QA2", "QA²"},
		"composed accents": {"S\u00e9curit\u00e9", "Se\u0301curite\u0301"},
		"zero-width":       {"QA", "Q\u200bA\u200d"},
		"sigma":            {"ΣΟΦΙΑ", "σοφια"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if !SameName(tc.a, tc.b) {
				t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q; want equal", tc.a, NameKey(tc.a), tc.b, NameKey(tc.b))
			}
			if k := NameKey(tc.a); NameKey(k) != k {
				t.Errorf("NameKey is not stable on %q: %q then %q", tc.a, k, NameKey(k))
			}
		})
	}
	if SameName("Author Checklist", "Reviewer Checklist") || SameName("QA", "Q A") {
		t.Error("different names compare equal")
	}
}
