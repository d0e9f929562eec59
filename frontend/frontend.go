// Package frontend is the front-end driver: one .tf file to a compiled IR
// program. It sits above ir/ (which knows nothing of parsing or files) so
// that the CLI and the tests of several packages share one driver.
package frontend

import (
	"tfc/ir"
	"tfc/lang"
	"tfc/parser"
)

// LoadFile is the whole front end for one .tf file: parse, check (opening
// the files it names), lower, attach weights, run the passes.
func LoadFile(path string, o ir.Options) (*ir.Program, error) {
	f, err := parser.ParseFile(path)
	if err != nil {
		return nil, err
	}
	lp, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
	if err != nil {
		return nil, err
	}
	p, err := ir.Load(lp)
	if err != nil {
		return nil, err
	}
	if err := ir.Compile(p, o); err != nil {
		return nil, err
	}
	return p, nil
}
