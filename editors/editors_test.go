// Package editors holds the editor support for .tf files: a Vim syntax
// file with its file type detection, and a TextMate grammar (VS Code,
// Sublime Text and others read it). Its test keeps them in step with the
// language: every keyword of the grammar and every op and option of the op
// table appears in each.
package editors_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/lang"
	"tfc/op"
)

// keywords are the words the grammar (lang's struct tags) expects.
func keywords() []string {
	set := map[string]bool{}
	seen := map[reflect.Type]bool{}
	word := regexp.MustCompile(`'([A-Za-z_][A-Za-z0-9_]*)'`)
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			for _, m := range word.FindAllStringSubmatch(f.Tag.Get("parser"), -1) {
				set[m[1]] = true
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(lang.File{}))
	return sorted(set)
}

// ops are the op table's names and its options' names.
func ops() (names, options []string) {
	n, o := map[string]bool{}, map[string]bool{}
	for _, r := range op.Rows {
		n[r.Name] = true
		for _, opt := range r.Opts {
			o[opt.Name] = true
		}
	}
	return sorted(n), sorted(o)
}

func sorted(set map[string]bool) []string {
	var s []string
	for w := range set {
		s = append(s, w)
	}
	sort.Strings(s)
	return s
}

// vimWords are the words of the Vim syntax file's syn lines.
func vimWords(t *testing.T) string {
	b, err := os.ReadFile("vim/syntax/tfc.vim")
	require.NoError(t, err)
	var syn []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "syn ") {
			syn = append(syn, line)
		}
	}
	return strings.Join(syn, "\n")
}

// textMateMatches are the match patterns of the TextMate grammar.
func textMateMatches(t *testing.T) string {
	b, err := os.ReadFile("tfc.tmLanguage.json")
	require.NoError(t, err)
	var g any
	require.NoError(t, json.Unmarshal(b, &g))
	var pats []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "match" || k == "begin") {
					pats = append(pats, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(g)
	return strings.Join(pats, "\n")
}

func TestEditorsKnowTheLanguage(t *testing.T) {
	kw := keywords()
	names, options := ops()
	require.Greater(t, len(kw), 25, "keywords found in lang's grammar")
	require.Greater(t, len(names), 10, "ops in op.Rows")
	vim, tm := vimWords(t), textMateMatches(t)
	// A word stands alone in a Vim keyword list or as one alternative of
	// a \%(…\|…\) group; in the TextMate patterns, one of (…|…).
	vimHas := func(w string) bool {
		return regexp.MustCompile(`(^|[\s(|])` + w + `($|[\s)\\])`).MatchString(vim)
	}
	tmHas := func(w string) bool {
		return regexp.MustCompile(`[(|]` + w + `[)|]`).MatchString(tm)
	}
	for _, group := range []struct {
		what  string
		words []string
	}{{"keyword", kw}, {"op", names}, {"option", options}, {"input", []string{"token", "pos"}}} {
		for _, w := range group.words {
			assert.True(t, vimHas(w), "the %s %q is not in editors/vim/syntax/tfc.vim", group.what, w)
			assert.True(t, tmHas(w), "the %s %q is not in editors/tfc.tmLanguage.json", group.what, w)
		}
	}
}

// The file type detection takes .tf files whose first declaration is
// model, after blank and comment lines, and no others.
func TestVimDetection(t *testing.T) {
	b, err := os.ReadFile("vim/ftdetect/tfc.vim")
	require.NoError(t, err)
	s := string(b)
	assert.Contains(t, s, "*.tf")
	assert.Contains(t, s, "set filetype=tfc")
	skip := regexp.MustCompile(`^\s*(?:#.*|//.*)?$`)
	model := regexp.MustCompile(`^\s*model\b`)
	first := func(src string) bool {
		for _, l := range strings.Split(src, "\n") {
			if skip.MatchString(l) {
				continue
			}
			return model.MatchString(l)
		}
		return false
	}
	// The patterns above are the Vim ones written in Go's syntax.
	assert.Contains(t, s, `'^\s*\%(#.*\|//.*\)\=$'`)
	assert.Contains(t, s, `'^\s*model\>'`)
	files, _ := filepath.Glob("../examples/*.tf")
	require.NotEmpty(t, files)
	for _, f := range files {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.True(t, first(string(src)), "%s does not start with model", f)
	}
	assert.False(t, first("resource \"aws_instance\" \"x\" {\n}\n"), "a Terraform file")
}

// Vim itself (where it is installed) takes an example for tfc, over its
// own *.tf detection, and highlights its declarations, ops and comments.
func TestVimHighlights(t *testing.T) {
	vim, err := exec.LookPath("vim")
	if err != nil {
		t.Skip("SKIPPED: vim is not installed")
	}
	dir := t.TempDir()
	rtp, err := filepath.Abs("vim")
	require.NoError(t, err)
	ex, err := filepath.Abs("../examples/gelu-random.tf")
	require.NoError(t, err)
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "check.vim")
	require.NoError(t, os.WriteFile(script, []byte(`set runtimepath^=`+rtp+`
filetype on
syntax on
edit `+ex+`
let out = [&filetype]
for [l, c] in [[1, 1], [3, 1], [44, 5], [45, 11]]
  call add(out, synIDattr(synID(l, c, 1), 'name'))
endfor
call writefile(out, '`+out+`')
qa!
`), 0o644))
	cmd := exec.Command(vim, "-N", "-u", "NONE", "-i", "NONE", "-es", "-S", script)
	cmd.Stdin = strings.NewReader("")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	// Line 1 a comment, 3 "model", 44 "store(", 45 "add(".
	assert.Equal(t, "tfc\ntfcComment\ntfcDecl\ntfcOp\ntfcOp\n", string(got))
}
