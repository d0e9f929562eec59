package golden_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tfc/codegen"
	x86 "tfc/codegen/x86_16"
	"tfc/ir"
	"tfc/lir"
)

// The generated side of the comparison: each kernel's ops cut from the
// loop code generator's real build of the same model in the same memory
// model, its bytes counted as tfc size counts them. Its correctness is the
// whole image's (TestMatrix and the self-tests boot every example against
// tfc sim), so here only its size is compared.

// loopSize is a kernel's bytes in the loop generator's build: its ops'
// regions (their code and the arguments after their calls) and the
// instructions of the procedures and subroutines those reach.
type loopSize struct {
	op, subs int
	helpers  int // of subs, in rshr and the lookup routines (shared by every kind of kernel)
	names    []string
}

// loopBuild builds cfg's model with the loop generator in cfg's memory
// model.
func loopBuild(t *testing.T, cfg *config) *codegen.Image {
	t.Helper()
	prompt, err := cfg.p.Tokenizer.Encode(cfg.p.Gen.Prompt, true, false)
	require.NoError(t, err)
	im, err := codegen.Build(cfg.p, prompt, cfg.p.Gen.Steps, codegen.Options{Memory: cfg.memory, Gen: "loop"})
	require.NoError(t, err)
	require.Equal(t, "loop", im.Generator, "%s: the generator (%s)", cfg.file, im.Note)
	require.Equal(t, cfg.memory, im.Memory, "%s: the memory model (%s)", cfg.file, im.Note)
	return im
}

// loopKernel counts the loop build's code for ops (a kernel's, in the
// program's order): their regions (opRegions) and what calls from them
// reach of the procedures and subroutines (reached), by region.
func loopKernel(t *testing.T, p *ir.Program, im *codegen.Image, ops []*ir.Op) loopSize {
	t.Helper()
	prog := im.Main
	mine := opRegions(t, p, prog, ops)
	in := func(a uint32) bool {
		for _, rg := range mine {
			if a >= rg.Start && a < rg.End {
				return true
			}
		}
		return false
	}
	var s loopSize
	var last x86.Placed
	for _, pl := range prog.PlacedWithData() {
		if in(pl.Addr) {
			s.op += pl.Size
			last = pl
		}
	}
	if last.Data == nil && last.Inst.Op == x86.RET {
		s.op-- // forward's, after the last op (the handwritten kernel's is not counted either)
	}
	live := reached(prog, in)
	bySub := map[string]int{}
	var order []string
	for _, rg := range prog.Regions() {
		for _, pl := range prog.Placed() {
			if pl.Addr >= rg.Start && pl.Addr < rg.End && live[pl.Addr] {
				if _, ok := bySub[rg.Name]; !ok {
					order = append(order, rg.Name)
				}
				bySub[rg.Name] += pl.Size
			}
		}
	}
	for _, name := range order {
		n := bySub[name]
		s.subs += n
		if name == "rshr" || strings.HasPrefix(name, "lookup") {
			s.helpers += n
		}
		s.names = append(s.names, fmt.Sprintf("%s %d", name, n))
	}
	return s
}

// opRegions are the regions that hold ops: each op's, or the fusion's that
// holds it (lir.OpNote's names joined by " + "), the same occurrence of
// that name as the op is of its note among the program's ops.
func opRegions(t *testing.T, p *ir.Program, prog *x86.Program, ops []*ir.Op) []x86.Region {
	t.Helper()
	seen := map[string]int{}
	nth := map[*ir.Op]int{}
	p.Ops(func(_ int, op *ir.Op) {
		nth[op] = seen[lir.OpNote(op)]
		seen[lir.OpNote(op)]++
	})
	var mine []x86.Region
	for _, op := range ops {
		note, k := lir.OpNote(op), 0
		found := false
		for _, rg := range prog.Regions() {
			if rg.Start == rg.End || !holds(rg.Name, note) { // (a mark before the op's own)
				continue
			}
			if k == nth[op] {
				if !slices.Contains(mine, rg) {
					mine = append(mine, rg)
				}
				found = true
				break
			}
			k++
		}
		require.True(t, found, "no region of the loop build holds %q (occurrence %d)", note, nth[op])
	}
	return mine
}

// reached marks the instructions outside the op regions (in) that control
// reaches from the calls in them: the procedures and subroutines, only the
// parts of them it reaches (not the entries of rshr for other shifts).
func reached(prog *x86.Program, in func(uint32) bool) map[uint32]bool {
	placed := prog.Placed()
	at := map[uint32]int{}
	for i, pl := range placed {
		at[pl.Addr] = i
	}
	syms := prog.Symbols()
	var work []int
	follow := func(ins x86.Inst) {
		for _, l := range ins.LabelRefs() {
			if i, ok := at[syms[l]]; ok {
				work = append(work, i)
			}
		}
	}
	for _, pl := range placed {
		if in(pl.Addr) && pl.Inst.Op == x86.CALL {
			follow(pl.Inst)
		}
	}
	live := map[uint32]bool{}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		if live[placed[i].Addr] || in(placed[i].Addr) {
			continue
		}
		live[placed[i].Addr] = true
		follow(placed[i].Inst)
		if op := placed[i].Inst.Op; op != x86.RET && op != x86.JMP && i+1 < len(placed) {
			work = append(work, i+1)
		}
	}
	return live
}

// holds reports whether a region's name is note or a fusion of it (a
// note may hold " + " itself: "rope q + rope k").
func holds(name, note string) bool {
	return name == note || strings.HasPrefix(name, note+" + ") || strings.HasSuffix(name, " + "+note) ||
		strings.Contains(name, " + "+note+" + ")
}
