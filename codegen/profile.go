package codegen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"tfc/ir"
	"tfc/lir"
)

// Profile is what a profile build (Options.Profile, the loop code
// generator) reported on the debug console: the time stamp counter's
// advance over the generation and each op's share, per forward pass.
// Under QEMU's -icount shift=0 the counts are guest instructions, exact.
type Profile struct {
	Total, Steps uint64
	Ops          []OpCount // in the order forward calls them
}

// OpCount is one op's count over the generation, with its multiply-
// accumulates per forward pass (0 for ops that have none).
type OpCount struct {
	Name  string
	Count uint64
	MACs  float64
}

// ParseProfile reads a profile build's report: "TOTAL STEPS" in hex, then
// one count a line for each of im.ProfileNames.
func ParseProfile(raw []byte, im *Image, p *ir.Program) (*Profile, error) {
	sc := bufio.NewScanner(bytes.NewReader(raw))
	var pr Profile
	if !sc.Scan() {
		return nil, fmt.Errorf("profile: empty report")
	}
	if _, err := fmt.Sscanf(sc.Text(), "%x %x", &pr.Total, &pr.Steps); err != nil || pr.Steps == 0 {
		return nil, fmt.Errorf("profile: the image reported %q (built with Profile?)", sc.Text())
	}
	macs := opMACs(p, pr.Steps)
	for _, name := range im.ProfileNames {
		if !sc.Scan() {
			return nil, fmt.Errorf("profile: %d counts for %d ops", len(pr.Ops), len(im.ProfileNames))
		}
		n, err := strconv.ParseUint(strings.TrimSpace(sc.Text()), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("profile: %v", err)
		}
		var m float64
		for _, part := range strings.Split(name, " + ") {
			m += macs[part]
		}
		pr.Ops = append(pr.Ops, OpCount{name, n, m})
	}
	return &pr, nil
}

// opMACs is each op's multiply-accumulates per forward pass, by the name
// loopgen gives its code ("matmul t5"), attention's at the average
// position of a generation of steps: the layer block's counted for every
// layer.
func opMACs(p *ir.Program, steps uint64) map[string]float64 {
	m := map[string]float64{}
	p.Ops(func(b int, op *ir.Op) {
		layers := 1.0
		if b == ir.LayerBlock {
			layers = float64(p.Layers)
		}
		name := lir.OpNote(op)
		switch op.Kind {
		case ir.MatMul:
			for _, q := range op.Params {
				m[name] += layers * float64(q.Rows*q.Cols)
			}
		case ir.Attention:
			// q·k and the weighted sum of v: two a position, head and
			// element; positions 1..steps, on average (steps+1)/2.
			m[name] += layers * float64(2*op.Args[0].Len) * float64(steps+1) / 2
		}
	})
	return m
}

// Print writes the profile per forward pass, the largest first, and what
// the generation spent outside the ops (its loop, printing the tokens
// through the BIOS).
func (pr *Profile) Print(w io.Writer) {
	ops := append([]OpCount(nil), pr.Ops...)
	// Ops of one name (the layer block's calls of one kernel) add up.
	byName := map[string]*OpCount{}
	var merged []*OpCount
	for i := range ops {
		o := &ops[i]
		if m := byName[o.Name]; m != nil {
			m.Count += o.Count
			continue
		}
		byName[o.Name] = o
		merged = append(merged, o)
	}
	sort.SliceStable(merged, func(i, j int) bool { return merged[i].Count > merged[j].Count })
	var sum uint64
	for _, o := range merged {
		sum += o.Count
	}
	per := func(n uint64) float64 { return float64(n) / float64(pr.Steps) }
	fmt.Fprintf(w, "%12s %6s %9s  %s\n", "per token", "share", "per MAC", "op")
	for _, o := range merged {
		mac := ""
		if o.MACs > 0 {
			mac = fmt.Sprintf("%9.2f", per(o.Count)/o.MACs)
		}
		fmt.Fprintf(w, "%12.0f %5.1f%% %9s  %s\n", per(o.Count), 100*float64(o.Count)/float64(pr.Total), mac, o.Name)
	}
	if pr.Total >= sum {
		fmt.Fprintf(w, "%12.0f %5.1f%% %9s  %s\n", per(pr.Total-sum), 100*float64(pr.Total-sum)/float64(pr.Total), "",
			"the generation loop, printing (BIOS), the profile's own counting")
	}
	fmt.Fprintf(w, "%12.0f %5.1f%% %9s  total over %d tokens\n", per(pr.Total), 100.0, "", pr.Steps)
}
