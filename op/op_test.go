package op_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/op"
)

func TestRowsAreFoundByNameAndKind(t *testing.T) {
	kinds := map[op.Kind]bool{}
	for _, r := range op.Rows {
		got, ok := op.Lookup(r.Name)
		if assert.True(t, ok, "Lookup(%q)", r.Name) {
			assert.Same(t, op.Overloads(r.Name)[0], got, "Lookup(%q)", r.Name)
		}
		// slices.Contains, not assert.Contains: the same row, not an equal one.
		assert.True(t, slices.Contains(op.Overloads(r.Name), r), "Overloads(%q) lacks %s", r.Name, r.Form)
		assert.Same(t, r, op.RowOf(r.Kind, r.Func), "RowOf(%v, %q), want the row %s", r.Kind, r.Func, r.Name)
		kinds[r.Kind] = true
	}
	for k := op.Kind(0); k < op.NumKinds; k++ {
		assert.True(t, kinds[k], "kind %v has no row", k)
	}
	_, ok := op.Lookup("tanh")
	assert.False(t, ok, "Lookup found tanh")
	assert.Equal(t, []string{"embed", "rmsnorm", "layernorm", "matmul", "rope", "store", "attention",
		"silu", "gelu", "gelu_tanh", "relu", "mul", "add", "sub", "argmax", "sample"}, op.Names(), "Names()")
}

// The rows of a kind share its code in every stage, which tells them apart
// by Func; rows of one kind with the same arguments (a family: silu, gelu)
// may differ only in what names them.
func TestFamiliesAgree(t *testing.T) {
	seen := map[op.Kind]map[string]*op.Row{}
	for _, r := range op.Rows {
		if seen[r.Kind] == nil {
			seen[r.Kind] = map[string]*op.Row{}
		}
		if f := seen[r.Kind][r.Func]; f != nil {
			assert.Fail(t, "rows share a kind and a Func", "%s and %s share kind %v and Func %q", f.Form, r.Form, r.Kind, r.Func)
		}
		for _, f := range seen[r.Kind] {
			if reflect.DeepEqual(f.Args, r.Args) {
				assert.Equal(t, traits(f), traits(r), "%s and %s (kind %v) differ", f.Name, r.Name, r.Kind)
			}
		}
		seen[r.Kind][r.Func] = r
	}
}

// traits are what the rows of a family with the same arguments must agree on.
func traits(r *op.Row) []any {
	return []any{r.Binds, r.LayerOnly, r.Ends, r.InPlace, r.ReadsPos, r.Table}
}

// The overloads of a name agree in what the checks read before they know
// which one a call is.
func TestOverloadsAgree(t *testing.T) {
	for _, name := range op.Names() {
		rs := op.Overloads(name)
		for _, r := range rs[1:] {
			assert.Equal(t, [3]bool{rs[0].Binds, rs[0].Ends, rs[0].LayerOnly}, [3]bool{r.Binds, r.Ends, r.LayerOnly},
				"%s and %s differ in Binds, Ends, LayerOnly", rs[0].Form, r.Form)
		}
	}
}

func TestForms(t *testing.T) {
	for _, r := range op.Rows {
		m := regexp.MustCompile(`^(\w+)\((.*)\)$`).FindStringSubmatch(r.Form)
		if assert.NotNil(t, m, "%s: form %q", r.Name, r.Form) {
			assert.Equal(t, r.Name, m[1], "%s: form %q does not name it", r.Name, r.Form)
			assert.Len(t, strings.Split(m[2], ", "), len(r.Args), "%s: form %q has not %d arguments", r.Name, r.Form, len(r.Args))
		}
	}
}

// spec.md section 3's table of ops lists every row as written.
func TestSpecListsEveryOp(t *testing.T) {
	spec, err := os.ReadFile("../spec.md")
	if err != nil {
		t.Skip("no spec.md:", err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(spec), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
			listed[m[1]] = true
		}
	}
	for _, r := range op.Rows {
		assert.True(t, listed[r.Form], "spec.md's op table has no row for %s", r.Form)
	}
}

func TestUnary(t *testing.T) {
	var got []string
	for _, r := range op.Rows {
		if r.InPlace && r.Unary() {
			got = append(got, r.Name)
		}
	}
	// The ops whose nested first argument the lowering computes straight
	// into their destination (q = rope(matmul(wq, h), D)).
	assert.Equal(t, []string{"rope", "silu", "gelu", "gelu_tanh", "relu", "mul"}, got, "unary in-place ops")
}

func TestShapeRules(t *testing.T) {
	cfg := op.Config{Vocab: 32, Heads: 4, KVHeads: 2}
	vec := func(name string, n int) op.Arg { return op.Arg{Name: name, Len: n} }
	par := func(name string, dims ...int) op.Arg { return op.Arg{Name: name, Dims: dims} }
	cache := op.Arg{Name: "kv", Width: 16}
	num := func(n int) op.Arg { return op.Arg{Int: n} }
	for _, c := range []struct {
		op   string
		args []op.Arg
		n    int
		arg  int
		msg  string
	}{
		{"embed", []op.Arg{par("E", 32, 8), {}}, 8, 0, ""},
		{"embed", []op.Arg{par("E", 8), {}}, 0, -1, "embed: E must be a matrix [vocab, n], but it is a vector"},
		{"embed", []op.Arg{par("E", 31, 8), {}}, 0, -1, "embed: E has 31 rows, but vocab is 32"},
		{"rmsnorm", []op.Arg{vec("x", 8), par("g", 8)}, 8, 0, ""},
		{"rmsnorm", []op.Arg{vec("x", 8), par("g", 1, 8)}, 0, -1, "rmsnorm: g must be a vector, but it is a matrix"},
		{"rmsnorm", []op.Arg{vec("x", 8), par("g", 9)}, 0, -1, "rmsnorm: x has 8 elements, but g has 9"},
		{"matmul", []op.Arg{par("W", 1, 8), vec("x", 8)}, 1, 0, ""},
		{"matmul", []op.Arg{par("W", 8), vec("x", 8)}, 0, -1, "matmul: W must be a matrix, but it is a vector"},
		{"matmul", []op.Arg{par("W", 4, 7), vec("matmul(…)", 8)}, 0, -1, "matmul: W has 7 columns, but matmul(…) has 8 elements"},
		{"rope", []op.Arg{vec("q", 16), num(4)}, 16, 0, ""},
		{"rope", []op.Arg{vec("q", 16), num(0)}, 0, 1, "rope: the head size must be positive, not 0"},
		{"rope", []op.Arg{vec("q", 15), num(5)}, 0, -1, "rope: the head size 5 is odd (rope rotates pairs)"},
		{"rope", []op.Arg{vec("q", 18), num(4)}, 0, -1, "rope: q has 18 elements, not a multiple of the head size 4"},
		{"store", []op.Arg{cache, vec("k", 16), vec("v", 16)}, 0, 0, ""},
		{"store", []op.Arg{cache, vec("k", 16), vec("v", 8)}, 0, -1, "store: v has 8 elements, but cache kv has width 16"},
		{"attention", []op.Arg{vec("q", 32), cache, num(8)}, 32, 0, ""},
		{"attention", []op.Arg{vec("q", 32), cache, num(-8)}, 0, 2, "attention: the head size must be positive, not -8"},
		{"attention", []op.Arg{vec("q", 32), cache, num(3)}, 0, -1, "attention: q has 32 elements, not a multiple of the head size 3"},
		{"attention", []op.Arg{vec("q", 32), cache, num(4)}, 0, -1, "attention: q has 8 heads of 4 elements, but heads is 4"},
		{"attention", []op.Arg{vec("q", 32), {Name: "kv", Width: 12}, num(8)}, 0, -1, "attention: cache kv has width 12, not a multiple of the head size 8"},
		{"attention", []op.Arg{vec("q", 32), {Name: "kv", Width: 8}, num(8)}, 0, -1, "attention: cache kv holds 1 heads of 8 elements, but kv_heads is 2"},
		{"gelu", []op.Arg{vec("x", 5)}, 5, 0, ""},
		{"mul", []op.Arg{vec("a", 5), vec("b", 5)}, 5, 0, ""},
		{"add", []op.Arg{vec("a", 5), vec("b", 6)}, 0, -1, "add: a has 5 elements, but b has 6"},
		{"argmax", []op.Arg{vec("x", 32)}, 0, 0, ""},
		{"layernorm", []op.Arg{vec("x", 8), par("g", 8), par("b", 8)}, 8, 0, ""},
		{"layernorm", []op.Arg{vec("x", 8), par("g", 8), par("b", 9)}, 0, -1, "layernorm: x has 8 elements, but b has 9"},
		{"layernorm", []op.Arg{vec("x", 8), par("g", 8), par("b", 1, 8)}, 0, -1, "layernorm: b must be a vector, but it is a matrix"},
		{"sample", []op.Arg{vec("x", 31)}, 0, -1, "sample: x has 31 elements, but vocab is 32"},
	} {
		var r *op.Row
		for _, o := range op.Overloads(c.op) {
			if len(o.Args) == len(c.args) && r == nil {
				r = o // the first of the arity: the tests name the others by their form below
			}
		}
		require.NotNil(t, r, "%s: no overload of %d arguments", c.op, len(c.args))
		n, err := r.Length(c.args, cfg)
		if c.msg == "" {
			if assert.Nil(t, err, c.op) {
				assert.Equal(t, c.n, n, "%s: length", c.op)
			}
		} else if assert.NotNil(t, err, "%s: want %q", c.op, c.msg) {
			assert.Equal(t, c.msg, err.Msg, c.op)
			assert.Equal(t, c.arg, err.Arg, "%s: argument", c.op)
		}
	}
}
