package lang_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tfc/lang"
	"tfc/parser"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGolden")

// TestGolden parses and checks the examples (../examples/*.tf) and
// testdata/*.tf and compares the printed Program with
// testdata/golden/NAME.golden (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../examples/*.tf", "testdata/*.tf"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 8 {
		t.Fatalf("only %d example files: %v", len(files), files)
	}
	seen := map[string]string{}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".tf")
		if prev, ok := seen[name]; ok {
			t.Fatalf("%s and %s have the same golden file", prev, path)
		}
		seen[name] = path
		t.Run(name, func(t *testing.T) {
			f, err := parser.ParseFile(path)
			if err != nil {
				t.Fatal(lang.FormatError(err, nil))
			}
			p, err := lang.Check(f, lang.CheckOptions{})
			if err != nil {
				t.Fatal(lang.FormatError(err, nil))
			}
			// With its files (when they are there: ../models is made by
			// make models), the check must pass too.
			if exists(p.Weights.Path) && exists(p.Tokenizer.Path) {
				if _, err := lang.Check(f, lang.CheckOptions{OpenFiles: true}); err != nil {
					t.Fatal(lang.FormatError(err, nil))
				}
			}
			got := p.String()
			golden := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (run go test -run TestGolden -update and review the diff):\n%s", path, golden, diff(string(want), got))
			}
		})
	}
}

// diff lists the lines that differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			b.WriteString("- " + a + "\n+ " + c + "\n")
		}
	}
	return b.String()
}

// exists says whether a file is there ("" is: no file is needed).
func exists(path string) bool {
	if path == "" {
		return true
	}
	_, err := os.Stat(path)
	return err == nil
}
