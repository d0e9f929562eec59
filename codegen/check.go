package codegen

import "tfc/ir"

// Check makes every check that a build with o makes, without keeping the
// image: `tfc check` runs it, and `tfc sim` with the default options, so
// that a program they accept builds.
func Check(p *ir.Program, prompt []int, steps int, o Options) error {
	o.check = true
	_, err := Build(p, prompt, steps, o)
	return err
}
