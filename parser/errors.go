package parser

import (
	"errors"
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"

	"tfc/lang"
)

// expectations maps participle's "expected" grammar fragments to words.
var expectations = map[string]string{
	`<string>`:                     "a string",
	`<ident>`:                      "a name",
	`<int>`:                        "an integer",
	`(<float> | <int>)`:            "a number",
	`Number`:                       "a number",
	`DimExpr`:                      "a dimension",
	`DimTerm`:                      "a dimension",
	`DimAtom`:                      "a dimension",
	`Shape`:                        `a shape such as "[dim, dim]"`,
	`Name`:                         "a param name",
	`CallExpr`:                     "a call such as matmul(w, x)",
	`Stmt`:                         "a statement such as x = matmul(w, x)",
	`Arg`:                          "an argument",
	`QuantType`:                    `"fixed", "int8" or "int16"`,
	`("int8" | "int16")`:           `"int8" or "int16"`,
	`("tensor" | "layer" | "row")`: `"tensor", "layer" or "row"`,
	`(<string> | "synthetic")`:     `a string or "synthetic"`,
	`"(" (Arg ("," Arg)*)? ")"`:    `"("`,
	`Sampler`:                      `"greedy" or "temperature"`,
}

const declarations = "a declaration: model, weights, tokenizer, config, param, quant, cache, forward or generate"

// convertError turns a participle error into a *lang.Error with a message
// for a person: `unexpected "{" (expected a string after "checkpoint")`.
func convertError(err error, toks []lexer.Token, filename string) *lang.Error {
	var ute *participle.UnexpectedTokenError
	if errors.As(err, &ute) {
		return unexpected(ute, toks)
	}
	var pe participle.Error
	if errors.As(err, &pe) {
		msg := strings.TrimPrefix(pe.Message(), "failed to capture: ")
		pos := pe.Position()
		// A capture's position may be that of the space before its token.
		for _, t := range toks {
			if t.Pos.Offset >= pos.Offset && !elided(t) {
				pos = t.Pos
				break
			}
		}
		return &lang.Error{Pos: lang.PosOf(pos), Msg: msg}
	}
	return &lang.Error{Pos: lang.Pos{Filename: filename, Line: 1, Column: 1}, Msg: err.Error()}
}

func unexpected(ute *participle.UnexpectedTokenError, toks []lexer.Token) *lang.Error {
	tok := ute.Unexpected
	// The token's index in toks, its bracket depth and the token before it.
	idx, depth := -1, 0
	for i, t := range toks {
		if t.Pos.Offset == tok.Pos.Offset && t.Value == tok.Value && t.Type == tok.Type {
			idx = i
			break
		}
		if t.Type == Lexer.Symbols()["Punct"] {
			switch t.Value {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			}
		}
	}
	var prev *lexer.Token
	for i := idx - 1; i >= 0; i-- {
		if !elided(toks[i]) {
			prev = &toks[i]
			break
		}
	}

	pos := tok.Pos
	what := describe(tok)
	if tok.EOF() && prev != nil {
		// Point just past the last token rather than at the end of the file.
		pos = prev.Pos
		pos.Advance(prev.Value)
	}

	expect := ""
	msg := ute.Message()
	if i := strings.Index(msg, " (expected "); i >= 0 && strings.HasSuffix(msg, ")") {
		expect = msg[i+len(" (expected ") : len(msg)-1]
	}
	if w, ok := expectations[expect]; ok {
		expect = w
	} else if first := firstElement(expect); first != expect {
		expect = first
		if w, ok := expectations[first]; ok {
			expect = w
		}
	}
	if expect == "(<int> | <float>)" {
		// A literal is the last alternative of an argument.
		expect = "a number"
		if prev != nil && (prev.Value == "," || prev.Value == "(") {
			expect = "an argument"
		}
	}
	if expect == `"}"` {
		if block := innerBlock(toks, idx); block != "" {
			expect = block
		}
	}
	if expect == "" && depth <= 0 {
		expect = declarations
	}

	var b strings.Builder
	fmt.Fprintf(&b, "unexpected %s", what)
	switch {
	case expect != "" && prev != nil && expect != declarations:
		fmt.Fprintf(&b, " (expected %s after %s)", expect, quoteToken(*prev))
	case expect != "":
		fmt.Fprintf(&b, " (expected %s)", expect)
	case prev != nil:
		fmt.Fprintf(&b, " after %s", quoteToken(*prev))
	}
	return &lang.Error{Pos: lang.PosOf(pos), Msg: b.String()}
}

func elided(t lexer.Token) bool {
	s := Lexer.Symbols()
	return t.Type == s["Comment"] || t.Type == s["Whitespace"]
}

// describe names a token in a message.
func describe(t lexer.Token) string {
	if t.EOF() {
		return "end of file"
	}
	return quoteToken(t)
}

func quoteToken(t lexer.Token) string {
	if t.Type == Lexer.Symbols()["String"] {
		if len(t.Value) > 40 {
			return "string " + t.Value[:37] + `..."`
		}
		return "string " + t.Value
	}
	if len(t.Value) > 40 {
		return fmt.Sprintf("%q", t.Value[:37]+"...")
	}
	return fmt.Sprintf("%q", t.Value)
}

// firstElement returns the first element of a sequence in participle's EBNF
// (`":" QuantType` gives `":"`): a quoted literal, a <token>, a rule name
// or a parenthesized group.
func firstElement(expect string) string {
	if expect == "" {
		return ""
	}
	switch expect[0] {
	case '"':
		for i := 1; i < len(expect); i++ {
			if expect[i] == '\\' {
				i++
				continue
			}
			if expect[i] == '"' {
				return expect[:i+1]
			}
		}
	case '<':
		if i := strings.IndexByte(expect, '>'); i >= 0 {
			return expect[:i+1]
		}
	case '(':
		depth := 0
		for i := 0; i < len(expect); i++ {
			switch expect[i] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					return expect[:i+1]
				}
			}
		}
	default:
		if i := strings.IndexAny(expect, " ()*?+|"); i > 0 {
			return expect[:i]
		}
	}
	return expect
}

// innerBlock says what may come inside the innermost "{" block that is open
// at token index idx ("" when the innermost open bracket is not a block).
func innerBlock(toks []lexer.Token, idx int) string {
	if idx < 0 {
		return ""
	}
	var open []int
	for i := 0; i < idx; i++ {
		t := toks[i]
		if t.Type != Lexer.Symbols()["Punct"] {
			continue
		}
		switch t.Value {
		case "(", "[", "{":
			open = append(open, i)
		case ")", "]", "}":
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		}
	}
	if len(open) == 0 || toks[open[len(open)-1]].Value != "{" {
		return ""
	}
	kw := ""
	for i := open[len(open)-1] - 1; i >= 0; i-- {
		if !elided(toks[i]) {
			kw = toks[i].Value
			break
		}
	}
	switch kw {
	case "config":
		return `a definition such as "dim = 64" or "}"`
	case "forward":
		return `a statement, "layer" or "}"`
	case "layer":
		return `a statement or "}"`
	case "generate":
		return `"prompt", "steps", "sampler" or "}"`
	}
	return ""
}
