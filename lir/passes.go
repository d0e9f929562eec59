package lir

import (
	"fmt"
	"io"
)

// A pass is one named rewrite of the loop IR, run from the ordered table
// below with the verifier after each (as ir's passes and Go's
// ssa/compile.go); `-d lir.NAME` prints the Func after it.
type pass struct {
	name   string
	fn     func(*Func)
	desc   string
	policy string // "size" or "speed": run only for that policy; "": always
	march  string // "sse2": run only for that machine; "": always
	// fusing: a speed pass that the size policy runs too where the Func
	// asks (FuseElementwise).
	fusing bool
}

var passes = []pass{
	{"lookups", lookups, "a table lookup becomes its two loads and the interpolation's arithmetic", "speed", "", false},
	{"lonelookup", lonelookup, "the one table lookup of a Func that has one becomes its loads and arithmetic (two or more share a routine)", "size", "", false},
	{"fuse", fuse, "an op that is one loop joins the loop that ends the op before it, when each iteration touches only its own element of what the other writes", "speed", "", true},
	{"forward", forward, "a load of what a store just before it put there reads the stored value", "speed", "", true},
	{"dse", dse, "stores into a var that nothing reads are removed, and the var", "speed", "", true},
	{"simd", simd, "a row's dot product of int16 weights with a vector becomes one dot over the vector's 11-bit digits, which a loop before the rows writes (SSE2's pmaddwd)", "speed", "sse2", false},
	{"general", general, "an if whose then-branch only does faster what its else-branch does becomes the else-branch; one that only skips work that would change nothing becomes the work", "size", "", false},
	{"rows", rows, "an inner loop's pointer that ends where the next pass's row begins (a matmul's weights, then the row's multiplier) runs on from row to row, set once before the loop", "size", "", false},
	{"addflag", addFlag, "matmuls fused with the residual add after them and matmuls that store their rows become alike: each stores through an if on a constant flag that adds what its destination held (outline makes the flag a param)", "size", "", false},
	{"outline", outline, "code that several ops run alike becomes a procedure each calls with its constants, counts and buffers", "size", "", false},
	{"strength", strength, "in a procedure, an address that a loop moves by a fixed step each pass, and computes with two instructions or more, is read through a pointer set before the loop and stepped at the end of its body", "size", "", false},
	{"unroll", unroll, "an innermost loop of a constant count runs its body 4 (or 2) times a pass", "speed", "", false},
	{"reassoc", reassoc, "an index that adds two registers, where the address has a base already (or a layer's slice), gives the one its loop does not change to the base", "speed", "", false},
	{"fold", fold, "constants folded (an if on a known condition is its branch); a multiply or an unsigned divide by a power of two becomes a shift; an index that adds a constant or multiplies by one becomes the memory operand's displacement or scale", "", "", false},
	{"dceaddr", dce, "instructions whose result nothing reads are removed before the passes that count a register's readers (the address arithmetic that strength's pointers and fold's operands replaced)", "size", "", false},
	{"collapse", collapse, "a loop whose body only starts an inner loop of a constant count, neither index read, becomes one loop of both counts' product; a pointer it set again each pass is wrapped by an and", "size", "", false},
	{"joincalls", joinCalls, "two ops in a row that only call one proc, the second running on from where the first stopped (the pointer it steps, the rest alike), become one call of both counts", "size", "", false},
	{"inline", inline, "a proc that one call runs becomes that call's code, each param a copy of its argument", "size", "", false},
	{"reload", reload, "a product after the first that reads a loaded i32 reads it again from memory, where nothing between writes it", "size", "", false},
	{"sink", sink, "a sum or difference of two products computes the product it goes in place into last, just before it", "size", "", false},
	{"twoscales", twoScales, "a loop whose index indexes memory at two scales, the lesser through one base register that nothing else reads, steps that base instead, its index keeping the greater scale alone", "size", "", false},
	{"stride", stride, "a loop whose index only indexes memory, scaled by 2, 4 or 8 (or is shifted left by as much, or multiplied by a multiple of it), steps by the least scale and its operands take it unscaled (or scaled by what remains)", "size", "", false},
	{"offsets", offsets, "a loop of a constant count whose index is read other than by addresses, and that loads through it scaled by 2, 4 or 8 with no base where addresses are 16-bit offsets, loads through a byte offset of its own, stepped after the last such load (argmax's logits)", "size", "", false},
	{"unscale", unscale, "segmented: an index that only indexes memory, scaled alike, and that a right shift by the scale's power or more computes shifts by that much less and clears the low bits instead, its operands unscaled", "size", "", false},
	{"sumstart", sumStart, "a sum that 0 starts and whose first use adds x to it starts as a copy of x", "", "", false},
	{"condadd", condAdd, "a select of a value or 0 that only an add right after it reads becomes an if that adds the value", "", "", false},
	{"selects", selects, "selects on one condition that each keep their destination when it is false become one if that copies their values", "", "", false},
	{"cse", cse, "a pure instruction that computes what one before it computed reads that result instead", "", "", false},
	{"shareadd", shareAdd, "an address of two registers added reads the sum an add after it computes from them, the add moved up before it", "size", "", false},
	{"licm", licm, "pure instructions whose operands a loop does not change move before the loop", "", "", false},
	{"localize", localize, "a loop that reads four or more dwords of a buffer at an offset it does not change reads them from a copy at fixed addresses, made before it", "speed", "", false},
	{"coalesce", coalesce, "an instruction whose result only the copy after it reads writes the copy's destination itself", "size", "", false},
	{"dce", dce, "instructions whose result nothing reads are removed", "", "", false},
}

// PassNames lists the passes in order, as -d names them ("lir.fold").
func PassNames() []string {
	n := []string{"lir.lower"}
	for _, p := range passes {
		n = append(n, "lir."+p.name)
	}
	return n
}

// Options control Compile.
type Options struct {
	// Dump names a pass ("lir.lower" for the Func as lowered) after which
	// the Func is printed to DumpTo.
	Dump   string
	DumpTo io.Writer
	// Stop names a pass after which Compile returns (a test of what a
	// pass leaves that a later one rewrites).
	Stop string
	// Policy is "size" (-Os: outlining) or "speed" (-O2).
	Policy string
	// March is "" (386 code) or "sse2".
	March string
}

// Compile runs the passes over a lowered Func.
func Compile(f *Func, o Options) error {
	if o.Dump == "lir.lower" {
		fmt.Fprintf(o.DumpTo, "# lir after lower\n%s", f)
	}
	if err := Verify(f); err != nil {
		return fmt.Errorf("BUG: lir after lower: %v", err)
	}
	for _, p := range passes {
		if p.policy != "" && p.policy != o.Policy && !(p.fusing && f.FuseElementwise) || p.march != "" && p.march != o.March {
			continue
		}
		p.fn(f)
		if err := Verify(f); err != nil {
			return fmt.Errorf("BUG: lir after %s: %v", p.name, err)
		}
		if o.Dump == "lir."+p.name {
			fmt.Fprintf(o.DumpTo, "# lir after %s\n%s", p.name, f)
		}
		if o.Stop == "lir."+p.name {
			return nil
		}
	}
	return nil
}

// defs counts each register's definitions (a loop's index counts once,
// and a proc's param: within its body it is written once, at entry).
func defs(f *Func) []int {
	n := make([]int, len(f.Types))
	walkAll(f, func(x *Node) {
		switch {
		case x.Kind == NInst && x.Inst.Dst != NoReg:
			n[x.Inst.Dst]++
		case x.Kind == NLoop:
			n[x.Index]++
		}
	})
	for _, p := range f.Procs {
		for _, r := range p.Params {
			n[r]++
		}
	}
	return n
}

// constants are the registers one OpConst writes, and their values.
func constants(f *Func) map[Reg]int64 {
	nd := defs(f)
	konst := map[Reg]int64{}
	walkAll(f, func(n *Node) {
		if n.Kind == NInst && n.Inst.Op == OpConst && nd[n.Inst.Dst] == 1 {
			konst[n.Inst.Dst] = n.Inst.Imm
		}
	})
	return konst
}

// useCounts counts each register's readers.
func useCounts(f *Func) []int {
	u := make([]int, len(f.Types))
	walkAll(f, func(n *Node) {
		for _, r := range n.reads() {
			u[r]++
		}
	})
	return u
}

// reads are the registers node n itself reads (not its body's).
func (n *Node) reads() []Reg {
	switch n.Kind {
	case NInst:
		return n.Inst.Reads()
	case NLoop:
		return n.LoopReads()
	case NIf:
		return []Reg{n.Cond}
	case NCall:
		return n.Args
	}
	return nil
}

// walkAll walks Body and every proc's body.
func walkAll(f *Func, fn func(n *Node)) {
	for _, b := range f.Bodies() {
		Walk(*b, fn)
	}
}

// Reads lists the registers an instruction reads, its memory operands' too.
func (in *Inst) Reads() []Reg {
	var r []Reg
	for _, x := range []Reg{in.A, in.B, in.C} {
		if x != NoReg {
			r = append(r, x)
		}
	}
	for _, m := range in.mems() {
		for _, x := range []Reg{m.Base, m.Index} {
			if x != NoReg {
				r = append(r, x)
			}
		}
	}
	return r
}

// mems lists the memory operands of in.
func (in *Inst) mems() []*Mem {
	switch in.Op {
	case OpLoad, OpStore, OpAddr, OpSeg, OpLookup:
		return []*Mem{&in.Mem}
	case OpDot, OpSplit, OpMac2:
		return []*Mem{&in.Mem, &in.Mem2}
	}
	return nil
}

// pure: the instruction only computes its result (no memory, no trap).
func (in *Inst) pure() bool {
	switch in.Op {
	case OpLoad, OpStore, OpUDiv, OpUDiv32, OpDot, OpSplit, OpLookup, OpMac2, OpUndef:
		return false // OpUndef: no value to compute, share or move
	}
	return true
}

// fold evaluates instructions whose operands are constants, and folds
// constant and scaled indexes into memory operands. Only registers
// written once are taken as known values.
func fold(f *Func) {
	nd := defs(f)
	uses := useCounts(f)
	konst := map[Reg]int64{}
	def := map[Reg]*Inst{}
	walkAll(f, func(n *Node) {
		if n.Kind != NInst {
			return
		}
		in := &n.Inst
		for _, m := range in.mems() {
			foldMem(m, konst, def, nd, uses)
		}
		if in.Dst == NoReg || nd[in.Dst] != 1 {
			return
		}
		def[in.Dst] = in
		if in.pure() && in.Op != OpConst && in.Op != OpToken && in.Op != OpPos && in.Op != OpAddr && in.Op != OpSeg {
			known := true
			var vals [3]int64
			for i, r := range []Reg{in.A, in.B, in.C} {
				if r == NoReg {
					continue
				}
				v, ok := konst[r]
				known = known && ok
				vals[i] = v
			}
			a, b, c := vals[0], vals[1], vals[2]
			if known {
				v := a
				if in.Op == OpSelect {
					v = b
					if c != 0 {
						v = a
					}
				} else {
					var at Type
					if in.A != NoReg {
						at = f.Types[in.A]
					}
					v = eval(in, f.Types[in.Dst], at, a, b)
				}
				*in = Inst{Op: OpConst, Dst: in.Dst, A: NoReg, B: NoReg, C: NoReg, Imm: norm(f.Types[in.Dst], v)}
			}
		}
		if in.Op == OpMul && f.Types[in.Dst] == I32 {
			// x * 2^k: a shift.
			for _, swap := range []bool{false, true} {
				x, k := in.A, in.B
				if swap {
					x, k = k, x
				}
				if v, ok := konst[k]; ok && v > 0 && v&(v-1) == 0 {
					*in = Inst{Op: OpShlI, Dst: in.Dst, A: x, B: NoReg, C: NoReg, Imm: int64(log2(v))}
					break
				}
			}
		}
		if v, ok := konst[in.B]; ok && in.Op == OpUDiv && v > 0 && v&(v-1) == 0 {
			// x / 2^k, unsigned: a shift (a norm's mean over 64).
			*in = Inst{Op: OpShrI, Dst: in.Dst, A: in.A, B: NoReg, C: NoReg, Imm: int64(log2(v))}
		}
		if in.Op == OpConst {
			konst[in.Dst] = in.Imm
		}
	})
	// An if on a known condition is the branch it takes (the speed
	// policy's side of a choice that the size policy's general makes).
	var taken func(nodes []*Node) []*Node
	taken = func(nodes []*Node) []*Node {
		var out []*Node
		for _, n := range nodes {
			n.Body, n.Then, n.Else = taken(n.Body), taken(n.Then), taken(n.Else)
			if c, ok := konst[n.Cond]; ok && n.Kind == NIf {
				if c != 0 {
					out = append(out, n.Then...)
				} else {
					out = append(out, n.Else...)
				}
				continue
			}
			out = append(out, n)
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = taken(*b)
	}
}

func log2(v int64) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}

// foldMem moves a constant index, or the constant of an index plus a
// constant, into the displacement, and an index times a constant into the
// scale. The register the operand then reads must be written once (a
// loop's index counts: it changes only between iterations), so that it
// holds the same value where the memory operand reads it.
// scaled: d multiplies by 2, 4 or 8 (a constant factor or shift), what
// an address's scale does.
func scaled(d *Inst, konst map[Reg]int64) bool {
	switch {
	case d == nil:
		return false
	case d.Op == OpShlI:
		return d.Imm >= 1 && d.Imm <= 3
	case d.Op == OpMul:
		for _, r := range []Reg{d.A, d.B} {
			if v, ok := konst[r]; ok && (v == 2 || v == 4 || v == 8) {
				return true
			}
		}
	}
	return false
}

func foldMem(m *Mem, konst map[Reg]int64, def map[Reg]*Inst, nd, uses []int) {
	for changed := true; changed && m.Index != NoReg; {
		changed = false
		if v, ok := konst[m.Index]; ok {
			m.Disp += v * m.Scale
			m.Index, m.Scale = NoReg, 0
			return
		}
		d := def[m.Index]
		if d == nil {
			return
		}
		switch d.Op {
		case OpAdd:
			for _, p := range [][2]Reg{{d.A, d.B}, {d.B, d.A}} {
				if v, ok := konst[p[1]]; ok && nd[p[0]] == 1 {
					m.Disp += v * m.Scale
					m.Index, changed = p[0], true
					break
				}
			}
			// Two registers: one becomes the base (scale 1 only), the
			// other the index, a scaled one where the other is a scale
			// (which the next round then folds into the scale).
			if !changed && m.Base == NoReg && m.Scale == 1 && nd[d.A] == 1 && nd[d.B] == 1 {
				if _, ok := konst[d.A]; !ok {
					m.Base, m.Index, changed = d.A, d.B, true
					if scaled(def[d.A], konst) && !scaled(def[d.B], konst) {
						m.Base, m.Index = d.B, d.A
					}
				}
			}
		case OpMul:
			if uses[m.Index] > 1 {
				break // the product is there anyway: a scale would repeat it
			}
			for _, p := range [][2]Reg{{d.A, d.B}, {d.B, d.A}} {
				if v, ok := konst[p[1]]; ok && nd[p[0]] == 1 {
					m.Scale *= v
					m.Index, changed = p[0], true
					break
				}
			}
		case OpShlI:
			if nd[d.A] == 1 && uses[m.Index] == 1 {
				m.Scale <<= uint(d.Imm)
				m.Index, changed = d.A, true
			}
		}
	}
}

// licm moves pure instructions out of loops when nothing in the loop
// writes their operands and their result is written only there: inner
// loops first, so that an invariant moves as far out as it can, but not
// out of its op (an op is a kernel of its own). Constants stay: the code
// generator takes them as immediates, and a register held across a loop
// costs more than an immediate in it.
func licm(f *Func) {
	nd := defs(f)
	for _, b := range f.Bodies() {
		*b = hoistIn(*b, nd)
	}
}

// loopWrites are the registers loop n writes: its index, its inner
// loops' and every instruction's result.
func loopWrites(n *Node) map[Reg]bool {
	written := map[Reg]bool{n.Index: true}
	Walk(n.Body, func(x *Node) {
		switch {
		case x.Kind == NInst && x.Inst.Dst != NoReg:
			written[x.Inst.Dst] = true
		case x.Kind == NLoop:
			written[x.Index] = true
		}
	})
	return written
}

// hoistIn processes the loops among nodes and returns nodes with each
// loop's invariants placed before it.
func hoistIn(nodes []*Node, nd []int) []*Node {
	var out []*Node
	for _, n := range nodes {
		switch n.Kind {
		case NLayers, NOp:
			n.Body = hoistIn(n.Body, nd)
			out = append(out, n)
		case NLoop:
			n.Body = hoistIn(n.Body, nd)
			var moved []*Node
			n.Body = hoistOut(n.Body, nd, loopWrites(n), &moved)
			out = append(out, moved...)
			out = append(out, n)
		case NIf:
			n.Then = hoistIn(n.Then, nd)
			n.Else = hoistIn(n.Else, nd)
			out = append(out, n)
		default:
			out = append(out, n)
		}
	}
	return out
}

// hoistOut moves the loop invariants among nodes (a loop's body, or an
// if's branch in it) to moved and returns the rest. From a branch too:
// pure instructions cannot fault, so running one the branch would have
// skipped changes nothing but the time (an address the branch computes
// at every position, in attention's weighted sum).
func hoistOut(nodes []*Node, nd []int, written map[Reg]bool, moved *[]*Node) []*Node {
	var keep []*Node
	for _, x := range nodes {
		switch {
		case x.Kind == NInst && x.Inst.pure() && x.Inst.Op != OpConst && nd[x.Inst.Dst] == 1 && invariant(&x.Inst, written):
			delete(written, x.Inst.Dst)
			*moved = append(*moved, x)
			continue
		case x.Kind == NIf:
			x.Then = hoistOut(x.Then, nd, written, moved)
			x.Else = hoistOut(x.Else, nd, written, moved)
		}
		keep = append(keep, x)
	}
	return keep
}

func invariant(in *Inst, written map[Reg]bool) bool {
	for _, r := range in.Reads() {
		if written[r] {
			return false
		}
	}
	return true
}

// dce removes pure instructions whose result no one reads, until none is
// left.
func dce(f *Func) {
	for {
		used := make([]bool, len(f.Types))
		walkAll(f, func(n *Node) {
			switch n.Kind {
			case NInst:
				for _, r := range n.Inst.Reads() {
					used[r] = true
				}
			case NCall:
				for _, r := range n.Args {
					used[r] = true
				}
			case NLoop:
				for _, r := range n.LoopReads() {
					used[r] = true
				}
			case NIf:
				used[n.Cond] = true
			}
		})
		removed := false
		var sweep func(nodes []*Node) []*Node
		sweep = func(nodes []*Node) []*Node {
			var out []*Node
			for _, n := range nodes {
				if n.Kind == NInst && removable(&n.Inst) && !used[n.Inst.Dst] {
					removed = true
					continue
				}
				n.Body, n.Then, n.Else = sweep(n.Body), sweep(n.Then), sweep(n.Else)
				out = append(out, n)
			}
			return out
		}
		for _, b := range f.Bodies() {
			*b = sweep(*b)
		}
		if !removed {
			return
		}
	}
}

// removable: in only computes its result (a load may go too), so that
// where nothing reads the result it may go.
func removable(in *Inst) bool { return in.Stored() == nil && (in.pure() || in.Op == OpLoad) }

// general keeps, of each Faster if, the general way alone.
func general(f *Func) {
	rewriteNodes(f, func(out []*Node, n *Node) []*Node {
		if n.Kind == NIf && n.Faster {
			return append(out, n.Else...)
		}
		if n.Kind == NIf && n.Skips {
			return append(out, n.Then...)
		}
		return append(out, n)
	})
}

// rewriteNodes rebuilds every list of f's nodes, inner lists first:
// each node becomes what fn appends to out for it (itself, others
// around it, or nothing).
func rewriteNodes(f *Func, fn func(out []*Node, n *Node) []*Node) {
	var rewrite func(nodes []*Node) []*Node
	rewrite = func(nodes []*Node) []*Node {
		var out []*Node
		for _, n := range nodes {
			n.Body, n.Then, n.Else = rewrite(n.Body), rewrite(n.Then), rewrite(n.Else)
			out = fn(out, n)
		}
		return out
	}
	for _, b := range f.Bodies() {
		*b = rewrite(*b)
	}
}
