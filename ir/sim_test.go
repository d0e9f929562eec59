package ir_test

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tfc/frontend"
	"tfc/ir"
	"tfc/lang"
)

func load(t *testing.T, path string, quantize bool) *ir.Program {
	t.Helper()
	p, err := frontend.LoadFile(path, ir.Options{SkipQuantize: !quantize})
	require.NoError(t, err, lang.FormatError(err, nil))
	return p
}

func argmax(x []float64) int {
	b := 0
	for i, v := range x {
		if v > x[b] {
			b = i
		}
	}
	return b
}

// The integer simulation follows the float model closely: fed the float
// model's own greedy tokens, the RMS error of its logits stays small
// against their spread: 0.5% for int16 weights (the arithmetic's rounding
// gives about 0.02%) and 10% for int8 weights (whose rounding alone gives a
// few percent); a wrong operation moves logits by their whole spread.
// Free-running agreement (how many tokens both pick before they first
// differ) is reported: near-tied logits of random weights make it vary, and
// the two samplers draw differently by design (spec.md section 6).
func TestIntegerTracksFloat(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.tf")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".tf")
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "llama2") {
				if _, err := os.Stat("../models/stories260K.bin"); err != nil {
					t.Skip("SKIPPED: models/ is empty (make models)")
				}
			}
			p := load(t, f, true)
			fs, is := ir.NewFloatSim(p), ir.NewSim(p)
			steps := min(p.Gen.Steps, 64)
			tok := ir.BOS
			var worst, sumSq, spreadSq float64
			n := 0
			for pos := 0; pos < steps; pos++ {
				fs.Step(tok, pos)
				is.Step(tok, pos)
				fl, il := fs.Logits(), is.Logits()
				var mean float64
				for _, v := range fl {
					mean += v
				}
				mean /= float64(len(fl))
				for i := range fl {
					d := il[i] - fl[i]
					worst = max(worst, math.Abs(d))
					sumSq += d * d
					spreadSq += (fl[i] - mean) * (fl[i] - mean)
					n++
				}
				tok = argmax(fl)
			}
			require.NoError(t, is.Overflow, "integer simulation overflow")
			rms, spread := math.Sqrt(sumSq/float64(n)), math.Sqrt(spreadSq/float64(n))
			bound := 0.005
			for _, q := range p.Params {
				if q.Quant.Type == "int8" {
					bound = 0.10
				}
			}
			assert.LessOrEqual(t, rms, bound*spread, "logit error rms %.5f over %d positions, more than %g%% of the logits' spread %.4f (worst %.5f)", rms, steps, bound*100, spread, worst)
			// Free-running agreement.
			p2 := load(t, f, true)
			ft, _ := ir.Generate(ir.NewFloatSim(p2), p2.Tokenizer, []int{ir.BOS}, p2.Gen.Steps, io.Discard)
			it, _ := ir.Generate(ir.NewSim(p), p.Tokenizer, []int{ir.BOS}, p.Gen.Steps, io.Discard)
			agree := 0
			for agree < len(ft) && agree < len(it) && ft[agree] == it[agree] {
				agree++
			}
			t.Logf("%s: logit error rms %.5f, worst %.5f, spread %.3f; free-running: %d of %d tokens agree", name, rms, worst, spread, agree, len(ft))
		})
	}
}

// A 32-bit sum holds MaxSoftmaxTerms softmax weights (attention over more
// positions sums in 64 bits).
func TestMaxSoftmaxTerms(t *testing.T) {
	assert.Less(t, uint64(ir.MaxSoftmaxTerms)*(1<<ir.ExpBits), uint64(1<<32), "%d weights of 2^%d pass 32 bits", ir.MaxSoftmaxTerms, ir.ExpBits)
	assert.GreaterOrEqual(t, uint64(ir.MaxSoftmaxTerms+1)*(1<<ir.ExpBits), uint64(1<<32), "the most that fit")
}
