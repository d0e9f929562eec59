package loopgen

import (
	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// leaStep: for size, `lea r, [a+d2]` where an earlier `lea r, [a+d1]` of
// the same block left r, and nothing between writes r or a's registers
// (nor names them, nor a call that may write them), is `add r, d2-d1`
// where that is shorter (d1 and d2 took 16 bits, d2-d1 takes a byte) and
// the add's flags are dead: rope's second pair, `lea bx, [di-0x64c0]` …
// `call mac2…` … `add bx, 0x10` for `lea bx, [di-0x64b0]`. 16-bit
// addresses wrap as the 16-bit add does. After allocation (k in physical
// registers).
func leaStep(k *regalloc.Kernel) {
	for j, it := range k.Items {
		r, m2, ok := lea16(it)
		if !ok {
			continue
		}
		for i := j - 1; i >= 0; i-- {
			prev := k.Items[i]
			if prev.Label != "" || jumps(prev.Inst.Op) || prev.Inst.Op == x86.RET {
				break
			}
			if r1, m1, ok := lea16(prev); ok && r1 == r && m1.Base == m2.Base && m1.Index == m2.Index && m1.Label == "" && m2.Label == "" {
				add := x86.Inst{Op: x86.ADD, Args: []x86.Operand{r, x86.Imm(int64(int16(m2.Disp - m1.Disp)))}}
				if instBytes(add) < instBytes(it.Inst) && flagsDeadAfter(k.Items, j+1, true) {
					k.Items[j].Inst = add
				}
				break
			}
			if writesAny(r, m2.Base, m2.Index)(prev) {
				break // what the earlier lea computed changed since
			}
		}
	}
}

// lea16 is it's register and address where it is `lea r16, [m]` with a
// 16-bit address whose registers r is not one of.
func lea16(it regalloc.Item) (x86.Reg, x86.Mem, bool) {
	in := it.Inst
	if it.Label != "" || in.Op != x86.LEA || len(in.Args) != 2 {
		return 0, x86.Mem{}, false
	}
	r, isReg := in.Args[0].(x86.Reg)
	m, isMem := in.Args[1].(x86.Mem)
	if !isReg || !isMem || r.Size() != 16 || m.Addr32 || gpr(m.Base) == gpr(r) || gpr(m.Index) == gpr(r) {
		return 0, x86.Mem{}, false
	}
	return r, m, true
}

// writesAny: an item may write one of rs (names it, or is a call that
// may write it, or a string instruction or pusha or popa).
func writesAny(rs ...x86.Reg) func(regalloc.Item) bool {
	return func(it regalloc.Item) bool {
		for _, r := range rs {
			if r == x86.NoReg {
				continue
			}
			if names(it.Inst, r) || stringOp(it.Inst.Op) || callWrites(it, r) {
				return true
			}
		}
		return false
	}
}
