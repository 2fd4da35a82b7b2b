package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is issue 10's bound on a production function: longer ones
// hide their steps.
const maxFuncLines = 80

// tooLong lists functions allowed over the bound for now, by file and
// name, with the reason; each is someone's to split.
var tooLong = map[string]string{}

// TestFunctionLength: no production function in the module is over
// maxFuncLines lines (tests, and test-support packages named ...test,
// aside).
func TestFunctionLength(t *testing.T) {
	var dirs []string
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch {
			case path == "../..":
			case d.Name() == "node_modules", d.Name() == "bin", d.Name() == "testdata", strings.HasPrefix(d.Name(), "."):
				return filepath.SkipDir
			case strings.HasSuffix(d.Name(), "test"):
				// Test support (githubtest, pipelinetest, apptest, ...) is
				// not production code.
				return filepath.SkipDir
			}
			dirs = append(dirs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 10 { // cmd, webhook, handlers, app and its packages, checklist, deploy, ...
		t.Fatalf("walked only %v: the module is not where the test looks", dirs)
	}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok {
					continue
				}
				n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
				key := filepath.Base(file) + " " + fd.Name.Name
				switch why, allowed := tooLong[key]; {
				case n > maxFuncLines && allowed:
					t.Logf("%s: %d lines, allowed for now: %s", key, n, why)
				case n > maxFuncLines:
					t.Errorf("%s: %d lines, over %d: split it into named steps", filepath.Join(dir, filepath.Base(file))+" "+fd.Name.Name, n, maxFuncLines)
				}
			}
		}
	}
}
