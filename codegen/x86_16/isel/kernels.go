package isel

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// Standalone kernels, for tests that run one op's code of the small code
// generator alone (the golden tests that compare it with handwritten code).

// SmallScalars are the low-memory scalars the small kernels share with the
// code around them.
type SmallScalars struct {
	Tok, Pos, Next uint16 // words: the current token, its position, the token argmax chose
	// LayerW and LayerC hold this layer's weights and cache: segments
	// (words) in the segmented model, linear addresses (dwords) in the
	// flat one; Layout.LayerPointers gives their values.
	LayerW, LayerC uint16
}

// Scalars returns the addresses of the scalars.
func Scalars() SmallScalars {
	return SmallScalars{Tok: addrTok, Pos: addrPos, Next: addrNext, LayerW: addrLayerW, LayerC: addrLayerC}
}

// LayerPointers are the values the layer loop keeps at LayerW and LayerC
// during layer i.
func (l *Layout) LayerPointers(i int) (w, c uint32) {
	w0, ws := l.layerW()
	c0, cs := l.layerC()
	return w0 + uint32(i)*ws, c0 + uint32(i)*cs
}

// Kernel is one op's code of the small code generator as a standalone
// function (SmallKernel).
type Kernel struct {
	// Prog holds, as marked regions: the op's code (region Name), a RET
	// (region "ret") that it falls into, each subroutine it calls directly
	// or through another one (regions Subs, each entered at the label of its
	// name), and the tables it reads (regions "data: table X", labels
	// "tab.X"). Assemble it at any origin; its first byte is the entry.
	Prog *x86.Program
	Name string
	Subs []string
	// Ops are the ops the code computes: op, or op and a neighbour when the
	// generator fuses them (a matmul and the residual add it feeds, two
	// adjacent ropes); Name is then "A + B".
	Ops []*ir.Op
}

// SmallKernel returns the code SelectSmall emits for op, an op of p laid
// out by l, as a standalone function. It is cut out of a full SelectSmall
// of p, so every instruction is the one a real build has; only where the
// subroutines and tables sit differs.
//
// The caller sets up what a real build's code before the op does: DS =
// ES = 0, the direction flag clear, token and pos at Scalars(), and for an
// op of the layer block LayerW and LayerC (Layout.LayerPointers) and, in
// the segmented model, FS and GS loaded from them.
func SmallKernel(p *ir.Program, l *Layout, op *ir.Op) (*Kernel, error) {
	if why := SmallSupports(p, 0); why != "" {
		return nil, fmt.Errorf("no small code: %s", why)
	}
	full := &x86.Program{}
	if err := SelectSmall(full, p, l, SelectOptions{Steps: 1}); err != nil {
		return nil, err
	}
	// Stand-ins for the runtime's routines that the generation loop calls
	// (print_piece, putc, exit, ...): whatever Assemble finds missing.
	for try := 0; ; try++ {
		_, err := full.Assemble(0x7E00)
		if err == nil {
			break
		}
		missing := undefinedLabel.FindAllStringSubmatch(err.Error(), -1)
		if len(missing) == 0 || try == 3 {
			return nil, fmt.Errorf("BUG: small code: %v", err)
		}
		seen := map[string]bool{}
		for _, m := range missing {
			if !seen[m[1]] {
				seen[m[1]] = true
				full.Label(m[1])
				full.I(x86.RET)
			}
		}
	}
	regions := full.Regions()
	syms := full.Symbols()

	// The ops' regions follow the ops in order, after the generation
	// loop; the subroutines follow the last one.
	var all []*ir.Op
	p.Ops(func(_ int, o *ir.Op) { all = append(all, o) })
	k := &Kernel{}
	at, lastOp := -1, -1
	ri := 0
	for i := 0; i < len(all); i++ {
		name := RegionName(all[i])
		pair := ""
		if i+1 < len(all) {
			pair = name + " + " + RegionName(all[i+1])
		}
		for ri < len(regions) && regions[ri].Name != name && regions[ri].Name != pair {
			ri++
		}
		if ri == len(regions) {
			return nil, fmt.Errorf("BUG: no region of the small code for %s", name)
		}
		covered := all[i : i+1]
		if pair != "" && regions[ri].Name == pair {
			covered = all[i : i+2]
			i++
		}
		for _, o := range covered {
			if o == op {
				at, k.Ops = ri, covered
			}
		}
		lastOp = ri
		ri++
	}
	if at < 0 {
		return nil, fmt.Errorf("%s is not an op of the program", RegionName(op))
	}
	isSub := func(i int) bool { return i > lastOp && !strings.HasPrefix(regions[i].Name, "data: ") }
	containing := func(a uint32) int {
		for i, r := range regions {
			if a >= r.Start && a < r.End {
				return i
			}
		}
		return -1
	}
	tables := map[string]*ir.Table{}
	for _, t := range p.Tables {
		tables["tab."+t.Name] = t
	}

	// The regions to copy: the op's, then the subroutines it reaches.
	placed := full.PlacedWithData()
	code := map[int][]x86.Placed{}
	cut := func(ri int) error {
		r := regions[ri]
		n := uint32(0)
		for _, pl := range placed {
			if pl.Addr >= r.Start && pl.Addr < r.End {
				code[ri] = append(code[ri], pl)
				n += uint32(pl.Size)
			}
		}
		if n != r.End-r.Start {
			return fmt.Errorf("BUG: region %q holds %d bytes of data", r.Name, r.End-r.Start-n)
		}
		return nil
	}
	list := []int{at}
	refs := map[string]bool{}
	var tabs []string
	for li := 0; li < len(list); li++ {
		ri := list[li]
		if err := cut(ri); err != nil {
			return nil, err
		}
		if ri == at && lastOp == at {
			// forward's RET follows the last op.
			if ins := code[ri]; len(ins) > 0 && ins[len(ins)-1].Data == nil && ins[len(ins)-1].Inst.Op == x86.RET {
				code[ri] = ins[:len(ins)-1]
			}
		}
		for _, pl := range code[ri] {
			for _, name := range pl.Inst.LabelRefs() {
				if refs[name] {
					continue
				}
				refs[name] = true
				if tables[name] != nil {
					tabs = append(tabs, name)
					continue
				}
				a := syms[name]
				ci := containing(a)
				switch {
				case ci == ri:
				case ci >= 0 && isSub(ci):
					if !slices.Contains(list, ci) {
						list = append(list, ci)
					}
				case a == regions[ri].End: // just past the code
				default:
					return nil, fmt.Errorf("BUG: %s refers to %q outside its code", regions[ri].Name, name)
				}
			}
		}
	}

	labelsAt := map[uint32][]string{}
	for name := range refs {
		if tables[name] == nil {
			labelsAt[syms[name]] = append(labelsAt[syms[name]], name)
		}
	}
	for _, ns := range labelsAt {
		sort.Strings(ns)
	}
	prog := &x86.Program{}
	for n, ri := range list {
		r := regions[ri]
		prog.Mark(r.Name)
		if n > 0 {
			k.Subs = append(k.Subs, r.Name)
		}
		for _, pl := range code[ri] {
			for _, name := range labelsAt[pl.Addr] {
				if containing(pl.Addr) == ri {
					prog.Label(name)
				}
			}
			if pl.Data != nil {
				prog.DB(pl.Data...) // arguments that follow a call
				continue
			}
			prog.Add(pl.Inst)
		}
		// A label just past the code (not another region's).
		for _, name := range labelsAt[r.End] {
			if ci := containing(r.End); ci < 0 || !slices.Contains(list, ci) {
				prog.Label(name)
			}
		}
		if n == 0 {
			k.Name = r.Name
			prog.Mark("ret")
			prog.I(x86.RET)
		}
	}
	for _, name := range tabs {
		t := tables[name]
		prog.Mark("data: table " + t.Name)
		prog.Align(4, 0)
		prog.Label(name)
		prog.DB(tableBytes(t, inlineRopes(p))...)
	}
	k.Prog = prog
	return k, nil
}

var undefinedLabel = regexp.MustCompile(`undefined label "([^"]+)"`)
