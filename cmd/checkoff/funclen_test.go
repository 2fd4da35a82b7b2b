package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is issue 10's bound on a production function: longer ones
// hide their steps.
const maxFuncLines = 80

// tooLong lists functions allowed over the bound for now, by file and
// name, with the reason; each is someone's to split.
var tooLong = map[string]string{
	"check.go runCheck": "check.go is another change's; split it there",
}

// TestFunctionLength: no production function in cmd/checkoff or
// app/secrets is over maxFuncLines lines.
func TestFunctionLength(t *testing.T) {
	for _, dir := range []string{".", "../../app/secrets"} {
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
