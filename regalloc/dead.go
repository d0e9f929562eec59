package regalloc

import (
	"fmt"
	"slices"

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

// writesWhere lists, in order, the items of k that fall through and name
// a register (not a segment register) first, where keep, given k's
// liveness at the item (position j), says so.
func writesWhere(k *Kernel, o Options, keep func(a *analysis, j int, e effects, in x86.Inst, r x86.Reg) bool) ([]int, error) {
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
		if r, ok := in.Args[0].(x86.Reg); ok && !r.IsSeg() && keep(a, j, e, in, r) {
			items = append(items, a.item[j])
		}
	}
	return items, nil
}

// UpperDemand lists, in order, the items of k (in physical registers)
// whose first operand, a 32-bit general register or a dword slot, has an
// upper half that nothing demands after them. narrows(i) says which items
// compute their first operand's low word from their operands' low words
// alone: such an item demands its operands' upper halves only where its
// own result's upper half is demanded, so that values that only feed one
// another around a loop (a pointer that steps, spilled and reloaded, and
// only addresses memory in 16 bits) are found too, where liveness sees
// each read the last one's upper half. slot gives the
// address of the dword that m falls in where it is a slot tracked as a
// value (a kernel's own spill slot, which nothing outside it reads);
// other memory is not tracked. Nothing is demanded at the kernel's exits.
func UpperDemand(k *Kernel, o Options, narrows func(i int) bool, slot func(m x86.Mem) (uint16, bool)) ([]int, error) {
	a, err := analyze(k, &o)
	if err != nil {
		return nil, err
	}
	loc := map[uint16]int{} // slot address -> location, after the families
	where := func(s uint16) int {
		if l, ok := loc[s]; ok {
			return l
		}
		loc[s] = physNodes + len(loc)
		return loc[s]
	}
	type transfer struct {
		dest               int // the first operand's location, or -1
		narrow             bool
		always, cond, kill []int
	}
	tr := make([]transfer, len(a.item))
	for j, e := range a.eff {
		i := a.item[j]
		in := k.Items[i].Inst
		t := transfer{dest: -1}
		if len(in.Args) > 0 {
			switch d := in.Args[0].(type) {
			case x86.Reg:
				if d >= x86.EAX && d <= x86.EDI {
					t.dest = int(d - x86.EAX)
				}
			case x86.Mem:
				if s, ok := slot(d); ok && d.Size == 32 && uint16(d.Disp) == s && in.Op != x86.LEA {
					t.dest = where(s)
				}
			}
		}
		t.narrow = t.dest >= 0 && narrows(i)
		// An address demands its registers' upper halves (a 32-bit one
		// adds them), but lea's sum is its result: a 16-bit result's low
		// word is the low words' sum (scaled), whatever the upper halves.
		lea16 := false
		if in.Op == x86.LEA {
			d, ok := in.Args[0].(x86.Reg)
			lea16 = ok && d.Size() == 16
		}
		// shld's low word is its destination's low bits and its
		// source's high ones: a register destination's upper half is
		// demanded only where the result's is (the source's always is).
		shldDest := -1
		if in.Op == x86.SHLD && t.dest >= 0 && t.dest < physNodes {
			if s, ok := in.Args[1].(x86.Reg); ok {
				if sn, _ := nodeOf(s); sn != t.dest {
					shldDest = t.dest
				}
			}
		}
		for _, ac := range e.acc {
			if ac.reg.IsSeg() {
				continue
			}
			n, p := nodeOf(ac.reg)
			if n >= physNodes {
				return nil, fmt.Errorf("kernel %s: item %d (%s): a virtual register", k.Name, i, InstString(in))
			}
			if ac.read && p&partUp != 0 {
				switch {
				case n == shldDest && !ac.addr:
					t.cond = append(t.cond, n)
				case lea16 && ac.addr:
				case t.narrow && (!ac.addr || in.Op == x86.LEA):
					t.cond = append(t.cond, n)
				default:
					t.always = append(t.always, n)
				}
			}
			if ac.write && p&partUp != 0 {
				t.kill = append(t.kill, n)
			}
		}
		for x, arg := range in.Args {
			m, ok := arg.(x86.Mem)
			if !ok || in.Op == x86.LEA {
				continue
			}
			s, ok := slot(m)
			if !ok {
				continue
			}
			l := where(s)
			d := uint16(m.Disp)
			exact := d == s && m.Size == 32
			if x == 0 && exact && in.Op == x86.MOV {
				t.kill = append(t.kill, l)
				continue
			}
			written := x == 0 && (in.Op == x86.MOV || in.Op == x86.POP || setcc(in.Op))
			if written || int(d)+m.Size/8 <= int(s)+2 {
				continue // a write that keeps the upper half, or a read of the low half
			}
			if t.narrow && exact {
				t.cond = append(t.cond, l)
			} else {
				t.always = append(t.always, l)
			}
		}
		tr[j] = t
	}
	nloc := physNodes + len(loc)
	in := make([][]bool, len(a.item))
	out := make([][]bool, len(a.item))
	for j := range in {
		in[j], out[j] = make([]bool, nloc), make([]bool, nloc)
	}
	for changed := true; changed; {
		changed = false
		for j := len(a.item) - 1; j >= 0; j-- {
			o := out[j]
			clear(o)
			for _, s := range a.succ[j] {
				if s != exitPos {
					for l, d := range in[s] {
						o[l] = o[l] || d
					}
				}
			}
			t := tr[j]
			next := slices.Clone(o)
			for _, l := range t.kill {
				next[l] = false
			}
			for _, l := range t.always {
				next[l] = true
			}
			if t.dest >= 0 && o[t.dest] {
				for _, l := range t.cond {
					next[l] = true
				}
			}
			if !slices.Equal(next, in[j]) {
				in[j] = next
				changed = true
			}
		}
	}
	var items []int
	for j, t := range tr {
		if t.narrow && !out[j][t.dest] && a.eff[j].flow == fNext {
			items = append(items, a.item[j])
		}
	}
	return items, nil
}

func setcc(op x86.Op) bool { return op >= x86.SETO && op <= x86.SETG }

// LiveOut answers, for k in physical registers, whether any bit of a
// general register r is read after item i before it is written (the
// liveness Allocate uses); an item that is a label or past the end is
// answered true.
func LiveOut(k *Kernel, o Options) (func(i int, r x86.Reg) bool, error) {
	live, err := liveParts(k, o)
	if err != nil {
		return nil, err
	}
	return func(i int, r x86.Reg) bool { return live(i, r) != 0 }, nil
}

// LiveAboveLowByte is LiveOut for the bits of r's register above its low
// byte (ch and ecx's upper half, for cl, cx or ecx).
func LiveAboveLowByte(k *Kernel, o Options) (func(i int, r x86.Reg) bool, error) {
	live, err := liveParts(k, o)
	if err != nil {
		return nil, err
	}
	return func(i int, r x86.Reg) bool { return live(i, r)&^partLo != 0 }, nil
}

// liveParts is the parts of r's family (partLo, partHi, partUp) read
// after item i before they are written; all of them at a label or past
// the end.
func liveParts(k *Kernel, o Options) (func(i int, r x86.Reg) uint8, error) {
	a, err := analyze(k, &o)
	if err != nil {
		return nil, err
	}
	place := a.places()
	return func(i int, r x86.Reg) uint8 {
		j, ok := place(i)
		if !ok {
			return partAll
		}
		n, _ := nodeOf(r)
		return a.out[j].parts(n)
	}, nil
}
