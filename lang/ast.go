// Package lang holds the syntax tree of a .tf file (built by package parser
// with participle from the struct tags below), the checks of section 3 of
// spec.md and the resolved Program that the IR lowering consumes.
//
// Every grammar rule of spec.md section 2 is one struct here, with the rule's
// EBNF in the comment directly above it.
package lang

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// File = { Decl } .
type File struct {
	Pos    lexer.Position
	EndPos lexer.Position

	Decls []*Decl `parser:"@@*"`

	// Filename is the name the file was parsed under (as given to the
	// parser); Source is its text. Both are set by the parser, not the grammar.
	Filename string
	Source   []byte
}

// Decl = ModelDecl | WeightsDecl | TokenizerDecl | ConfigDecl | ParamDecl | QuantDecl | CacheDecl | ForwardDecl | GenerateDecl | BootDecl .
type Decl struct {
	Pos lexer.Position

	Model     *ModelDecl     `parser:"  @@"`
	Weights   *WeightsDecl   `parser:"| @@"`
	Tokenizer *TokenizerDecl `parser:"| @@"`
	Config    *ConfigDecl    `parser:"| @@"`
	Param     *ParamDecl     `parser:"| @@"`
	Quant     *QuantDecl     `parser:"| @@"`
	Cache     *CacheDecl     `parser:"| @@"`
	Forward   *ForwardDecl   `parser:"| @@"`
	Generate  *GenerateDecl  `parser:"| @@"`
	Boot      *BootDecl      `parser:"| @@"`
}

// BootDecl = "boot" ( "full" | "lean" ) .
type BootDecl struct {
	Pos lexer.Position

	Path string `parser:"'boot' @( 'full' | 'lean' )"`
}

// ModelDecl = "model" Ident .
type ModelDecl struct {
	Pos lexer.Position

	Name string `parser:"'model' @Ident"`
}

// WeightsDecl = "weights" ( "checkpoint" String | "random" "seed" Int ) .
type WeightsDecl struct {
	Pos lexer.Position

	Checkpoint *String `parser:"'weights' ( 'checkpoint' @String"`
	Random     bool    `parser:"          | @'random'"`
	Seed       *Int    `parser:"            'seed' @Int )"`
}

// TokenizerDecl = "tokenizer" ( String | "synthetic" ) .
type TokenizerDecl struct {
	Pos lexer.Position

	Path      *String `parser:"'tokenizer' ( @String"`
	Synthetic bool    `parser:"            | @'synthetic' )"`
}

// ConfigDecl = "config" "{" { ConstDef } "}" .
type ConfigDecl struct {
	Pos    lexer.Position
	EndPos lexer.Position

	Consts []*ConstDef `parser:"'config' '{' @@* '}'"`
}

// ConstDef = Ident "=" DimExpr .
type ConstDef struct {
	Pos lexer.Position

	Name  string   `parser:"@Ident '='"`
	Value *DimExpr `parser:"@@"`
}

// DimExpr = DimTerm { DimTail } .
type DimExpr struct {
	Pos lexer.Position

	First *DimTerm   `parser:"@@"`
	Rest  []*DimTail `parser:"@@*"`
}

// DimTail = ( "+" | "-" ) DimTerm .
type DimTail struct {
	Pos lexer.Position

	Op   string   `parser:"@( '+' | '-' )"`
	Term *DimTerm `parser:"@@"`
}

// DimTerm = DimAtom { DimFactor } .
type DimTerm struct {
	Pos lexer.Position

	First *DimAtom     `parser:"@@"`
	Rest  []*DimFactor `parser:"@@*"`
}

// DimFactor = ( "*" | "/" ) DimAtom .
type DimFactor struct {
	Pos lexer.Position

	Op   string   `parser:"@( '*' | '/' )"`
	Atom *DimAtom `parser:"@@"`
}

// DimAtom = Int | Ident | "(" DimExpr ")" .
type DimAtom struct {
	Pos lexer.Position

	Int   *Int     `parser:"  @Int"`
	Ident string   `parser:"| @Ident"`
	Sub   *DimExpr `parser:"| '(' @@ ')'"`
}

// ParamDecl = "param" Ident Shape .
type ParamDecl struct {
	Pos lexer.Position

	Name  string `parser:"'param' @Ident"`
	Shape *Shape `parser:"@@"`
}

// Shape = "[" DimExpr { "," DimExpr } "]" .
type Shape struct {
	Pos lexer.Position

	Dims []*DimExpr `parser:"'[' @@ ( ',' @@ )* ']'"`
}

// QuantDecl = "quant" Name { "," Name } ":" QuantType .
type QuantDecl struct {
	Pos lexer.Position

	Names []*Name    `parser:"'quant' @@ ( ',' @@ )*"`
	Type  *QuantType `parser:"':' @@"`
}

// Name = Ident .
type Name struct {
	Pos lexer.Position

	Name string `parser:"@Ident"`
}

// QuantType = "fixed" | ( "int8" | "int16" ) "per" ( "tensor" | "layer" | "row" ) .
type QuantType struct {
	Pos lexer.Position

	Fixed bool   `parser:"  @'fixed'"`
	Type  string `parser:"| @( 'int8' | 'int16' )"`
	Per   string `parser:"  'per' @( 'tensor' | 'layer' | 'row' )"`
}

// CacheDecl = "cache" Ident Shape ":" ( "int8" | "int16" ) "per" "token_head" .
type CacheDecl struct {
	Pos lexer.Position

	Name  string `parser:"'cache' @Ident"`
	Shape *Shape `parser:"@@"`
	Type  string `parser:"':' @( 'int8' | 'int16' ) 'per' 'token_head'"`
}

// ForwardDecl = "forward" "{" { ForwardItem } "}" .
type ForwardDecl struct {
	Pos    lexer.Position
	EndPos lexer.Position

	Items []*ForwardItem `parser:"'forward' '{' @@* '}'"`
}

// ForwardItem = LayerBlock | Statement .
type ForwardItem struct {
	Pos lexer.Position

	Layer *LayerBlock `parser:"  (?= 'layer' '{') @@"`
	Stmt  *Statement  `parser:"| @@"`
}

// LayerBlock = "layer" "{" { Statement } "}" .
type LayerBlock struct {
	Pos    lexer.Position
	EndPos lexer.Position

	Stmts []*Statement `parser:"'layer' '{' @@* '}'"`
}

// Statement = [ Ident "=" ] CallExpr .
type Statement struct {
	Pos lexer.Position

	Target string    `parser:"( (?= Ident '=') @Ident '=' )?"`
	Call   *CallExpr `parser:"@@"`
}

// CallExpr = Ident "(" [ Arg { "," Arg } ] ")" .
type CallExpr struct {
	Pos    lexer.Position
	EndPos lexer.Position

	Op   string `parser:"@Ident '('"`
	Args []*Arg `parser:"( @@ ( ',' @@ )* )? ')'"`
}

// Arg = Option | CallExpr | Ident | Literal .
type Arg struct {
	Pos lexer.Position

	Option *Option   `parser:"  (?= Ident '=') @@"`
	Call   *CallExpr `parser:"| (?= Ident '(') @@"`
	Name   string    `parser:"| @Ident"`
	Lit    *Literal  `parser:"| @@"`
}

// Option = Ident "=" Literal .
type Option struct {
	Pos lexer.Position

	Name  string   `parser:"@Ident '='"`
	Value *Literal `parser:"@@"`
}

// Literal = [ "-" ] ( Int | Float ) .
type Literal struct {
	Pos lexer.Position

	Neg   bool   `parser:"@'-'?"`
	Int   *Int   `parser:"( @Int"`
	Float *Float `parser:"| @Float )"`
}

// Value is the literal's value.
func (l *Literal) Value() float64 {
	v := float64(0)
	if l.Int != nil {
		v = float64(*l.Int)
	} else {
		v = float64(*l.Float)
	}
	if l.Neg {
		v = -v
	}
	return v
}

// GenerateDecl = "generate" "{" { GenItem } "}" .
type GenerateDecl struct {
	Pos    lexer.Position
	EndPos lexer.Position

	Items []*GenItem `parser:"'generate' '{' @@* '}'"`
}

// GenItem = "prompt" "=" ( String | "typed" ) | "steps" "=" Int | "sampler" Sampler .
type GenItem struct {
	Pos lexer.Position

	Prompt  *String  `parser:"  'prompt' '=' ( @String"`
	Typed   bool     `parser:"              | @'typed' )"`
	Steps   *Int     `parser:"| 'steps' '=' @Int"`
	Sampler *Sampler `parser:"| 'sampler' @@"`
}

// Sampler = "greedy" | "temperature" Number [ "top_p" Number ] [ "seed" ( Int | "clock" ) ] .
type Sampler struct {
	Pos lexer.Position

	Greedy      bool    `parser:"  @'greedy'"`
	Temperature *Number `parser:"| 'temperature' @@"`
	TopP        *Number `parser:"  ( 'top_p' @@ )?"`
	Seed        *Int    `parser:"  ( 'seed' ( @Int"`
	Clock       bool    `parser:"           | @'clock' ) )?"`
}

// Number = [ "-" ] ( Float | Int ) .
type Number struct {
	Pos lexer.Position

	Value Float `parser:"@( '-'? ( Float | Int ) )"`
}

// Int is an integer literal: decimal digits, at most 2^63-1.
type Int int64

// Capture implements participle.Capture.
func (i *Int) Capture(values []string) error {
	s := strings.Join(values, "")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s is too large", s)
	}
	*i = Int(n)
	return nil
}

// Float is a number literal with an optional sign.
type Float float64

// Capture implements participle.Capture.
func (f *Float) Capture(values []string) error {
	s := strings.Join(values, "")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("number %s is out of range", s)
	}
	*f = Float(v)
	return nil
}

// String is a double-quoted string literal with Go escapes; the value is the
// unquoted text.
type String string

// Capture implements participle.Capture.
func (s *String) Capture(values []string) error {
	raw := strings.Join(values, "")
	v, err := strconv.Unquote(raw)
	if err != nil {
		return fmt.Errorf("invalid escape in string %s", raw)
	}
	*s = String(v)
	return nil
}
