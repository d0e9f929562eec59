// Package frontend is the front-end driver: one .tf file to a compiled IR
// program. It sits above ir/ (which knows nothing of parsing or files) so
// that the CLI and the tests of several packages share one driver.
package frontend

import (
	"math/bits"

	"tfc/ir"
	"tfc/lang"
	"tfc/parser"
)

// LoadFile is the whole front end for one .tf file: parse, check (opening
// the files it names), lower, attach weights, run the passes.
func LoadFile(path string, o ir.Options) (*ir.Program, error) {
	return LoadFileProgress(path, o, nil)
}

// LoadFileProgress is LoadFile telling phase, when not nil, what it starts:
// "checking", "loading the weights" (reading the checkpoint or drawing the
// random ones), "quantizing" (the IR passes).
func LoadFileProgress(path string, o ir.Options, phase func(string)) (*ir.Program, error) {
	if phase == nil {
		phase = func(string) {}
	}
	phase("checking")
	f, err := parser.ParseFile(path)
	if err != nil {
		return nil, err
	}
	lp, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
	if err != nil {
		return nil, err
	}
	if err := CheckSize(lp); err != nil {
		return nil, err
	}
	phase("loading the weights")
	p, err := ir.LoadWith(lp, o)
	if err != nil {
		return nil, err
	}
	phase("quantizing")
	if err := ir.Compile(p, o); err != nil {
		return nil, err
	}
	return p, nil
}

// MaxDataBytes is the most data an image holds: the flat memory model's
// data lies between 1 MiB and 4 GiB.
const MaxDataBytes = 1<<32 - 1<<20

// CheckSize refuses, at the model declaration, a model whose weights and
// caches alone need more than MaxDataBytes in the image, before any weight
// is generated or read: the host would need several times that.
func CheckSize(lp *lang.Program) error {
	var weights, caches uint64
	add := func(sum *uint64, dims ...int) {
		n := uint64(1)
		for _, d := range dims {
			hi, lo := bits.Mul64(n, uint64(d))
			if hi != 0 {
				lo = 1 << 63
			}
			n = lo
		}
		if *sum += n; *sum < n {
			*sum = 1 << 63
		}
	}
	size := map[string]int{"fixed": 4, "int8": 1, "int16": 2}
	for _, q := range lp.Params {
		add(&weights, append([]int{size[q.Quant.Type]}, q.Shape...)...)
	}
	for _, k := range lp.Caches {
		add(&caches, 2, k.Layers, k.Context, k.Width, size[k.Type]) // keys and values
	}
	if total := weights + caches; total > MaxDataBytes || total < weights {
		return lang.Errorf(lp.Pos, "the model needs %d bytes of weights and %d of caches, more than the %d an image holds (between 1 MiB and 4 GiB)",
			weights, caches, uint64(MaxDataBytes))
	}
	return nil
}
