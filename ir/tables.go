package ir

import (
	"math"
	"strconv"

	"tfc/op"
)

// buildTables makes the constant tables the ops read (op/'s Table: exp for
// attention and sampling, one gate table per activation function, one RoPE
// table per head size). The simulator and the image read the same integers.
func buildTables(p *Program) error {
	get := func(name string, build func() []int32) *Table {
		if t := p.Table(name); t != nil {
			return t
		}
		t := &Table{Name: name, Data: build()}
		p.Tables = append(p.Tables, t)
		return t
	}
	p.Ops(func(_ int, o *Op) {
		switch o.Row().Table {
		case op.ExpTable:
			o.Table = get("exp", expTable)
		case op.GateTable:
			o.Table = get(o.Func, func() []int32 { return gateTable(o.Func) })
		case op.RoPETable:
			r, theta := op.RotaryDim(o.Opts, o.HeadDim), o.Opts["theta"]
			name := "rope" + itoa(r)
			if theta != RopeTheta {
				name += "t" + strconv.FormatFloat(theta, 'g', -1, 64)
			}
			o.Table = get(name, func() []int32 { return ropeTable(p.Context, r, theta) })
		}
	})
	p.TablesBuilt = true
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// expTable is exp(-j/32) in Q0.22 for j = 0..ExpEntries.
func expTable() []int32 {
	t := make([]int32, ExpEntries+1)
	for j := range t {
		t[j] = int32(math.Round(math.Exp(-float64(j)/float64(int(1)<<(FracBits-ExpStepBits))) * (1 << ExpBits)))
	}
	return t
}

// gateTable is the gate function at GateLow + j/32 in Q1.30.
func gateTable(fn string) []int32 {
	g := gateFuncs[fn]
	t := make([]int32, GateEntries+1)
	dx := 1 / float64(int(1)<<(FracBits-GateStepBits))
	for j := range t {
		x := float64(GateLow)/One + float64(j)*dx
		t[j] = int32(math.Round(g(x) * (1 << GateBits)))
	}
	return t
}

// ropeTable holds, for each position, the cosines then the sines of the
// dims/2 frequencies (dims: the rotated elements of a head) in Q1.30, from
// llama2.c's float32 angles with base theta.
func ropeTable(context, dims int, theta float64) []int32 {
	t := make([]int32, context*dims)
	half := dims / 2
	for pos := 0; pos < context; pos++ {
		for j := 0; j < half; j++ {
			c, s := ropeAngle64(pos, 2*j, dims, theta)
			t[pos*dims+j] = int32(math.Round(c * (1 << RopeBits)))
			t[pos*dims+half+j] = int32(math.Round(s * (1 << RopeBits)))
		}
	}
	return t
}
