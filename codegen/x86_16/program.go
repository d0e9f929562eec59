package x86_16

import (
	"errors"
	"fmt"
)

type itemKind uint8

const (
	itInst itemKind = iota
	itLabel
	itData  // raw bytes
	itRef   // dw/dd of a label address
	itAlign // pad to a multiple of n
	itMark  // start of a named region
	itPad   // pad to an offset from org
	itEqu   // a label with a fixed address (add), no bytes
)

type item struct {
	kind itemKind
	inst Inst
	name string // label, mark, or referenced label
	data []byte
	n    int   // itRef: 2 or 4 bytes; itAlign: alignment; itPad: offset; itData: Times count
	add  int64 // itRef addend
	fill byte  // itAlign, itPad
}

// Program is a sequence of instructions, labels and data, assembled as one
// block starting at an origin address.
type Program struct {
	items []item

	// Results of the last successful Assemble.
	org       uint32
	assembled bool
	addrs     []uint32
	sizes     []int
	long      []bool
	symbols   map[string]uint32
}

// I appends an instruction. Errors in it are reported by Assemble.
func (p *Program) I(op Op, args ...Operand) {
	p.Add(Inst{Op: op, Args: append([]Operand(nil), args...)})
}

// Add appends an already built instruction.
func (p *Program) Add(in Inst) {
	p.items = append(p.items, item{kind: itInst, inst: in})
	p.assembled = false
}

func (p *Program) push(it item) {
	p.items = append(p.items, it)
	p.assembled = false
}

// Label defines name at the current position.
func (p *Program) Label(name string) { p.push(item{kind: itLabel, name: name}) }

// Equ defines name as the fixed address addr (code outside the program,
// such as the boot sector's routines).
func (p *Program) Equ(name string, addr uint32) {
	p.push(item{kind: itEqu, name: name, add: int64(addr)})
}

// Refers reports whether an instruction or data item refers to name.
func (p *Program) Refers(name string) bool {
	for i := range p.items {
		for _, r := range p.items[i].references() {
			if r == name {
				return true
			}
		}
	}
	return false
}

// Mark starts a region named name that lasts until the next Mark; Regions
// reports their sizes (per-operation size reports).
func (p *Program) Mark(name string) { p.push(item{kind: itMark, name: name}) }

// DB appends raw bytes.
func (p *Program) DB(b ...byte) { p.push(item{kind: itData, data: append([]byte(nil), b...)}) }

// DW appends little-endian words.
func (p *Program) DW(v ...uint16) {
	var b []byte
	for _, w := range v {
		b = putLE(b, int64(w), 2)
	}
	p.push(item{kind: itData, data: b})
}

// DD appends little-endian dwords.
func (p *Program) DD(v ...uint32) {
	var b []byte
	for _, d := range v {
		b = putLE(b, int64(d), 4)
	}
	p.push(item{kind: itData, data: b})
}

// DWAddr appends the 16-bit address of label+add; DDAddr the 32-bit one
// (e.g. a GDT descriptor's base).
func (p *Program) DWAddr(label string, add int64) {
	p.push(item{kind: itRef, name: label, n: 2, add: add})
}
func (p *Program) DDAddr(label string, add int64) {
	p.push(item{kind: itRef, name: label, n: 4, add: add})
}

// Times appends n copies of b.
func (p *Program) Times(n int, b byte) {
	if n < 0 {
		p.push(item{kind: itData, n: n}) // reported by Assemble
		return
	}
	d := make([]byte, n)
	for i := range d {
		d[i] = b
	}
	p.push(item{kind: itData, data: d})
}

// Align pads with fill until the address (org included) is a multiple of n.
func (p *Program) Align(n int, fill byte) { p.push(item{kind: itAlign, n: n, fill: fill}) }

// PadTo pads with fill up to offset n from org (a boot sector's signature
// goes at 510). It is an error if the program is already past n.
func (p *Program) PadTo(n int, fill byte) { p.push(item{kind: itPad, n: n, fill: fill}) }

// Len is the number of items (instructions, labels, data) appended so far.
func (p *Program) Len() int { return len(p.items) }

// Last is the last item appended, where it is an instruction.
func (p *Program) Last() (Inst, bool) {
	if n := len(p.items); n > 0 && p.items[n-1].kind == itInst {
		return p.items[n-1].inst, true
	}
	return Inst{}, false
}

// DropLast removes the last item appended.
func (p *Program) DropLast() {
	p.items = p.items[:len(p.items)-1]
	p.assembled = false
}

// Insts lists the program's instructions in order.
func (p *Program) Insts() []Inst {
	var ins []Inst
	for _, it := range p.items {
		if it.kind == itInst {
			ins = append(ins, it.inst)
		}
	}
	return ins
}

// Expand replaces each instruction for which fn returns instructions by
// them (labels, marks and data stay as they are).
func (p *Program) Expand(fn func(in Inst) []Inst) {
	out := make([]item, 0, len(p.items))
	for _, it := range p.items {
		if it.kind == itInst {
			if ins := fn(it.inst); ins != nil {
				for _, in := range ins {
					out = append(out, item{kind: itInst, inst: in})
				}
				continue
			}
		}
		out = append(out, it)
	}
	p.items = out
	p.assembled = false
}

// references lists the label names an item uses.
func (it *item) references() []string {
	switch it.kind {
	case itRef:
		return []string{it.name}
	case itInst:
		return it.inst.LabelRefs()
	}
	return nil
}

// LabelRefs lists the labels an instruction refers to: branch targets,
// label immediates and label displacements.
func (in Inst) LabelRefs() []string {
	var names []string
	var walk func(Operand)
	walk = func(o Operand) {
		switch o := o.(type) {
		case Mem:
			if o.Label != "" {
				names = append(names, o.Label)
			}
		case ImmLabel:
			names = append(names, o.Name)
		case SizedImm:
			walk(o.Val)
		case Label:
			names = append(names, string(o))
		case Short:
			walk(o.To)
		case Near:
			walk(o.To)
		case Far:
			if o.Label != "" {
				names = append(names, o.Label)
			}
		}
	}
	for _, a := range in.Args {
		walk(a)
	}
	return names
}

const maxErrors = 20

// Assemble lays the program out at org and returns its bytes. Jumps to
// labels start short and are lengthened until every rel8 reaches (sizes
// only grow, so this reaches a fixed point).
func (p *Program) Assemble(org uint32) ([]byte, error) {
	p.assembled = false
	lay, err := p.layout(org)
	if err != nil {
		return nil, err
	}
	return p.emit(org, lay)
}

// Size is the program's length in bytes laid out at org, whether or not
// every branch reaches its target: what tells a program too large for its
// segment from one with a bug.
func (p *Program) Size(org uint32) (int, error) {
	lay, err := p.layout(org)
	if err != nil {
		return 0, err
	}
	n := len(p.items)
	if n == 0 {
		return 0, nil
	}
	return int(lay.addrs[n-1]-org) + lay.sizes[n-1], nil
}

// laidOut is where layout put every item.
type laidOut struct {
	addrs   []uint32
	sizes   []int
	long    []bool
	symbols map[string]uint32
}

// layout checks the labels and places every item at org, with each
// relaxable branch as short as it can be.
func (p *Program) layout(org uint32) (*laidOut, error) {
	var errs []error
	fail := func(i int, err error) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf("item %d: %w", i, err))
		}
	}

	defined := map[string]int{}
	for i, it := range p.items {
		if it.kind != itLabel && it.kind != itEqu {
			continue
		}
		if !validLabel(it.name) {
			fail(i, fmt.Errorf("invalid label name %q", it.name))
		} else if j, dup := defined[it.name]; dup {
			fail(i, fmt.Errorf("label %q already defined at item %d", it.name, j))
		}
		defined[it.name] = i
	}
	for i := range p.items {
		for _, name := range p.items[i].references() {
			if _, ok := defined[name]; !ok {
				fail(i, fmt.Errorf("undefined label %q", name))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	n := len(p.items)
	sizes := make([]int, n)
	long := make([]bool, n)
	relax := make([]bool, n)
	nearSize := make([]int, n)
	sizing := &encCtx{sizing: true}
	for i := range p.items {
		it := &p.items[i]
		switch it.kind {
		case itInst:
			relax[i] = it.inst.isRelaxable()
			b, err := it.inst.encode(sizing)
			if err != nil {
				fail(i, err)
				continue
			}
			sizes[i] = len(b)
			if relax[i] {
				sizing.long = true
				nb, err := it.inst.encode(sizing)
				sizing.long = false
				if err != nil {
					panic("BUG: near form of a relaxable branch fails: " + err.Error())
				}
				nearSize[i] = len(nb)
			}
		case itData:
			if it.n < 0 {
				fail(i, fmt.Errorf("times %d: negative count", it.n))
			}
			sizes[i] = len(it.data)
		case itRef:
			sizes[i] = it.n
		case itAlign:
			if it.n <= 0 {
				fail(i, fmt.Errorf("align %d: must be positive", it.n))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	addrs := make([]uint32, n)
	symbols := map[string]uint32{}
	for {
		addr := uint64(org)
		for i := range p.items {
			it := &p.items[i]
			addrs[i] = uint32(addr)
			switch it.kind {
			case itLabel:
				symbols[it.name] = uint32(addr)
			case itEqu:
				symbols[it.name] = uint32(it.add)
			case itAlign:
				sizes[i] = int((uint64(it.n) - addr%uint64(it.n)) % uint64(it.n))
			case itPad:
				sizes[i] = max(0, int(uint64(org)+uint64(it.n)-addr))
			}
			addr += uint64(sizes[i])
		}
		if addr > 1<<32 {
			return nil, fmt.Errorf("program does not fit in 32-bit address space")
		}
		changed := false
		for i := range p.items {
			if !relax[i] || long[i] {
				continue
			}
			name, _ := p.items[i].inst.labelTarget()
			d := int64(symbols[name]) - int64(addrs[i]) - int64(sizes[i])
			if !fitsInt8(d) {
				long[i], sizes[i], changed = true, nearSize[i], true
			}
		}
		if !changed {
			break
		}
	}
	return &laidOut{addrs, sizes, long, symbols}, nil
}

// emit encodes the program as layout placed it.
func (p *Program) emit(org uint32, lay *laidOut) ([]byte, error) {
	var errs []error
	fail := func(i int, err error) {
		if len(errs) < maxErrors {
			errs = append(errs, fmt.Errorf("item %d: %w", i, err))
		}
	}
	n := len(p.items)
	addrs, sizes, long, symbols := lay.addrs, lay.sizes, lay.long, lay.symbols
	lookup := func(name string) (uint32, error) {
		a, ok := symbols[name]
		if !ok {
			return 0, fmt.Errorf("undefined label %q", name)
		}
		return a, nil
	}
	var out []byte
	if n > 0 {
		out = make([]byte, 0, int(addrs[n-1]-org)+sizes[n-1])
	}
	for i := range p.items {
		it := &p.items[i]
		var b []byte
		switch it.kind {
		case itInst:
			var err error
			b, err = it.inst.encode(&encCtx{pc: addrs[i], lookup: lookup, long: long[i]})
			if err != nil {
				fail(i, err)
				continue
			}
		case itData:
			b = it.data
		case itRef:
			v := int64(symbols[it.name]) + it.add
			if (it.n == 2 && (v < -0x8000 || v > 0xFFFF)) || v < -(1<<31) || v > 0xFFFFFFFF {
				fail(i, fmt.Errorf("address %s of %q does not fit %d bytes", hexNum(v), it.name, it.n))
				continue
			}
			b = putLE(nil, v, it.n)
		case itPad:
			if off := int64(addrs[i]) - int64(org); off > int64(it.n) {
				fail(i, fmt.Errorf("pad to offset %d: already at offset %d", it.n, off))
				continue
			}
			fallthrough
		case itAlign:
			for k := 0; k < sizes[i]; k++ {
				b = append(b, it.fill)
			}
		}
		if len(b) != sizes[i] {
			panic(fmt.Sprintf("BUG: item %d (%v) is %d bytes, laid out as %d", i, it.inst, len(b), sizes[i]))
		}
		out = append(out, b...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.org, p.assembled = org, true
	p.addrs, p.sizes, p.long, p.symbols = addrs, sizes, long, symbols
	return out, nil
}

// Symbols returns the label addresses of the last successful Assemble.
func (p *Program) Symbols() map[string]uint32 {
	m := make(map[string]uint32, len(p.symbols))
	for k, v := range p.symbols {
		m[k] = v
	}
	return m
}

// Region is a named byte range of the assembled program.
type Region struct {
	Name       string
	Start, End uint32 // addresses, End exclusive
}

// Regions returns the Mark regions of the last successful Assemble, in
// program order.
func (p *Program) Regions() []Region {
	if !p.assembled {
		return nil
	}
	var rs []Region
	end := p.org
	if n := len(p.items); n > 0 {
		end = p.addrs[n-1] + uint32(p.sizes[n-1])
	}
	for i, it := range p.items {
		if it.kind != itMark {
			continue
		}
		if len(rs) > 0 {
			rs[len(rs)-1].End = p.addrs[i]
		}
		rs = append(rs, Region{Name: it.name, Start: p.addrs[i], End: end})
	}
	return rs
}

// Placed is an instruction with its address and size after Assemble.
type Placed struct {
	Inst Inst
	Addr uint32
	Size int
	Data []byte // a data item's bytes (PlacedWithData), else nil
}

// Placed returns every instruction of the last successful Assemble with
// its address and encoded size.
func (p *Program) Placed() []Placed {
	if !p.assembled {
		return nil
	}
	var ps []Placed
	for i, it := range p.items {
		if it.kind == itInst {
			ps = append(ps, Placed{Inst: it.inst, Addr: p.addrs[i], Size: p.sizes[i]})
		}
	}
	return ps
}

// PlacedWithData is Placed with the raw data items (DB, DW, DD) too, in
// program order: a data item has Data set and a zero Inst.
func (p *Program) PlacedWithData() []Placed {
	if !p.assembled {
		return nil
	}
	var ps []Placed
	for i, it := range p.items {
		switch it.kind {
		case itInst:
			ps = append(ps, Placed{Inst: it.inst, Addr: p.addrs[i], Size: p.sizes[i]})
		case itData:
			ps = append(ps, Placed{Addr: p.addrs[i], Size: p.sizes[i], Data: it.data})
		}
	}
	return ps
}
