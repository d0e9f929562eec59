package lang

import (
	"fmt"

	"github.com/alecthomas/participle/v2/lexer"
)

// Pos is a position in a .tf file: the checked program, its errors and
// every stage after lang carry it, so that participle's types end at the
// syntax tree.
type Pos struct {
	Filename     string
	Line, Column int // from 1; Line 0: not in the file
}

// PosOf is the position of a syntax tree node or token.
func PosOf(p lexer.Position) Pos {
	return Pos{Filename: p.Filename, Line: p.Line, Column: p.Column}
}

// String prints file:line:col, or line:col without a file name, as
// participle's positions print.
func (p Pos) String() string {
	if p.Filename == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Column)
	}
	return fmt.Sprintf("%s:%d:%d", p.Filename, p.Line, p.Column)
}
