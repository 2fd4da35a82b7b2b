package checklist

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
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
	for _, cl := range cfg.Checklists {
		switch {
		case cl.Name == "":
			return errors.New("empty name")
		case names[strings.ToLower(cl.Name)]:
			return fmt.Errorf("duplicate name %q", cl.Name)
		case Normalize(cl.Heading) == "":
			return fmt.Errorf("heading %q matches nothing", cl.Heading)
		case cl.TickedBy != Author && cl.TickedBy != Reviewer && cl.TickedBy != Anyone:
			return fmt.Errorf("ticked_by %q", cl.TickedBy)
		case len(cl.Items) > maxItems:
			return fmt.Errorf("%d items", len(cl.Items))
		case strings.Contains(cl.Name, keySep):
			return errors.New("name holds the key separator")
		}
		names[strings.ToLower(cl.Name)] = true
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
	if cfg.IncompleteConclusion != "failure" || cfg.ResetReviewerOnPush || len(cfg.Branches) != 0 {
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
	want.Checklists = []Checklist{{Name: "Docs", Heading: "Docs", TickedBy: Anyone, AllowExtraItems: true}}
	want.IncompleteConclusion = "neutral"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
}
