package codegen

import (
	"errors"

	"tfc/ir"
	"tfc/lang"
)

// Check makes every check that a build with o makes, without keeping the
// image: `tfc check` runs it, and `tfc sim` with the default options, so
// that a program they accept builds. An error that is not about one line
// of the program points at its model declaration.
func Check(p *ir.Program, prompt []int, steps int, o Options) error {
	_, err := Build(p, prompt, steps, o)
	if err == nil {
		return nil
	}
	var le *lang.Error
	if errors.As(err, &le) {
		return err
	}
	return lang.Errorf(p.Pos, "%v", err)
}
