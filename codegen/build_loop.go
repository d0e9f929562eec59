package codegen

import (
	"fmt"

	"tfc/codegen/loopgen"
	x86 "tfc/codegen/x86_16"
	"tfc/codegen/x86_16/isel"
	"tfc/ir"
	"tfc/lir"
	"tfc/runtime"
)

// buildLoop builds p with the loop-level back end: the tensor IR lowered
// to lir, its passes, instruction selection and allocation of every
// instruction (loopgen), in the flat memory model.
func buildLoop(p *ir.Program, prompt []int, steps int, o Options) (*Image, error) {
	if o.Memory == "segmented" {
		return nil, fmt.Errorf("the loop code generator has no segmented memory model yet")
	}
	f, err := lir.Lower(p)
	if err != nil {
		return nil, err
	}
	policy := "size"
	if o.Opt == "2" {
		policy = "speed"
	}
	if err := lir.Compile(f, lir.Options{Dump: o.Dump, DumpTo: o.DumpTo, Policy: policy}); err != nil {
		return nil, err
	}
	pieces := runtime.PieceData(p.Tokenizer, 0)
	data, typed, err := typedData(p, pieces, o)
	if err != nil {
		return nil, err
	}
	l, err := loopgen.NewLayout(p, f, data, prompt)
	if err != nil {
		return nil, fmt.Errorf("flat memory model: %v", err)
	}
	console := runtime.Console{Flat: true, PiecesAddr: l.Pieces, PiecesBytes: len(pieces)}
	if err := console.CheckPieces(len(pieces)); err != nil {
		return nil, err
	}
	if b := console.PieceBias(); b != 0 {
		copy(l.Data[l.Pieces-loopgen.DataAddr:], runtime.PieceData(p.Tokenizer, b))
	}
	if typed != nil {
		if err := placeTyped(typed, l.Pieces, len(pieces), true); err != nil {
			return nil, err
		}
	}
	main := &x86.Program{}
	profiled, err := loopgen.Select(main, p, f, l, loopgen.Options{Steps: steps, Trace: o.Trace, Bench: o.Bench, Profile: o.Profile, Typed: typed != nil})
	if err != nil {
		return nil, err
	}
	if typed != nil {
		for _, b := range f.Bufs {
			if b.Kind == lir.BufState && b.Name == "sampling" {
				typed.Params = l.Addr[b] // the sampler's parameters (lir's sample)
			}
		}
		runtime.EmitTyped(main, *typed)
	}
	runtime.EmitConsole(main, console)
	if n, err := main.Size(runtime.CodeAddr); err == nil && n > runtime.MaxCodeSize {
		return nil, fmt.Errorf("the code is %d bytes, more than the %d from %#x to 64 KiB where it runs", n, runtime.MaxCodeSize, runtime.CodeAddr)
	}
	if _, err := main.Assemble(runtime.CodeAddr); err != nil {
		return nil, fmt.Errorf("BUG: code generation: %v", err)
	}
	cfg := runtime.BootConfig{Flat: true, DataAddr: loopgen.DataAddr, End: l.End, Input: typed != nil}
	ln, err := runtime.LinkImage(nil, main, l.Data, cfg)
	if err != nil {
		return nil, err
	}
	il := &isel.Layout{DataAddr: loopgen.DataAddr, Data: l.Data, Pieces: l.Pieces, Prompt: l.Prompt, NPrompt: l.NPrompt, End: l.End}
	im := &Image{Bytes: ln.Bytes, Memory: "flat", Generator: "loop", Boot: ln.Boot, Loader: ln.Loader, Main: main, Streams: ln.StreamsEnd(), CodeOffset: ln.CodeOffset(), Layout: il, ProfileNames: profiled}
	im.Regions, im.DataRegions = regions(ln.Boot, ln.Loader, main)
	return im, nil
}
