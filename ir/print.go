package ir

import (
	"fmt"
	"io"
	"strings"

	"tfc/op"
)

// Print writes the IR as text: params with their storage, caches, vars and
// views, tables, then the three blocks, one op a line.
func Print(w io.Writer, p *Program) {
	fmt.Fprintf(w, "program %s dim=%d hidden=%d layers=%d heads=%d kv_heads=%d vocab=%d context=%d\n",
		p.Name, p.Dim, p.Hidden, p.Layers, p.Heads, p.KVHeads, p.Vocab, p.Context)
	for _, q := range p.Params {
		layer := ""
		if q.PerLayer {
			layer = fmt.Sprintf("%d x ", q.Layers)
		}
		fmt.Fprintf(w, "param %s [%s%d x %d] %s", q.Name, layer, q.Rows, q.Cols, q.Quant.Type)
		if q.Quant.Per != "" {
			fmt.Fprintf(w, " per %s", q.Quant.Per)
		}
		if q.Q != nil && q.Q.M != nil {
			fmt.Fprintf(w, " (%d scales, shift %d)", len(q.Q.M), q.Q.Shift)
		}
		fmt.Fprintln(w)
	}
	for _, c := range p.Caches {
		fmt.Fprintf(w, "cache %s [%d x %d x %d] int%d per token_head (head %d)\n", c.Name, c.Layers, c.Context, c.Width, c.Bits, c.HeadDim)
	}
	for _, v := range p.Vars {
		if v.Parent != nil {
			fmt.Fprintf(w, "var %s [%d] = %s[%d:%d]\n", v.Name, v.Len, v.Parent.Name, v.Offset, v.Offset+v.Len)
		} else {
			fmt.Fprintf(w, "var %s [%d]\n", v.Name, v.Len)
		}
	}
	for _, t := range p.Tables {
		fmt.Fprintf(w, "table %s [%d]\n", t.Name, len(t.Data))
	}
	for b, ops := range p.Blocks {
		fmt.Fprintf(w, "%s:\n", blockNames[b])
		for _, op := range ops {
			fmt.Fprintf(w, "  %s\n", op)
		}
	}
}

// String prints one op: `dst = kind operands`.
func (o *Op) String() string {
	var args []string
	for _, q := range o.Params {
		args = append(args, q.Name)
	}
	r := o.Row()
	if r == nil {
		r = &op.Row{} // an op outside the table, which Verify is reporting
	}
	for _, k := range r.Args {
		if k == op.Token {
			args = append(args, "token")
		}
	}
	if o.Cache != nil {
		args = append(args, o.Cache.Name)
	}
	for _, a := range o.Args {
		args = append(args, a.Name)
	}
	if o.HeadDim != 0 {
		args = append(args, fmt.Sprintf("head=%d", o.HeadDim))
	}
	if o.Kind == Scale {
		args = append(args, fmt.Sprintf("c=%g", o.Num))
	}
	for _, name := range r.NonDefault(o.Opts) {
		args = append(args, fmt.Sprintf("%s=%g", name, o.Opts[name]))
	}
	if r.ReadsPos {
		args = append(args, "pos")
	}
	if o.Table != nil {
		args = append(args, "table="+o.Table.Name)
	}
	name := o.Kind.String()
	if o.Func != "" {
		name += "." + o.Func
	}
	s := name + " " + strings.Join(args, ", ")
	switch {
	case o.Kind == MatMul && len(o.Parts) > 1:
		var parts []string
		for _, v := range o.Parts {
			parts = append(parts, v.Name)
		}
		return fmt.Sprintf("%s (%s) = %s", o.Dst.Name, strings.Join(parts, ", "), s)
	case o.Dst != nil:
		return o.Dst.Name + " = " + s
	case r.Ends:
		return "next = " + s
	}
	return s
}
