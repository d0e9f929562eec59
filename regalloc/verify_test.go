package regalloc

import (
	"fmt"
	"sort"

	x86 "tfc/codegen/x86_16"
)

// verify checks an allocation without the interference graph: it follows,
// along every path of the kernel, which values each physical register
// holds (a value is named by the node, virtual or physical, that the
// source kernel keeps it in), and fails when an instruction reads a node
// whose register no longer holds its value, or an exit lacks a result.
// A register holds several values after a mov between registers that got
// the same one, or a mov whose source is still intact.
func verify(k *Kernel, o Options, assign map[int]x86.Reg) error {
	a, err := analyze(k, &o)
	if err != nil {
		return err
	}
	reg := func(n int) int {
		if n < physNodes {
			return n
		}
		r, ok := assign[n-physNodes]
		if !ok {
			panic(fmt.Sprintf("v%d unassigned", n-physNodes))
		}
		f, _ := family(r)
		return f
	}
	for n, r := range o.Pinned {
		if assign[n] != r {
			return fmt.Errorf("v%d pinned to %s, got %s", n, r, assign[n])
		}
	}
	for n, r := range assign {
		if r == x86.ESP || r < x86.EAX || r > x86.EDI {
			return fmt.Errorf("v%d got %s", n, r)
		}
	}
	type state [physNodes]map[int]bool // nil map: not reached yet
	clone := func(s state) state {
		var t state
		for f := range s {
			t[f] = map[int]bool{}
			for n := range s[f] {
				t[f][n] = true
			}
		}
		return t
	}
	meet := func(dst *state, src state) bool { // dst ∩= src; reports change
		changed := false
		if dst[0] == nil {
			*dst = clone(src)
			return true
		}
		for f := range dst {
			for n := range dst[f] {
				if !src[f][n] {
					delete(dst[f], n)
					changed = true
				}
			}
		}
		return changed
	}
	var entry state
	for f := range entry {
		entry[f] = map[int]bool{f: true}
	}
	for _, n := range o.LiveIn {
		entry[reg(physNodes+n)][physNodes+n] = true
	}
	ni := len(a.item)
	in := make([]state, ni+1)
	check := func(s state, n int, where string) error {
		if !s[reg(n)][n] {
			held := []string{}
			for m := range s[reg(n)] {
				held = append(held, nodeName(m))
			}
			sort.Strings(held)
			return fmt.Errorf("%s: %s reads %s, but %s holds %v", k.Name, where, nodeName(n), nodeName(reg(n)), held)
		}
		return nil
	}
	var exitErr error
	if ni == 0 {
		return nil
	}
	meet(&in[0], entry)
	for changed := true; changed; {
		changed = false
		for j := 0; j < ni; j++ {
			if in[j][0] == nil {
				continue
			}
			s := clone(in[j])
			where := a.where(j)
			for _, ac := range a.eff[j].acc {
				if ac.read {
					n, _ := nodeOf(ac.reg)
					if err := check(s, n, where); err != nil {
						return err
					}
				}
			}
			d, src, mov := moveRegs(k.Items[a.item[j]].Inst)
			srcIntact := mov && s[reg(src)][src]
			for _, ac := range a.eff[j].acc {
				if ac.write {
					n, _ := nodeOf(ac.reg)
					s[reg(n)] = map[int]bool{n: true}
				}
			}
			if srcIntact && reg(d) == reg(src) {
				s[reg(d)][src] = true
			}
			for _, t := range a.succ[j] {
				if t == exitPos {
					for _, n := range o.LiveOut {
						if err := check(s, physNodes+n, "exit after "+where); err != nil && exitErr == nil {
							exitErr = err
						}
					}
					continue
				}
				if meet(&in[t], s) {
					changed = true
				}
			}
		}
	}
	return exitErr
}
