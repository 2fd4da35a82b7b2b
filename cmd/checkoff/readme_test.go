package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeSection returns the README from heading to the next heading of
// the same or a higher level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	readme := string(mustRead(t, "../../README.md"))
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q", heading)
	}
	rest := readme[i+len(heading)+2:]
	level := strings.Fields(heading)[0] + " "
	for j := 0; j < len(rest); j++ {
		if (j == 0 || rest[j-1] == '\n') && strings.HasPrefix(rest[j:], "#") {
			if h := rest[j:]; strings.HasPrefix(h, level) || len(strings.Fields(h)[0]) < len(level)-1 {
				return rest[:j]
			}
		}
	}
	return rest
}

// TestReadmeStatusCodes: the README's table lists every status the
// intake (package webhook) can answer, found in its source.
func TestReadmeStatusCodes(t *testing.T) {
	table := readmeSection(t, "### What the webhook endpoint answers")
	status := regexp.MustCompile(`http\.(Status[A-Za-z]+|NotFound)\b`)
	files, err := filepath.Glob("../../webhook/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("webhook sources: %v", err)
	}
	codes := map[int]string{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range status.FindAllStringSubmatch(string(src), -1) {
			if m[1] == "StatusText" {
				continue
			}
			code, ok := statusByName(m[1])
			if !ok {
				t.Fatalf("%s: unknown %s", file, m[0])
			}
			codes[code] = filepath.Base(file)
		}
	}
	for _, want := range []int{200, 202, 400, 401, 404, 405, 413, 415, 500, 503} {
		if _, ok := codes[want]; !ok {
			t.Errorf("webhook no longer answers %d: update this test and the README", want)
		}
	}
	for code, file := range codes {
		if !strings.Contains(table, "\n| "+strconv.Itoa(code)+" |") {
			t.Errorf("README's status table lacks %d (%s, answered in webhook/%s)", code, http.StatusText(code), file)
		}
	}
}

// statusByName maps http.StatusX (and http.NotFound) to its code.
func statusByName(name string) (int, bool) {
	if name == "NotFound" {
		return http.StatusNotFound, true
	}
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" && "Status"+strings.ReplaceAll(text, " ", "") == name {
			return code, true
		}
	}
	return 0, false
}

// TestReadmeEnvironment: the README's environment table names every
// variable loadConfig reads.
func TestReadmeEnvironment(t *testing.T) {
	env := readmeSection(t, "### Environment")
	commands := readmeSection(t, "## Commands")
	for _, v := range envVars {
		if !strings.Contains(env, "`"+v.name+"`") && !strings.Contains(commands, "`"+v.name+"`") {
			t.Errorf("README's Commands and Environment do not mention %s", v.name)
		}
	}
	for _, e := range commandTable() {
		if !strings.Contains(commands, "`checkoff "+e.name) {
			t.Errorf("README's Commands table lacks checkoff %s", e.name)
		}
	}
}
