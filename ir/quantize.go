package ir

import (
	"fmt"
	"math"

	"tfc/lang"
)

// MaxShift caps a matmul's shift B so that the code's 64-bit rounding shift
// is one shrd of edx:eax (counts are taken mod 32).
const MaxShift = 31

// quantize stores every param as the integers and scales the image holds
// (spec.md section 6): fixed params as Q16.16, int8/int16 params
// symmetric absmax per scale group with a 31-bit multiplier, and one shift B
// shared by every quantized param: the largest that keeps all multipliers
// within 31 bits. One B lets the code apply it as a constant, and lets any
// matmuls fuse; the smaller multipliers of small-scale tensors keep at least
// 29 bits, far more than the weights' 8 or 16.
func quantize(p *Program) error {
	b := uint(MaxShift)
	for _, q := range p.Params {
		if err := quantizeParam(q, MaxShift); err != nil {
			return err
		}
		if q.Q.M != nil {
			b = min(b, q.Q.Shift)
		}
	}
	for _, q := range p.Params {
		if q.Q.M != nil && q.Q.Shift != b {
			if err := quantizeParam(q, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// scaleGroup is the number of weights that share a scale.
func scaleGroup(q *Param) int {
	switch q.Quant.Per {
	case "layer":
		return q.Rows * q.Cols
	case "tensor":
		return q.Layers * q.Rows * q.Cols
	}
	return q.Cols // per row
}

func quantizeParam(q *Param, maxShift uint) error {
	n := q.Layers * q.Rows * q.Cols
	if q.F == nil {
		// Shapes only (Options.ShapesOnly): zeros, which Slice gives.
		bits := map[string]int{"fixed": 32, "int8": 8, "int16": 16}[q.Quant.Type]
		q.Q = &QData{Bits: bits, Shift: maxShift}
		if q.Quant.Type != "fixed" {
			q.Q.M = make([]int32, n/scaleGroup(q))
		}
		return nil
	}
	if len(q.F) != n {
		panic(fmt.Sprintf("BUG: param %s has %d weights, want %d", q.Name, len(q.F), n))
	}
	for i, f := range q.F {
		if f != f {
			return lang.Errorf(q.Pos, "param %s: weight %d (layer %d, row %d, column %d) is not a number (NaN)",
				q.Name, i, i/(q.Rows*q.Cols), i/q.Cols%q.Rows, i%q.Cols)
		}
	}
	if q.Quant.Type == "fixed" {
		w := make([]int32, n)
		for i, f := range q.F {
			v := math.Round(float64(f) * One)
			if math.Abs(v) > math.MaxInt32 {
				return lang.Errorf(q.Pos, "param %s: weight %g does not fit Q16.16", q.Name, f)
			}
			w[i] = int32(v)
		}
		q.Q = &QData{Bits: 32, W: w}
		return nil
	}
	bits := 16
	if q.Quant.Type == "int8" {
		bits = 8
	}
	qmax := float64(int(1)<<(bits-1) - 1)
	group := scaleGroup(q)
	scales := make([]float64, n/group)
	maxScale := 0.0
	for g := range scales {
		m := 0.0
		for _, f := range q.F[g*group : (g+1)*group] {
			m = math.Max(m, math.Abs(float64(f)))
		}
		scales[g] = m / qmax
		maxScale = math.Max(maxScale, scales[g])
	}
	// The largest B whose multipliers all fit 31 bits.
	b := uint(0)
	for b < maxShift && maxScale*math.Ldexp(1, FracBits+int(b)+1) < math.MaxInt32 {
		b++
	}
	if maxScale*math.Ldexp(1, FracBits+int(b)) >= math.MaxInt32 {
		return lang.Errorf(q.Pos, "param %s: weights up to %g are too large to quantize", q.Name, maxScale*qmax)
	}
	d := &QData{Bits: bits, W: make([]int32, n), M: make([]int32, len(scales)), Shift: b}
	for g, s := range scales {
		d.M[g] = int32(math.Round(s * math.Ldexp(1, FracBits+int(b))))
		for i := g * group; i < (g+1)*group; i++ {
			if s > 0 {
				d.W[i] = int32(math.Max(-qmax, math.Min(qmax, math.Round(float64(q.F[i])/s))))
			}
		}
	}
	q.Q = d
	return nil
}
