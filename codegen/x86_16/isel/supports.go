package isel

import (
	"fmt"

	"tfc/ir"
	"tfc/op"
)

// The small templates have a kernel for each op of
// the first language and no more: every op added since, and every option
// away from its default, goes to the loop code generator, which lowers
// every op through lir (codegen.Build falls back to it). templateSupports
// says why they cannot take p, or "".

// templateKinds are the kinds the templates have kernels for, with the
// members of a family they know.
var templateKinds = map[op.Kind][]string{
	ir.Embed: {""}, ir.RMSNorm: {""}, ir.MatMul: {""}, ir.RoPE: {""}, ir.Store: {""},
	ir.Attention: {""}, ir.Gate: {"silu", "gelu"}, ir.Mul: {""}, ir.Add: {""}, ir.Argmax: {""}, ir.Sample: {""},
}

func templateSupports(p *ir.Program, steps int) string {
	why := ""
	p.Ops(func(_ int, o *ir.Op) {
		if why != "" {
			return
		}
		r := o.Row()
		known := false
		for _, fn := range templateKinds[o.Kind] {
			known = known || fn == o.Func
		}
		switch {
		case !known:
			why = fmt.Sprintf("%s has no template kernel", r.Form)
		case len(r.NonDefault(o.Opts)) > 0:
			why = fmt.Sprintf("%s's option %s has no template kernel", r.Name, r.NonDefault(o.Opts)[0])
		case o.Kind == ir.Attention && steps > ir.MaxSoftmaxTerms:
			why = fmt.Sprintf("attention over %d positions (the template kernels sum their softmax weights in 32 bits, which hold %d)", steps, ir.MaxSoftmaxTerms)
		case o.Kind == ir.Sample && o.Args[0].Len > ir.MaxSampleVocab:
			why = fmt.Sprintf("sample() over %d tokens (the template kernels sum their softmax weights in 32 bits, which hold %d)", o.Args[0].Len, ir.MaxSampleVocab)
		}
	})
	return why
}
