package lir

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A select of a value or 0 that only the add after it reads becomes an
// if that adds the value, the value's extension moved into it where only
// the select read it; a select of another constant, one read again, an
// add into another register, and an extension past a constant that
// rewrites its operand stay as they were. Each computes what it did.
func TestCondAdd(t *testing.T) {
	f := &Func{}
	v, w := f.NewReg(I32), f.NewReg(I32)
	x, z, s, d, d2 := f.NewReg(I64), f.NewReg(I64), f.NewReg(I64), f.NewReg(I64), f.NewReg(I64)
	cond := f.NewReg(I32)
	konst := func(r Reg, imm int64) *Node {
		return inst(Inst{Op: OpConst, Dst: r, A: NoReg, B: NoReg, C: NoReg, Imm: imm})
	}
	add := func(dst, b Reg) *Node { return inst(Inst{Op: OpAdd, Dst: dst, A: dst, B: b, C: NoReg}) }
	for _, c := range []struct {
		name   string
		zero   int64   // z's value
		before []*Node // after z's constant
		after  []*Node // after the add
		ifs    int     // the ifs made
		moved  bool
	}{
		{"a sum of the values above", 0, nil, nil, 1, true},
		{"a select of 5", 5, nil, nil, 0, false},
		{"the select read again", 0, nil, []*Node{add(d2, s)}, 0, false},
		{"the value read again", 0, nil, []*Node{add(d2, x)}, 1, false},
		{"a constant rewrites the value's operand", 0, []*Node{konst(v, 7)}, nil, 1, false},
	} {
		body := func() []*Node {
			nodes := []*Node{
				inst(Inst{Op: OpCmp, Cond: GTU, Dst: cond, A: v, B: w, C: NoReg}),
				inst(Inst{Op: OpExtU, Dst: x, A: v, B: NoReg, C: NoReg}),
				konst(z, c.zero),
			}
			nodes = append(nodes, c.before...)
			nodes = append(nodes, inst(Inst{Op: OpSelect, Dst: s, A: x, B: z, C: cond}), add(d, s))
			return append(nodes, c.after...)
		}
		f.Body = body()
		condAdd(f)
		ifs, moved := 0, false
		Walk(f.Body, func(n *Node) {
			if n.Kind == NIf {
				ifs++
				assert.Equal(t, cond, n.Cond, c.name)
				moved = len(n.Then) == 2 && n.Then[0].Inst.Op == OpExtU
			}
		})
		assert.Equal(t, c.ifs, ifs, "%s: the ifs\n%s", c.name, f)
		assert.Equal(t, c.moved, moved, "%s: the extension moved into the if\n%s", c.name, f)
		for _, vw := range [][2]int64{{5, 3}, {3, 5}, {0xFFFFFFFF, 1}} {
			run := func(nodes []*Node) []int64 {
				m := &Machine{f: f, regs: []int64{vw[0], vw[1], 0, 0, 0, 1 << 40, 9, 0}}
				m.run(nodes)
				m.regs[s] = 0 // the select's, which only the add read
				if c.moved {
					m.regs[x] = 0 // and the value's, which only the select read
				}
				return m.regs
			}
			assert.Equal(t, run(body()), run(f.Body), "%s: v, w = %v", c.name, vw)
		}
	}
}

func inst(in Inst) *Node { return &Node{Kind: NInst, Inst: in} }
