package ir

import (
	"math"

	"tfc/checkpoint"
	"tfc/lang"
)

// Load lowers a checked program and attaches its weights and tokenizer:
// from the checkpoint and tokenizer files it names, or generated from its
// seed. File errors are reported at the line that names the file.
func Load(lp *lang.Program) (*Program, error) { return LoadWith(lp, Options{}) }

// LoadWith is Load; with o.ShapesOnly, random weights are left undrawn.
func LoadWith(lp *lang.Program, o Options) (*Program, error) {
	p, err := Lower(lp)
	if err != nil {
		return nil, err
	}
	if lp.Weights.Random {
		if !o.ShapesOnly {
			randomWeights(p, uint64(lp.Weights.Seed))
		}
	} else {
		m, err := checkpoint.Load(lp.Weights.Path)
		if err != nil {
			return nil, lang.Errorf(lp.Weights.Pos, "%v", err)
		}
		for _, q := range p.Params {
			t := m.Tensors[q.Name]
			if t == nil || len(t.Data) != q.Layers*q.Rows*q.Cols {
				return nil, lang.Errorf(q.Pos, "param %s: not in the checkpoint with this shape", q.Name)
			}
			q.F = t.Data
		}
	}
	if lp.Tokenizer.Synthetic {
		p.Tokenizer = checkpoint.Synthetic(p.Vocab)
	} else {
		t, err := checkpoint.LoadTokenizer(lp.Tokenizer.Path, p.Vocab)
		if err != nil {
			return nil, lang.Errorf(lp.Tokenizer.Pos, "%v", err)
		}
		p.Tokenizer = t
	}
	return p, nil
}

// randomWeights fills every param from one xorshift stream in declaration
// order (spec.md section 5): matrices uniform in ±sqrt(3/cols), so that a
// matmul keeps its input's scale; vectors 1 ± 0.25 (norm weights), or
// 0 ± 0.25 when only biases read them.
func randomWeights(p *Program, seed uint64) {
	r := Rng(seed*2654435761 + 1)
	biases := biasParams(p)
	for _, q := range p.Params {
		q.F = make([]float32, q.Layers*q.Rows*q.Cols)
		a, base := math.Sqrt(3/float64(q.Cols)), 0.0
		if q.Rows == 1 {
			a, base = 0.25, 1
			if biases[q] {
				base = 0
			}
		}
		for i := range q.F {
			u := float64(r.U32()>>8)/(1<<23) - 1 // uniform in [-1, 1)
			q.F[i] = float32(base + a*u)
		}
	}
}

// biasParams are the params that only biases read: add(x, b) and
// layernorm's b.
func biasParams(p *Program) map[*Param]bool {
	bias, other := map[*Param]bool{}, map[*Param]bool{}
	p.Ops(func(_ int, o *Op) {
		for i, q := range o.Params {
			if o.Kind == Bias || (o.Kind == LayerNorm && i == 1) {
				bias[q] = true
			} else {
				other[q] = true
			}
		}
	})
	for q := range other {
		delete(bias, q)
	}
	return bias
}
