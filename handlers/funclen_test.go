package handlers

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines bounds a production function, counted from its func line
// to its closing brace (issue 10): beyond it a function does several
// things, and its stages deserve names.
const maxFuncLines = 80

// TestNoLongFunctions keeps every production function of the package
// within maxFuncLines.
func TestNoLongFunctions(t *testing.T) {
	for _, long := range longFuncs(t, ".", maxFuncLines) {
		t.Error(long)
	}
}

// longFuncs returns "file:line: name is N lines" for each function and
// method declared in dir's non-test Go files that is over limit lines.
func longFuncs(t testing.TB, dir string, limit int) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	parsed := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		parsed++
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Pos()), fset.Position(fn.End())
			if n := end.Line - start.Line + 1; n > limit {
				out = append(out, fmt.Sprintf("%s: %s is %d lines, over %d", start, fn.Name.Name, n, limit))
			}
		}
	}
	if parsed == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return out
}
