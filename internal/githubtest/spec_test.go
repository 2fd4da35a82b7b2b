package githubtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSubsetIsGenerated regenerates the OpenAPI subset from node_modules and
// compares: the committed file must be the script's unedited output.
func TestSubsetIsGenerated(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	source := filepath.Join(root, "node_modules/@octokit/openapi/generated/api.github.com.json")
	node, nodeErr := exec.LookPath("node")
	if _, err := os.Stat(source); err != nil || nodeErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("need node and %s: %v %v", source, err, nodeErr)
		}
		t.Skipf("node or node_modules missing (run npm ci): %v %v", err, nodeErr)
	}
	out := filepath.Join(t.TempDir(), "subset.json")
	cmd := exec.Command(node, filepath.Join(root, "scripts/gen-openapi-subset.js"), out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, subsetJSON) {
		t.Error("openapi-subset.json differs from the generator's output: run go generate ./internal/githubtest")
	}
}
