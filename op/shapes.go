package op

import (
	"fmt"
	"math"
)

// The shape rules of the rows. Each checks in the order its messages should
// come (the checks stop at the first error) and words them for the person
// who wrote the call: lang's checks and the IR's shape inference print
// them alike.

func fail(arg int, format string, a ...any) (int, *ShapeError) {
	return 0, &ShapeError{Arg: arg, Msg: fmt.Sprintf(format, a...)}
}

const call = -1 // a ShapeError about the whole call

func embedShape(a []Arg, c Config) (int, *ShapeError) {
	w := a[0]
	if len(w.Dims) != 2 {
		return fail(call, "%s must be a matrix [vocab, n], but it is a vector", w.Name)
	}
	if w.Dims[0] != c.Vocab {
		return fail(call, "%s has %d rows, but vocab is %d", w.Name, w.Dims[0], c.Vocab)
	}
	return w.Dims[1], nil
}

func rmsnormShape(a []Arg, _ Config) (int, *ShapeError) {
	x, g := a[0], a[1]
	if len(g.Dims) != 1 {
		return fail(call, "%s must be a vector, but it is a matrix", g.Name)
	}
	if n := g.Dims[0]; n != x.Len {
		return fail(call, "%s has %d elements, but %s has %d", x.Name, x.Len, g.Name, n)
	}
	return x.Len, nil
}

func matmulShape(a []Arg, _ Config) (int, *ShapeError) {
	w, x := a[0], a[1]
	if len(w.Dims) != 2 {
		return fail(call, "%s must be a matrix, but it is a vector", w.Name)
	}
	if w.Dims[1] != x.Len {
		return fail(call, "%s has %d columns, but %s has %d elements", w.Name, w.Dims[1], x.Name, x.Len)
	}
	return w.Dims[0], nil
}

// headSize checks the head-size argument i.
func headSize(a []Arg, i int) (int, *ShapeError) {
	if d := a[i].Int; d <= 0 {
		return fail(i, "the head size must be positive, not %d", d)
	}
	return a[i].Int, nil
}

func ropeShape(a []Arg, _ Config) (int, *ShapeError) {
	x := a[0]
	hd, err := headSize(a, 1)
	if err != nil {
		return 0, err
	}
	if hd%2 != 0 {
		return fail(call, "the head size %d is odd (rope rotates pairs)", hd)
	}
	if x.Len%hd != 0 {
		return fail(call, "%s has %d elements, not a multiple of the head size %d", x.Name, x.Len, hd)
	}
	return x.Len, nil
}

func storeShape(a []Arg, _ Config) (int, *ShapeError) {
	k := a[0]
	for _, x := range a[1:] {
		if x.Len != k.Width {
			return fail(call, "%s has %d elements, but cache %s has width %d", x.Name, x.Len, k.Name, k.Width)
		}
	}
	return 0, nil
}

func attentionShape(a []Arg, c Config) (int, *ShapeError) {
	q, k := a[0], a[1]
	hd, err := headSize(a, 2)
	if err != nil {
		return 0, err
	}
	if q.Len%hd != 0 {
		return fail(call, "%s has %d elements, not a multiple of the head size %d", q.Name, q.Len, hd)
	}
	if q.Len/hd != c.Heads {
		return fail(call, "%s has %d heads of %d elements, but heads is %d", q.Name, q.Len/hd, hd, c.Heads)
	}
	if k.Width%hd != 0 {
		return fail(call, "cache %s has width %d, not a multiple of the head size %d", k.Name, k.Width, hd)
	}
	if k.Width/hd != c.KVHeads {
		return fail(call, "cache %s holds %d heads of %d elements, but kv_heads is %d", k.Name, k.Width/hd, hd, c.KVHeads)
	}
	return q.Len, nil
}

// sameLength is the rule of elementwise ops: every vector argument has
// the first one's length, which the result has.
func sameLength(a []Arg, _ Config) (int, *ShapeError) {
	for _, b := range a[1:] {
		if b.Len != a[0].Len {
			return fail(call, "%s has %d elements, but %s has %d", a[0].Name, a[0].Len, b.Name, b.Len)
		}
	}
	return a[0].Len, nil
}

// vocabLength is the rule of the ops that choose the next token from the
// logits: one per token of the vocabulary. They produce no vector.
func vocabLength(a []Arg, c Config) (int, *ShapeError) {
	if a[0].Len != c.Vocab {
		return fail(call, "%s has %d elements, but vocab is %d", a[0].Name, a[0].Len, c.Vocab)
	}
	return 0, nil
}

// posEmbedShape: a table of learned positions, a row per position.
func posEmbedShape(a []Arg, c Config) (int, *ShapeError) {
	w := a[0]
	if len(w.Dims) != 2 {
		return fail(call, "%s must be a matrix [context, n], but it is a vector", w.Name)
	}
	if w.Dims[0] < c.Context {
		return fail(call, "%s has %d rows, but context is %d (a row per position)", w.Name, w.Dims[0], c.Context)
	}
	return w.Dims[1], nil
}

// layernormShape: x, and the weights g and biases b of its length.
func layernormShape(a []Arg, c Config) (int, *ShapeError) {
	if _, err := rmsnormShape(a[:2], c); err != nil {
		return 0, err
	}
	return biasShape([]Arg{a[0], a[2]}, c)
}

// biasShape: a param vector of x's length added to x.
func biasShape(a []Arg, _ Config) (int, *ShapeError) {
	x, b := a[0], a[1]
	if len(b.Dims) != 1 {
		return fail(call, "%s must be a vector, but it is a matrix", b.Name)
	}
	if n := b.Dims[0]; n != x.Len {
		return fail(call, "%s has %d elements, but %s has %d", x.Name, x.Len, b.Name, n)
	}
	return x.Len, nil
}

// MaxScale bounds the constant of mul(x, c): it is Q16.16 in 32 bits.
const MaxScale = 32768

// scaleShape: the constant must be a Q16.16 number other than 0.
func scaleShape(a []Arg, _ Config) (int, *ShapeError) {
	c := a[1].Num
	if !(c > -MaxScale && c < MaxScale) {
		return fail(1, "the constant %g is out of range (it must be within ±%d)", c, MaxScale)
	}
	if math.Round(c*65536) == 0 {
		return fail(1, "the constant %g is 0 in Q16.16 (the smallest is 1/65536)", c)
	}
	return a[0].Len, nil
}

// checkEps: a norm's epsilon is Q32.32, at least 1 in its last place.
func checkEps(v float64) string {
	switch {
	case !(v > 0 && v <= 1):
		return fmt.Sprintf("eps must be in (0, 1], not %g", v)
	case math.Round(math.Ldexp(v, 32)) < 1:
		return fmt.Sprintf("eps %g is 0 in Q32.32 (the smallest is %.2g)", v, math.Ldexp(0.5, -32))
	}
	return ""
}

// checkTheta: RoPE's base.
func checkTheta(v float64) string {
	if !(v > 1 && v <= 1e12) {
		return fmt.Sprintf("theta must be more than 1 and at most 1e12, not %g", v)
	}
	return ""
}

// ropeOpts: rotary_dim rotates the first pairs of each head, 0 all of them.
func ropeOpts(a []Arg, o Opts) *ShapeError {
	r, d := int(o["rotary_dim"]), a[1].Int
	switch {
	case r < 0:
		_, err := fail(call, "rotary_dim must be positive, not %d", r)
		return err
	case r%2 != 0:
		_, err := fail(call, "rotary_dim %d is odd (rope rotates pairs)", r)
		return err
	case r > d:
		_, err := fail(call, "rotary_dim %d is more than the head size %d", r, d)
		return err
	}
	return nil
}

// RotaryDim is the number of leading elements of each head of size d that
// a rope with options o rotates.
func RotaryDim(o Opts, d int) int {
	if r := int(o["rotary_dim"]); r > 0 {
		return r
	}
	return d
}
