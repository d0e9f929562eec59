// Package format prints a .tf file in its canonical form (tfc fmt): one
// declaration, constant, statement or generate setting a line, blocks
// indented by two spaces, one space between tokens except inside brackets,
// before commas and after a unary minus, runs of alike lines aligned (the
// columns after weights and tokenizer, param and cache names, config's and
// generate's '='), at most one blank line in a row and none at a block's
// edges, comments kept where they were (own-line or trailing, trailing
// ones aligned in runs).
//
// It works on the tokens, with the syntax tree (package parser) telling
// where each line starts and which minus signs are binary: the grammar's
// rules need no printing code of their own, and a file that does not parse
// is refused with the parser's message.
package format

import (
	"bytes"
	"reflect"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"tfc/parser"
)

// Source returns src (named filename in errors) in canonical form.
func Source(filename string, src []byte) ([]byte, error) {
	f, err := parser.Parse(filename, src)
	if err != nil {
		return nil, err
	}
	starts, binary := map[int]bool{}, map[int]bool{}
	for _, d := range f.Decls {
		starts[d.Pos.Offset] = true
	}
	walk(reflect.ValueOf(f), starts, binary)
	toks, err := tokens(filename, src)
	if err != nil {
		return nil, err
	}
	p := &printer{starts: starts, binary: binary}
	for _, t := range toks {
		p.token(t)
	}
	p.flush()
	return p.render(), nil
}

// walk marks the offsets where a line starts (each element of a
// repetition inside braces) and of binary operators (DimTail, DimFactor).
func walk(v reflect.Value, starts, binary map[int]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walk(v.Elem(), starts, binary)
		}
	case reflect.Struct:
		t := v.Type()
		if t == reflect.TypeOf(lexer.Position{}) {
			return
		}
		if name := t.Name(); name == "DimTail" || name == "DimFactor" {
			binary[v.FieldByName("Pos").Interface().(lexer.Position).Offset] = true
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Slice && strings.Contains(f.Tag.Get("parser"), "'{'") {
				for j := 0; j < fv.Len(); j++ {
					if e := fv.Index(j); e.Kind() == reflect.Pointer && !e.IsNil() {
						if pos := e.Elem().FieldByName("Pos"); pos.IsValid() {
							starts[pos.Interface().(lexer.Position).Offset] = true
						}
					}
				}
			}
			walk(fv, starts, binary)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), starts, binary)
		}
	}
}

// token is a significant token or a comment, with the newlines before it.
type token struct {
	value   string
	offset  int
	comment bool
	ident   bool
	nl      int // newlines in the whitespace before it
}

func tokens(filename string, src []byte) ([]token, error) {
	l, err := parser.Lexer.LexString(filename, string(src))
	if err != nil {
		return nil, err
	}
	sym := parser.Lexer.Symbols()
	var out []token
	nl := 0
	for {
		t, err := l.Next()
		if err != nil {
			return nil, err
		}
		if t.EOF() {
			return out, nil
		}
		switch t.Type {
		case sym["Whitespace"]:
			nl += strings.Count(t.Value, "\n")
			continue
		}
		out = append(out, token{value: t.Value, offset: t.Pos.Offset, comment: t.Type == sym["Comment"],
			ident: t.Type == sym["Ident"], nl: nl})
		nl = 0
	}
}

// piece is a token as printed: its text and whether a space precedes it.
type piece struct {
	text  string
	space bool
}

// line is one output line.
type line struct {
	indent  int
	pieces  []piece
	comment string // a trailing comment, or the text of a comment line
	own     bool   // a comment on its own line
	blank   bool   // a blank line before it
	// key is how many leading pieces align with the lines of its run,
	// of class (""): none).
	key   int
	class string
	cont  bool // continues the statement of the line before
}

type printer struct {
	starts, binary map[int]bool
	lines          []*line
	cur            *line
	depth          int
	blocks         []string // the first word of each open block's line
	prev           *token   // the last significant token of the current line
	unary          bool     // prev is a unary minus
	open           bool     // a statement is open (no line start seen since its tokens)
}

func (p *printer) newLine(t token, cont bool) {
	p.flush()
	indent := 2 * p.depth
	if cont {
		indent += 4
	}
	blank := t.nl >= 2 && len(p.lines) > 0 && !p.afterOpen()
	p.cur = &line{indent: indent, blank: blank, cont: cont}
	p.prev = nil
}

// afterOpen reports whether the last line opened a block.
func (p *printer) afterOpen() bool {
	if len(p.lines) == 0 {
		return false
	}
	l := p.lines[len(p.lines)-1]
	return !l.own && len(l.pieces) > 0 && l.pieces[len(l.pieces)-1].text == "{"
}

func (p *printer) token(t token) {
	switch {
	case t.comment:
		text := strings.TrimRight(t.value, " \t\r\f\v")
		if t.nl > 0 || p.cur == nil || len(p.cur.pieces) == 0 {
			p.flush()
			blank := t.nl >= 2 && len(p.lines) > 0 && !p.afterOpen()
			p.lines = append(p.lines, &line{indent: 2 * p.depth, comment: text, own: true, blank: blank})
			return
		}
		p.cur.comment = text
		p.flush()
		return
	case t.value == "}":
		p.flush()
		if p.depth > 0 {
			p.depth--
			p.blocks = p.blocks[:len(p.blocks)-1]
		}
		p.lines = append(p.lines, &line{indent: 2 * p.depth, pieces: []piece{{text: "}"}}})
		p.open = false
		return
	case p.starts[t.offset]:
		p.newLine(t, false)
		p.open = true
	case p.cur == nil:
		// The rest of a statement after a comment that ended its line.
		p.newLine(t, p.open)
	}
	space := len(p.cur.pieces) > 0 && p.space(t)
	p.cur.pieces = append(p.cur.pieces, piece{text: t.value, space: space})
	p.unary = t.value == "-" && !p.binary[t.offset]
	p.prev = &t
	if t.value == "{" {
		word := p.cur.pieces[0].text
		p.flush()
		p.depth++
		p.blocks = append(p.blocks, word)
		p.open = false
	}
}

// space reports whether a space goes between the previous token and t.
func (p *printer) space(t token) bool {
	if p.prev == nil {
		return false
	}
	switch prev := p.prev.value; {
	case prev == "(" || prev == "[":
		return false
	case p.unary:
		return false
	}
	switch t.value {
	case ")", "]", ",":
		return false
	case "(":
		return !p.prev.ident
	}
	return true
}

// flush ends the current line, noting its alignment class.
func (p *printer) flush() {
	l := p.cur
	p.cur = nil
	if l == nil || len(l.pieces) == 0 {
		return
	}
	first := l.pieces[0].text
	block := ""
	if len(p.blocks) > 0 {
		block = p.blocks[len(p.blocks)-1]
	}
	switch {
	case l.cont:
	case p.depth == 0 && len(l.pieces) > 1 && (first == "weights" || first == "tokenizer"):
		l.key, l.class = 1, "top"
	case p.depth == 0 && len(l.pieces) > 2 && (first == "param" || first == "cache"):
		l.key, l.class = 2, first
	case (block == "config" || block == "generate") && len(l.pieces) > 2 && l.pieces[1].text == "=":
		l.key, l.class = 1, block
	}
	p.lines = append(p.lines, l)
}

func text(ps []piece) string {
	var b strings.Builder
	for i, x := range ps {
		if i > 0 && x.space {
			b.WriteByte(' ')
		}
		b.WriteString(x.text)
	}
	return b.String()
}

// render aligns runs of lines and prints them.
func (p *printer) render() []byte {
	n := len(p.lines)
	code := make([]string, n)
	// Keys: a run is consecutive lines of one class and indent, with no
	// blank or comment line between.
	for i := 0; i < n; {
		l := p.lines[i]
		if l.class == "" {
			code[i] = text(l.pieces)
			i++
			continue
		}
		j := i + 1
		for j < n && p.lines[j].class == l.class && p.lines[j].indent == l.indent && !p.lines[j].blank {
			j++
		}
		w := 0
		for k := i; k < j; k++ {
			w = max(w, len(text(p.lines[k].pieces[:p.lines[k].key])))
		}
		for k := i; k < j; k++ {
			lk := p.lines[k]
			key := text(lk.pieces[:lk.key])
			code[k] = key + strings.Repeat(" ", w-len(key)+1) + text(lk.pieces[lk.key:])
		}
		i = j
	}
	// Trailing comments: aligned over runs of consecutive lines that each
	// have one.
	col := make([]int, n)
	for i := 0; i < n; {
		if p.lines[i].own || p.lines[i].comment == "" {
			i++
			continue
		}
		j := i + 1
		for j < n && !p.lines[j].own && p.lines[j].comment != "" && !p.lines[j].blank {
			j++
		}
		w := 0
		for k := i; k < j; k++ {
			w = max(w, p.lines[k].indent+len(code[k]))
		}
		for k := i; k < j; k++ {
			col[k] = w + 1
		}
		i = j
	}
	var b bytes.Buffer
	for i, l := range p.lines {
		if l.blank {
			b.WriteByte('\n')
		}
		b.WriteString(strings.Repeat(" ", l.indent))
		if l.own {
			b.WriteString(l.comment)
		} else {
			b.WriteString(code[i])
			if l.comment != "" {
				b.WriteString(strings.Repeat(" ", col[i]-l.indent-len(code[i])))
				b.WriteString(l.comment)
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
