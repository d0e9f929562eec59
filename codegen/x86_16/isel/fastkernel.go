package isel

import (
	"fmt"
	"sort"

	. "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/regalloc"
)

// fast is the fast code generator (-O2). Its kernels are written with
// virtual registers where the register is free (pointers, counters,
// accumulators) and physical ones where an instruction fixes them
// (one-operand imul and div in edx:eax, shifts by cl), then given
// registers by regalloc and appended to the program.
type fast struct {
	*emitter
	prog *ir.Program
	l    *Layout
	// subs are the shared subroutines the code calls, by label: emitted
	// after forward. args are the registers of their arguments.
	subs map[string]*kern
	args map[string]map[int]Reg
}

// kern is a kernel being written: its items, the options of its
// allocation, and its next free virtual register.
type kern struct {
	f    *fast
	k    regalloc.Kernel
	o    regalloc.Options
	next int
}

func (f *fast) kernel(name string) *kern {
	return &kern{f: f, k: regalloc.Kernel{Name: name}}
}

// v returns a fresh virtual register.
func (k *kern) v() Reg {
	k.next++
	return regalloc.V(k.next - 1)
}

func (k *kern) i(op Op, args ...Operand) { k.k.I(op, args...) }
func (k *kern) label(name string)        { k.k.Label(name) }

// in declares arguments: virtuals live at the kernel's entry.
func (k *kern) in(rs ...Reg) {
	for _, r := range rs {
		k.o.LiveIn = append(k.o.LiveIn, vnum(r))
	}
}

func vnum(r Reg) int {
	for n := 0; n < regalloc.MaxVirtual; n++ {
		if regalloc.V(n) == r {
			return n
		}
	}
	panic(fmt.Sprintf("BUG: isel: %v is not a 32-bit virtual register", r))
}

// allocate gives every virtual a register; a failure is a bug of the
// kernel's author.
func (k *kern) allocate() map[int]Reg {
	as, err := regalloc.Allocate(&k.k, k.o)
	if err != nil {
		panic(fmt.Sprintf("BUG: isel: %v\n%s", err, k.k.String()))
	}
	return as
}

// emit allocates the kernel and appends it to the program.
func (k *kern) emit() {
	as := k.allocate()
	if err := regalloc.Rewrite(&k.k, as, k.f.emitter.p); err != nil {
		panic(fmt.Sprintf("BUG: isel: %v", err))
	}
}

// sub returns the label of the shared subroutine name, building it with
// body at its first use, and the registers its arguments (the kernel's
// virtuals 0, 1, ... in LiveIn) were given. Callers load those registers
// and call the label.
func (f *fast) sub(name string, body func(k *kern)) (string, []Reg) {
	if f.subs[name] == nil {
		k := f.kernel(name)
		body(k)
		as := k.allocate()
		f.subs[name] = k
		f.args[name] = as
	}
	as := f.args[name]
	regs := make([]Reg, len(f.subs[name].o.LiveIn))
	for i, n := range f.subs[name].o.LiveIn {
		regs[i] = as[n]
	}
	return name, regs
}

// emitSubs appends the shared subroutines, in name order.
func (f *fast) emitSubs() {
	var names []string
	for n := range f.subs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f.emitter.p.Mark(n)
		f.emitter.p.Label(n)
		if err := regalloc.Rewrite(&f.subs[n].k, f.args[n], f.emitter.p); err != nil {
			panic(fmt.Sprintf("BUG: isel: %v", err))
		}
	}
}

// rshr64 rounds edx:eax right by n into eax (ir.Rshr).
func (k *kern) rshr64(n uint) { k.rshrPair(EAX, EDX, n) }

// rshrPair rounds hi:lo right by n into lo.
func (k *kern) rshrPair(lo, hi Reg, n uint) {
	if n == 0 {
		return
	}
	k.i(ADD, lo, Imm(1<<(n-1)))
	k.i(ADC, hi, Imm(0))
	k.i(SHRD, lo, hi, Imm(n))
}

// loop counts the virtual c down and jumps back to top while it is not
// zero.
func (k *kern) loop(c Reg, top string) {
	k.i(DEC, c)
	k.i(JNE, Label(top))
}
