" Vim syntax file
" Language: tfc transformer descriptions (.tf files starting with `model`)
" Install:  copy editors/vim/syntax/tfc.vim and editors/vim/ftdetect/tfc.vim
"           into ~/.vim/syntax/ and ~/.vim/ftdetect/ (or add editors/vim to
"           'runtimepath').

if exists("b:current_syntax")
  finish
endif

syn case match

" Declarations and the words of the grammar (spec.md section 2).
syn keyword tfcDecl      model weights tokenizer config param quant cache forward generate boot
syn keyword tfcKeyword   checkpoint random seed synthetic layer prompt steps sampler typed clock
syn keyword tfcType      fixed int8 int16 per tensor row token_head
syn keyword tfcSampler   greedy temperature top_p
syn keyword tfcBoot      full lean

" The ops of the op table (op.Rows), as calls.
syn match   tfcOp        "\<\%(embed\|rmsnorm\|layernorm\|matmul\|rope\|store\|attention\|silu\|gelu\|gelu_tanh\|relu\|mul\|add\|sub\|argmax\|sample\)\>\ze\s*("

" Options of the ops: NAME = number inside a call.
syn match   tfcOption    "\<\%(eps\|theta\|rotary_dim\)\>\ze\s*="

" The forward pass's predefined inputs and the config's hyper-parameters.
syn keyword tfcBuiltin   token pos
syn keyword tfcConst     dim hidden layers heads kv_heads vocab context

syn match   tfcNumber    "\<\d\+\>"
syn match   tfcFloat     "\%(\<\d\+\.\d*\|\.\d\+\)\%([eE][-+]\=\d\+\)\=\|\<\d\+[eE][-+]\=\d\+\>"
syn region  tfcString    start=+"+ skip=+\\.+ end=+"+ oneline contains=tfcEscape
syn match   tfcEscape    +\\\%([abfnrtv\\"]\|x\x\{2}\|u\x\{4}\|U\x\{8}\|\o\{3}\)+ contained
syn match   tfcComment   "\%(#\|//\).*$" contains=tfcTodo,@Spell
syn keyword tfcTodo      TODO FIXME XXX NOTE contained

hi def link tfcDecl     Statement
hi def link tfcKeyword  Keyword
hi def link tfcType     Type
hi def link tfcSampler  Keyword
hi def link tfcBoot     Constant
hi def link tfcOp       Function
hi def link tfcOption   Identifier
hi def link tfcBuiltin  Special
hi def link tfcConst    Constant
hi def link tfcNumber   Number
hi def link tfcFloat    Float
hi def link tfcString   String
hi def link tfcEscape   SpecialChar
hi def link tfcComment  Comment
hi def link tfcTodo     Todo

let b:current_syntax = "tfc"
