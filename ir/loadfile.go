package ir

import (
	"tfc/lang"
	"tfc/parser"
)

// LoadFile parses, checks, lowers, loads and compiles one .tf file.
//
// Deprecated: use frontend.LoadFile; the front-end driver does not belong
// in the IR. This copy stays only while code outside this change (difftest/,
// lir/'s tests) still calls it; delete it, and ir's import of parser, then.
func LoadFile(path string, o Options) (*Program, error) {
	f, err := parser.ParseFile(path)
	if err != nil {
		return nil, err
	}
	lp, err := lang.Check(f, lang.CheckOptions{OpenFiles: true})
	if err != nil {
		return nil, err
	}
	p, err := Load(lp)
	if err != nil {
		return nil, err
	}
	if err := Compile(p, o); err != nil {
		return nil, err
	}
	return p, nil
}
