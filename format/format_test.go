package format_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/alecthomas/participle/v2/lexer"

	"tfc/difftest"
	"tfc/format"
	"tfc/lang"
	"tfc/parser"
)

// tfFiles are the examples (canonical) and, with others, the other .tf
// files of the repository.
func tfFiles(t *testing.T, others bool) []string {
	t.Helper()
	globs := []string{"../examples/*.tf"}
	if others {
		globs = append(globs, "../testdata/*/*.tf", "../*/testdata/*.tf", "../*/testdata/*/*.tf")
	}
	var files []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.GreaterOrEqual(t, len(files), 6)
	return files
}

// Every example is in canonical form: tfc fmt leaves it as it is.
func TestExamplesAreCanonical(t *testing.T) {
	for _, f := range tfFiles(t, false) {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		out, err := format.Source(f, src)
		require.NoError(t, err)
		assert.Equal(t, string(src), string(out), "tfc fmt %s changes it", f)
	}
}

// same parses both texts and compares their syntax trees, positions and
// the source aside.
func same(t *testing.T, name string, a, b []byte) {
	t.Helper()
	fa, err := parser.Parse(name, a)
	require.NoError(t, err)
	fb, err := parser.Parse(name, b)
	require.NoError(t, err, "the formatted text does not parse:\n%s", b)
	opts := cmp.Options{
		cmpopts.IgnoreTypes(lexer.Position{}),
		cmpopts.IgnoreFields(lang.File{}, "Source"),
	}
	assert.Empty(t, cmp.Diff(fa, fb, opts), "%s: fmt changed the syntax tree (-before +after)", name)
}

// checkMessage is what lang's checks say of src, without the position.
func checkMessage(name string, src []byte) string {
	f, err := parser.Parse(name, src)
	if err != nil {
		return "parse: " + err.Error()
	}
	_, err = lang.Check(f, lang.CheckOptions{})
	if err == nil {
		return "ok"
	}
	return regexp.MustCompile(`^[^:]*:\d+:\d+: `).ReplaceAllString(err.Error(), "")
}

// The round trip over the language: every .tf file of the repository
// that parses (examples, test data) and difftest's random
// programs (every op, option, declaration and sampler the generator
// writes) formatted give the same syntax tree, the same verdict of the
// checks, and format to themselves.
func TestRoundTrip(t *testing.T) {
	type input struct {
		name string
		src  []byte
	}
	var ins []input
	for _, f := range tfFiles(t, true) {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		if _, err := parser.Parse(f, src); err != nil {
			continue // the parser's own tests' bad inputs
		}
		ins = append(ins, input{f, src})
	}
	for seed := uint64(1); seed <= 60; seed++ {
		p := difftest.Generate(seed, difftest.Options{Big: seed%3 == 0})
		ins = append(ins, input{p.Name + ".tf", []byte(p.String())})
	}
	ins = append(ins, input{"bigsum.tf", []byte(difftest.BigSumSource())})
	for _, in := range ins {
		out, err := format.Source(in.name, in.src)
		require.NoError(t, err, in.name)
		same(t, in.name, in.src, out)
		assert.Equal(t, checkMessage(in.name, in.src), checkMessage(in.name, out), "%s: the checks' verdict changed", in.name)
		again, err := format.Source(in.name, out)
		require.NoError(t, err)
		assert.Equal(t, string(out), string(again), "%s: fmt is not idempotent", in.name)
	}
}

// Layouts that are not canonical, and what fmt makes of them: spacing,
// indentation, line breaks, blank lines, alignment, comments (own-line,
// trailing, inside a statement), unary and binary minus.
func TestFormat(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"spacing and breaks",
			"model   m weights random seed 1\ntokenizer synthetic config{dim=4 hidden=2*dim+(dim-2)/2 layers = 1\n\n\n heads=2 kv_heads=2 vocab=8 context=8}\n" +
				"param e[vocab,dim] param g  [ layers , dim ]\nquant e:int8 per row\nquant g , e: fixed\n" +
				"forward{x=embed(e,token) layer{x=rmsnorm(x,g,eps=1e-5) store(kv,x,x)}\n\n\nnext=argmax(matmul(e,x))}\n" +
				"generate{prompt=\"a\\tb\" steps=4 sampler temperature -0.5 top_p 0.9 seed 3}\nboot lean\n",
			"model m\nweights   random seed 1\ntokenizer synthetic\nconfig {\n  dim    = 4\n  hidden = 2 * dim + (dim - 2) / 2\n  layers = 1\n\n" +
				"  heads    = 2\n  kv_heads = 2\n  vocab    = 8\n  context  = 8\n}\nparam e [vocab, dim]\nparam g [layers, dim]\n" +
				"quant e : int8 per row\nquant g, e : fixed\nforward {\n  x = embed(e, token)\n  layer {\n    x = rmsnorm(x, g, eps = 1e-5)\n" +
				"    store(kv, x, x)\n  }\n\n  next = argmax(matmul(e, x))\n}\ngenerate {\n  prompt = \"a\\tb\"\n  steps  = 4\n" +
				"  sampler temperature -0.5 top_p 0.9 seed 3\n}\nboot lean\n"},
		{"comments",
			"# head\n\n\nmodel m // the name\n\n# before config\nconfig {\n\n  # inside\n  dim = 4 # four\n  context = 8   # eight\n\n}\n" +
				"forward {\n  x = add(x, # mid\n    y)\n  next = argmax(x)\n}\n# tail\n",
			"# head\n\nmodel m // the name\n\n# before config\nconfig {\n  # inside\n  dim     = 4 # four\n  context = 8 # eight\n}\n" +
				"forward {\n  x = add(x, # mid\n      y)\n  next = argmax(x)\n}\n# tail\n"},
		{"negative literals", "forward { x = mul(x, -2) y = rope(x, 4, theta = -1.5e3) }\n",
			"forward {\n  x = mul(x, -2)\n  y = rope(x, 4, theta = -1.5e3)\n}\n"},
		{"empty blocks", "config {} forward {\n\n}\n", "config {\n}\nforward {\n}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := format.Source("x.tf", []byte(c.in))
			require.NoError(t, err)
			assert.Equal(t, c.want, string(out))
			again, err := format.Source("x.tf", out)
			require.NoError(t, err)
			assert.Equal(t, string(out), string(again), "idempotent")
			same(t, c.name, []byte(c.in), out)
		})
	}
}

// A file that does not parse is refused with the parser's message.
func TestSyntaxError(t *testing.T) {
	_, err := format.Source("bad.tf", []byte("model m\nconfig {\n  dim = \n}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad.tf:4:1:")
}
