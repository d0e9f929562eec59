package regalloc

import (
	x86 "tfc/codegen/x86_16"
)

// computing are the operations whose only effects are their register
// destination (the first operand) and, where the value is true, the
// flags: removing one whose destination nothing reads changes nothing
// else, where its flags are dead too (which the caller knows: flags are
// not tracked here).
var computing = map[x86.Op]bool{
	x86.MOV: false, x86.MOVZX: false, x86.MOVSX: false, x86.LEA: false, x86.NOT: false,
	x86.SETA: false, x86.SETAE: false, x86.SETB: false, x86.SETBE: false, x86.SETE: false, x86.SETNE: false,
	x86.SETG: false, x86.SETGE: false, x86.SETL: false, x86.SETLE: false,
	x86.ADD: true, x86.ADC: true, x86.SUB: true, x86.SBB: true, x86.AND: true, x86.OR: true, x86.XOR: true,
	x86.SHL: true, x86.SHR: true, x86.SAR: true, x86.SHLD: true, x86.SHRD: true, x86.NEG: true, x86.INC: true,
	x86.DEC: true, x86.IMUL: true,
}

func computes(op x86.Op) bool { _, ok := computing[op]; return ok }

// WritesFlags: op, one that DeadWrites may list, writes arithmetic flags.
func WritesFlags(op x86.Op) bool { return computing[op] }

// DeadWrites lists, in order, the items of k that compute into a register
// that nothing reads after them (a general register or a virtual, none
// of whose bits is live).
func DeadWrites(k *Kernel, o Options) ([]int, error) {
	return writesWhere(k, o, func(a *analysis, j int, e effects, in x86.Inst, r x86.Reg) bool {
		if !computes(in.Op) || in.Op == x86.IMUL && len(in.Args) < 2 {
			return false
		}
		for _, ac := range e.acc {
			if n, _ := nodeOf(ac.reg); ac.write && a.out[j].has(n) {
				return false
			}
		}
		return true
	})
}

// UpperDead lists, in order, the items of k that write a 32-bit general
// register named as their first operand whose upper 16 bits nothing
// reads after them (a 16-bit write there, which keeps them, computes the
// same low word where the operation's low word depends on its operands'
// low words alone: the caller knows which).
func UpperDead(k *Kernel, o Options) ([]int, error) {
	return writesWhere(k, o, func(a *analysis, j int, e effects, in x86.Inst, r x86.Reg) bool {
		n, _ := nodeOf(r)
		return Bits(r) == 32 && a.out[j].parts(n)&partUp == 0
	})
}

// writesWhere lists, in order, the items of k that fall through and name
// a register (not a segment register) first, where keep, given k's
// liveness at the item (position j), says so.
func writesWhere(k *Kernel, o Options, keep func(a *analysis, j int, e effects, in x86.Inst, r x86.Reg) bool) ([]int, error) {
	if o.Allowed == nil {
		o.Allowed = DefaultAllowed
	}
	a, err := analyze(k, &o)
	if err != nil {
		return nil, err
	}
	var items []int
	for j, e := range a.eff {
		in := k.Items[a.item[j]].Inst
		if e.flow != fNext || len(in.Args) == 0 {
			continue
		}
		if r, ok := in.Args[0].(x86.Reg); ok && !isSeg(r) && keep(a, j, e, in, r) {
			items = append(items, a.item[j])
		}
	}
	return items, nil
}
