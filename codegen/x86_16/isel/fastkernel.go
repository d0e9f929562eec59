package isel

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	x86 "tfc/codegen/x86_16"
	"tfc/regalloc"
)

// fast is the fast code generator (-O2). Its kernels are written with
// virtual registers where the register is free (pointers, counters,
// accumulators) and physical ones where an instruction fixes them
// (one-operand imul and div in edx:eax, shifts by cl), then given
// registers by regalloc and appended to the program.
//
// What makes code fast under QEMU's TCG, measured: straight-line code
// (a loop pass ends a translation block, which stores the guest registers
// back), and few memory operands (each one checks the TLB and makes TCG
// store the registers it changed first); a register operation costs much
// less. Hence loops unrolled with displacements, values kept in registers
// where the seven allow, and a branch kept where it saves memory operands.
type fast struct {
	*emitter
	// subs are the subroutines the code calls, by label, and the
	// registers regalloc gave their virtuals; marks name their regions.
	subs   map[string]*kern
	assign map[string]map[int]x86.Reg
	marks  map[string]string
	// The op being selected: its number in program order and its region.
	opNum    int
	opRegion string
	trace    bool // SelectOptions.Trace
	// sampling: the sampler reads its parameters from SamplingAddr (a
	// typed prompt's parameter lines set them).
	sampling bool
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
func (k *kern) v() x86.Reg {
	k.next++
	return regalloc.V(k.next - 1)
}

func (k *kern) i(op x86.Op, args ...x86.Operand) { k.k.I(op, args...) }
func (k *kern) label(name string)                { k.k.Label(name) }

// in declares arguments: virtuals live at the kernel's entry.
func (k *kern) in(rs ...x86.Reg) {
	for _, r := range rs {
		k.o.LiveIn = append(k.o.LiveIn, vnum(r))
	}
}

// vnum is the number of a 32-bit virtual register.
func vnum(r x86.Reg) int {
	n := int(r) - int(regalloc.V(0))
	if n < 0 || n >= regalloc.MaxVirtual {
		panic(fmt.Sprintf("BUG: isel: %v is not a 32-bit virtual register", r))
	}
	return n
}

// w16 and b8 are the low 16 and 8 bits of a virtual register.
func w16(r x86.Reg) x86.Reg { return regalloc.V16(vnum(r)) }
func b8(r x86.Reg) x86.Reg  { return regalloc.V8(vnum(r)) }

// allocate gives every virtual a register; a failure is a bug of the
// kernel's author.
func (k *kern) allocate() map[int]x86.Reg {
	as, err := regalloc.Allocate(&k.k, k.o)
	if err != nil {
		panic(fmt.Sprintf("BUG: isel: %v\n%s", err, k.k.String()))
	}
	return as
}

// sub returns the label of the shared subroutine name, building it with
// body at its first use, and the registers its arguments (the kernel's
// virtuals 0, 1, ... in LiveIn) were given. Callers load those registers
// and call the label.
func (f *fast) sub(name string, body func(k *kern)) (string, []x86.Reg) {
	return f.subMarked(name, name, body)
}

func (f *fast) subMarked(name, mark string, body func(k *kern)) (string, []x86.Reg) {
	if f.subs[name] == nil {
		k := f.kernel(name)
		body(k)
		f.subs[name] = k
		f.assign[name] = k.allocate()
		f.marks[name] = mark
	}
	as := f.assign[name]
	regs := make([]x86.Reg, len(f.subs[name].o.LiveIn))
	for i, n := range f.subs[name].o.LiveIn {
		regs[i] = as[n]
	}
	return name, regs
}

// opSub makes the kernel of the op being selected a subroutine of its own
// (its region named after the op), which forward calls, so that it takes
// part in the placement of emitSubs.
func (f *fast) opSub(body func(k *kern)) {
	name, _ := f.subMarked(fmt.Sprintf("op.%d", f.opNum), f.opRegion, func(k *kern) {
		body(k)
		k.i(x86.RET)
	})
	f.i(x86.CALL, x86.Label(name))
}

// pageSize is the unit of QEMU's translated code: a jump to another page
// is not chained to its target but looked up, and a translation block
// that crosses a page costs more.
const pageSize = 4096

// ErrKernelTooBig: a kernel's unrolled code is too long for its own
// branches (rel16), as a matmul over thousands of columns is.
var ErrKernelTooBig = errors.New("a kernel's unrolled code is more than its branches reach")

// emitSubs appends the subroutines, each within a page where it fits:
// first fit by decreasing size into pages, each page aligned. A page's
// padding is the region "page alignment".
func (f *fast) emitSubs() error {
	type sub struct {
		name string
		size int
	}
	var subs []sub
	for n, k := range f.subs {
		var p x86.Program
		if err := regalloc.Rewrite(&k.k, f.assign[n], &p); err != nil {
			panic(fmt.Sprintf("BUG: isel: %v", err))
		}
		b, err := p.Assemble(0)
		if err != nil && strings.Contains(err.Error(), "out of rel16 range") {
			return fmt.Errorf("%w (%s: %v)", ErrKernelTooBig, n, err)
		}
		if err != nil {
			panic(fmt.Sprintf("BUG: isel: %s: %v", n, err))
		}
		subs = append(subs, sub{n, len(b)})
	}
	sort.Slice(subs, func(i, j int) bool {
		if subs[i].size != subs[j].size {
			return subs[i].size > subs[j].size
		}
		return subs[i].name < subs[j].name
	})
	var pages [][]string
	var free []int
	for _, s := range subs {
		i := 0
		for i < len(pages) && free[i] < s.size {
			i++
		}
		if i == len(pages) {
			pages = append(pages, nil)
			free = append(free, max(0, pageSize-s.size%pageSize))
			if s.size%pageSize == 0 {
				free[i] = 0
			}
			pages[i] = append(pages[i], s.name)
			continue
		}
		pages[i] = append(pages[i], s.name)
		free[i] -= s.size
	}
	for _, page := range pages {
		f.emitter.p.Mark("page alignment")
		f.emitter.p.Align(pageSize, 0)
		for _, n := range page {
			f.emitter.p.Mark(f.marks[n])
			f.emitter.p.Label(n)
			if err := regalloc.Rewrite(&f.subs[n].k, f.assign[n], f.emitter.p); err != nil {
				panic(fmt.Sprintf("BUG: isel: %v", err))
			}
		}
	}
	return nil
}

// rshr64 rounds edx:eax right by n into eax (ir.Rshr).
func (k *kern) rshr64(n uint) { k.rshrPair(x86.EAX, x86.EDX, n) }

// rshrPair rounds hi:lo right by n into lo.
func (k *kern) rshrPair(lo, hi x86.Reg, n uint) {
	if n == 0 {
		return
	}
	k.i(x86.ADD, lo, x86.Imm(1<<(n-1)))
	k.i(x86.ADC, hi, x86.Imm(0))
	k.i(x86.SHRD, lo, hi, x86.Imm(n))
}

// pointParam sets the virtual r to a param's address (flat: linear, for
// a per-layer param within this layer's region) or, segmented, to its
// offset in ES, which it sets (through ax).
func (k *kern) pointParam(r x86.Reg, loc *ParamLoc) {
	if k.f.seg {
		off := loc.Addr
		if loc.PerLayer {
			k.i(x86.MOV, x86.AX, low16(addrLayerW))
		} else {
			k.i(x86.MOV, x86.AX, x86.Imm(int64(loc.Addr>>4)))
			off = loc.Addr & 15
		}
		k.i(x86.MOV, x86.ES, x86.AX)
		k.i(x86.MOV, r, x86.Imm(int64(off)))
		return
	}
	if loc.PerLayer {
		k.i(x86.MOV, r, low32(addrLayerW))
		if loc.Addr != 0 {
			k.i(x86.ADD, r, x86.Imm(int64(loc.Addr)))
		}
		return
	}
	k.i(x86.MOV, r, x86.Imm(int64(loc.Addr)))
}

// unroll is the number of elements a loop body handles: the largest of
// 8, 4, 2, 1 that divides n.
func unroll(n int) int {
	for _, u := range []int{8, 4, 2} {
		if n%u == 0 {
			return u
		}
	}
	return 1
}

// elems emits a loop over n elements of vectors at fixed addresses: an
// index counts down through them and a pass handles unroll(n) of them
// with displacements, body once per element of the pass.
func (k *kern) elems(n int, body func(el elem)) {
	u := unroll(n)
	c := k.v()
	k.i(x86.MOV, c, x86.Imm(int64(n)))
	top := k.f.fresh("el")
	k.label(top)
	for i := 0; i < u; i++ {
		body(elem{c, i, u})
	}
	k.i(x86.SUB, c, x86.Imm(int64(u)))
	k.i(x86.JNE, x86.Label(top))
}

// elem is element i of the group of u that a loop pass handles: the
// index c counts down from n by u, so that the element is number c−u+i.
type elem struct {
	c    x86.Reg
	i, u int
}

// at is the element's dword in the vector at addr.
func (el elem) at(addr uint32) x86.Mem { return x86.D(el.scaled(x86.NoReg, 4, int32(addr))) }

// scaled is the element's item of size bytes in the array at base+disp.
func (el elem) scaled(base x86.Reg, size int, disp int32) x86.Mem {
	return x86.Ptr32(base, el.c, size, disp+int32(size*(el.i-el.u)))
}

// unpack puts count packed signed values of eb bytes (1 or 2) in eax one
// after another, sign-extended, calling use(i) after each. mem gives the
// memory operand (without a size) at a byte offset. They are read a dword
// at a time (a memory operand costs more than a few register operations)
// into t: each value but the dword's last is sign-extended from its low
// bits and shifted out, the last is what remains.
func (k *kern) unpack(eb, count int, mem func(off int32) x86.Mem, t x86.Reg, use func(i int)) {
	n := 4 / eb
	for i := 0; i < count; {
		if i+n > count {
			if eb == 1 {
				k.i(x86.MOVSX, x86.EAX, x86.B(mem(int32(i))))
			} else {
				k.i(x86.MOVSX, x86.EAX, x86.W(mem(int32(eb*i))))
			}
			use(i)
			i++
			continue
		}
		k.i(x86.MOV, t, x86.D(mem(int32(eb*i))))
		for j := 0; j < n; j++ {
			switch {
			case j == n-1:
				k.i(x86.MOV, x86.EAX, t)
			case eb == 1:
				k.i(x86.MOVSX, x86.EAX, b8(t))
			default:
				k.i(x86.MOVSX, x86.EAX, w16(t))
			}
			if j < n-1 {
				k.i(x86.SAR, t, x86.Imm(int64(8*eb)))
			}
			use(i + j)
		}
		i += n
	}
}
