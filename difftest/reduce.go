package difftest

import (
	"strconv"
)

// Reduce shrinks p while it still fails as f did (the same kind of failure
// in the same configuration): fewer layers, steps and statements, simpler
// expressions, smaller dimensions, fewer declarations. The result is the
// reproducer kept under testdata/.
func Reduce(p *Program, f Failure) *Program {
	configs := []Config{}
	for _, c := range Configs {
		if c.String() == f.Config {
			configs = append(configs, c)
		}
	}
	return reduceWith(p, func(q *Program) bool {
		r := Run(q.Name, q.String(), RunOptions{Configs: configs})
		for _, g := range r.Failures {
			if g.Kind == f.Kind && g.Config == f.Config {
				return true
			}
		}
		return false
	})
}

// reduceWith takes the first candidate that still fails, until none does.
func reduceWith(p *Program, fails func(*Program) bool) *Program {
	for {
		progress := false
		for _, c := range candidates(p) {
			if fails(c) {
				p, progress = c, true
				break
			}
		}
		if !progress {
			return p
		}
	}
}

// candidates are the one-step simplifications of p, the largest first.
func candidates(p *Program) []*Program {
	var out []*Program
	edit := func(f func(q *Program) bool) {
		q := p.Clone()
		if f(q) {
			out = append(out, q)
		}
	}
	// The generation: fewer steps, no prompt, a plain sampler.
	edit(func(q *Program) bool {
		if q.Gen.Steps <= 2 && q.Gen.Steps != 0 {
			return false
		}
		q.Gen.Steps = max(q.Gen.Steps/2, 2)
		return true
	})
	edit(func(q *Program) bool { ok := q.Gen.Prompt != ""; q.Gen.Prompt = ""; return ok })
	// Statements, each left out (the last, which picks the token, stays).
	for b, blk := range p.blocks() {
		for i := range *blk {
			if b == 2 && i == len(*blk)-1 {
				continue
			}
			edit(func(q *Program) bool {
				s := q.blocks()[b]
				*s = append((*s)[:i:i], (*s)[i+1:]...)
				return true
			})
		}
	}
	// Constants: smaller values.
	for i, c := range p.Consts {
		v, err := strconv.Atoi(c.Expr)
		if err != nil {
			continue
		}
		for _, w := range []int{1, 2, v / 2, v - 1} {
			if w >= 1 && w < v {
				edit(func(q *Program) bool { q.Consts[i].Expr = strconv.Itoa(w); return true })
			}
		}
	}
	// Expressions: a call replaced by one of its arguments, or an
	// argument call by a bound value.
	for b, blk := range p.blocks() {
		for i, s := range *blk {
			for _, path := range calls(s.Call) {
				edit(func(q *Program) bool {
					st := (*q.blocks()[b])[i]
					e := at(st.Call, path)
					if e.Op == "" || len(e.Args) == 0 {
						return false
					}
					for _, a := range e.Args {
						if len(path) == 0 && a.Op == "" {
							continue // a statement's root stays a call
						}
						if a.Op != "" || isValue(p, a.Name) {
							*e = *a.clone()
							return true
						}
					}
					return false
				})
			}
		}
	}
	// Options left out.
	for b, blk := range p.blocks() {
		for i, s := range *blk {
			for _, path := range calls(s.Call) {
				if len(at(s.Call, path).Opts) == 0 {
					continue
				}
				edit(func(q *Program) bool {
					at((*q.blocks()[b])[i].Call, path).Opts = nil
					return true
				})
			}
		}
	}
	// Declarations: no quant declarations, int16 caches, unused params.
	edit(func(q *Program) bool { ok := len(q.Quants) > 0; q.Quants = nil; return ok })
	for i := range p.Quants {
		edit(func(q *Program) bool { q.Quants = append(q.Quants[:i:i], q.Quants[i+1:]...); return true })
	}
	for i, c := range p.Caches {
		if c.Type != "int16" {
			edit(func(q *Program) bool { q.Caches[i].Type = "int16"; return true })
		}
	}
	used := usedNames(p)
	for i, q := range p.Params {
		if !used[q.Name] {
			edit(func(q *Program) bool { q.Params = append(q.Params[:i:i], q.Params[i+1:]...); return true })
		}
	}
	return out
}

// calls lists the paths (argument indexes from the root) of every call
// below and including e, the root first.
func calls(e *Expr) [][]int {
	var out [][]int
	var rec func(e *Expr, path []int)
	rec = func(e *Expr, path []int) {
		if e.Op == "" {
			return
		}
		out = append(out, append([]int(nil), path...))
		for i, a := range e.Args {
			rec(a, append(path, i))
		}
	}
	rec(e, nil)
	return out
}

func at(e *Expr, path []int) *Expr {
	for _, i := range path {
		e = e.Args[i]
	}
	return e
}

// isValue says whether name is a value some statement binds.
func isValue(p *Program, name string) bool {
	for _, blk := range p.blocks() {
		for _, s := range *blk {
			if s.Target == name {
				return true
			}
		}
	}
	return false
}

// usedNames are the names the forward pass refers to.
func usedNames(p *Program) map[string]bool {
	used := map[string]bool{}
	var rec func(e *Expr)
	rec = func(e *Expr) {
		used[e.Name] = true
		for _, a := range e.Args {
			rec(a)
		}
	}
	for _, blk := range p.blocks() {
		for _, s := range *blk {
			rec(s.Call)
		}
	}
	return used
}
