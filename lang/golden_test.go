package lang_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.GreaterOrEqual(t, len(files), 8, "example files: %v", files)
	seen := map[string]string{}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".tf")
		prev, ok := seen[name]
		require.False(t, ok, "%s and %s have the same golden file", prev, path)
		seen[name] = path
		t.Run(name, func(t *testing.T) {
			f, err := parser.ParseFile(path)
			require.NoError(t, err, lang.FormatError(err, nil))
			p, err := lang.Check(f, lang.CheckOptions{})
			require.NoError(t, err, lang.FormatError(err, nil))
			// With its files (when they are there: ../models is made by
			// make models), the check must pass too.
			if exists(p.Weights.Path) && exists(p.Tokenizer.Path) {
				_, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
				require.NoError(t, err, lang.FormatError(err, nil))
			}
			got := p.String()
			golden := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -run TestGolden -update")
			assert.Equal(t, string(want), got, "%s differs from %s (run go test -run TestGolden -update and review the diff)", path, golden)
		})
	}
}

// exists says whether a file is there ("" is: no file is needed).
func exists(path string) bool {
	if path == "" {
		return true
	}
	_, err := os.Stat(path)
	return err == nil
}
