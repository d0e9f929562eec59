// Package parser reads a .tf file (spec.md sections 1 and 2) into the syntax
// tree of package lang, with a participle lexer and a parser built from lang's
// struct tags. Every error it returns is a *lang.Error whose Error() reads
// "file:line:col: message" and whose Detail() is the source line and a caret.
package parser

import (
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"tfc/lang"
)

// Lexer is the lexer of .tf files (spec.md section 1). Comment and Whitespace
// tokens are dropped before parsing.
var Lexer = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "Comment", Pattern: `(?:#|//)[^\n]*`},
	{Name: "Whitespace", Pattern: `[ \t\r\n\f\v]+`},
	{Name: "Float", Pattern: `(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+`},
	{Name: "Int", Pattern: `[0-9]+`},
	{Name: "String", Pattern: `"(?:\\[^\n]|[^"\\\n])*"`},
	{Name: "Ident", Pattern: `[A-Za-z_][A-Za-z0-9_]*`},
	{Name: "Punct", Pattern: `[{}\[\](),=:+\-*/]`},
})

// MaxNesting is the deepest nesting of brackets ( [ { that the parser
// accepts; deeper input is an error rather than a deep recursion.
const MaxNesting = 64

var grammar = participle.MustBuild[lang.File](
	participle.Lexer(Lexer),
	participle.Elide("Comment", "Whitespace"),
	participle.UseLookahead(0),
)

// ParseFile reads and parses the file at path; positions name the file as
// path is written.
func ParseFile(path string) (*lang.File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// Parse parses src, naming it filename in positions. The error, if any, is
// a *lang.Error carrying src (for Detail and lang.FormatError).
func Parse(filename string, src []byte) (file *lang.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			// Not expected: the grammar and lexer are built not to panic,
			// but no input may crash the compiler.
			file = nil
			err = (&lang.Error{
				Pos: lang.Pos{Filename: filename, Line: 1, Column: 1},
				Msg: fmt.Sprintf("internal parser error: %v", r),
			}).WithSource(src)
		}
	}()
	toks, lerr := lex(filename, src)
	if lerr != nil {
		return nil, lerr.WithSource(src)
	}
	if e := checkNesting(toks); e != nil {
		return nil, e.WithSource(src)
	}
	peek, perr := lexer.Upgrade(&tokenLexer{toks: toks}, Lexer.Symbols()["Comment"], Lexer.Symbols()["Whitespace"])
	if perr != nil {
		return nil, (&lang.Error{Pos: lang.Pos{Filename: filename, Line: 1, Column: 1}, Msg: perr.Error()}).WithSource(src)
	}
	f, perr := grammar.ParseFromLexer(peek)
	if perr != nil {
		return nil, convertError(perr, toks, filename).WithSource(src)
	}
	f.Filename = filename
	f.Source = src
	return f, nil
}

// tokenLexer replays lexed tokens.
type tokenLexer struct {
	toks []lexer.Token
	i    int
}

func (l *tokenLexer) Next() (lexer.Token, error) {
	if l.i >= len(l.toks) {
		return l.toks[len(l.toks)-1], nil // the EOF token
	}
	t := l.toks[l.i]
	l.i++
	return t, nil
}

// lex returns all tokens of src including the final EOF token, or an error
// at the first character that starts no token.
func lex(filename string, src []byte) ([]lexer.Token, *lang.Error) {
	l, err := Lexer.LexString(filename, string(src))
	if err != nil {
		return nil, &lang.Error{Pos: lang.Pos{Filename: filename, Line: 1, Column: 1}, Msg: err.Error()}
	}
	var toks []lexer.Token
	for {
		t, err := l.Next()
		if err != nil {
			var le *lexer.Error
			if errors.As(err, &le) {
				return nil, &lang.Error{Pos: lang.PosOf(le.Pos), Msg: lexMessage(src, le.Pos)}
			}
			return nil, &lang.Error{Pos: lang.Pos{Filename: filename, Line: 1, Column: 1}, Msg: err.Error()}
		}
		toks = append(toks, t)
		if t.EOF() {
			return toks, nil
		}
	}
}

// lexMessage describes the character at pos that starts no token.
func lexMessage(src []byte, pos lexer.Position) string {
	if pos.Offset < 0 || pos.Offset >= len(src) {
		return "unexpected character"
	}
	rest := src[pos.Offset:]
	if rest[0] == '"' {
		return "unterminated string"
	}
	r := []rune(string(rest[:min(len(rest), 4)]))
	if len(r) == 0 || r[0] == '\uFFFD' {
		return fmt.Sprintf("invalid byte 0x%02x", rest[0])
	}
	return fmt.Sprintf("unexpected character %q", r[0])
}

// checkNesting rejects brackets nested deeper than MaxNesting (so that no
// input recurses deeply in the parser or the checks).
func checkNesting(toks []lexer.Token) *lang.Error {
	depth := 0
	for _, t := range toks {
		switch t.Value {
		case "(", "[", "{":
			depth++
			if depth > MaxNesting {
				return &lang.Error{Pos: lang.PosOf(t.Pos), Msg: fmt.Sprintf("brackets nested deeper than %d", MaxNesting)}
			}
		case ")", "]", "}":
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
