package isel

import (
	"fmt"

	x86 "tfc/codegen/x86_16"
	"tfc/ir"
)

// matmul runs a shared subroutine per row shape over the op's rows. Fused
// params lie back to back in memory and in the destination, so one call
// covers the parts whose weights follow each other.
func (e *fast) matmul(op *ir.Op, l *Layout) {
	start := 0
	for i := 1; i <= len(op.Params); i++ {
		if i < len(op.Params) {
			prev, cur := l.Params[op.Params[i-1]], l.Params[op.Params[i]]
			size, _ := sliceBytes(op.Params[i-1])
			if cur.PerLayer == prev.PerLayer && cur.Addr == prev.Addr+uint32(size) {
				continue
			}
		}
		rows := 0
		for _, q := range op.Params[start:i] {
			rows += q.Rows
		}
		e.matmulRows(op.Params[start], rows, op.Args[0], op.Parts[start], l)
		start = i
	}
}

// mmBias is added to the row and x pointers of the matmul subroutine, so
// that signed 8-bit displacements reach 128 weights and 64 activations.
const mmBias = 128

func (e *fast) matmulRows(q *ir.Param, rows int, in, out *ir.Var, l *Layout) {
	name, args := e.matmulSub(q, l)
	e.pointParam(args[0], l.Params[q], mmBias)
	e.i(x86.LEA, x86.EAX, x86.D(x86.Ptr32(args[0], x86.NoReg, 1, int32(rows*l.Params[q].RowBytes))))
	e.i(x86.MOV, low32(addrEnd), x86.EAX)
	e.i(x86.MOV, args[1], x86.Imm(int64(l.VarAddr(in)+mmBias)))
	e.i(x86.MOV, low32(addrY), x86.Imm(int64(l.VarAddr(out))))
	e.i(x86.CALL, x86.Label(name))
}

// matmulSub is the row loop of one shape (columns, weight size): per row,
// acc = Σ w·x in 64 bits, unrolled over the columns with displacements;
// t = rshr(acc, 16), y = rshr(t·m, B) with the row's multiplier m.
// Arguments: w (the first row, plus mmBias) and x (plus mmBias); y in
// addrY, the end of the rows (plus mmBias) in addrEnd. A memory operand
// costs more than a few register operations, so the weights are read a
// dword at a time (two int16 or four int8, split in registers), which
// leaves no register for y.
func (e *fast) matmulSub(q *ir.Param, l *Layout) (string, []x86.Reg) {
	cols, eb, shift := q.Cols, elemBytes(q), q.Q.Shift
	rowBytes := l.Params[q].RowBytes
	name := fmt.Sprintf("matmul.%dx%d.%d", cols, eb*8, shift)
	return e.sub(name, func(k *kern) {
		w, x, lo, hi, t := k.v(), k.v(), k.v(), k.v(), k.v()
		k.in(w, x)
		row := name + ".row"
		k.label(row)
		mac := func(j int) {
			k.i(x86.IMUL, x86.D(x86.Ptr32(x, x86.NoReg, 1, int32(4*j-mmBias))))
			if j == 0 {
				k.i(x86.MOV, lo, x86.EAX)
				k.i(x86.MOV, hi, x86.EDX)
			} else {
				k.i(x86.ADD, lo, x86.EAX)
				k.i(x86.ADC, hi, x86.EDX)
			}
		}
		k.unpack(eb, cols, func(off int32) x86.Mem { return e.far(x86.Ptr32(w, x86.NoReg, 1, 4-mmBias+off), x86.ES) }, t, mac)
		k.rshrPair(lo, hi, ir.MatmulPreShift)
		k.i(x86.MOV, x86.EAX, lo)
		k.i(x86.IMUL, x86.D(e.far(x86.Ptr32(w, x86.NoReg, 1, -mmBias), x86.ES)))
		k.rshr64(shift)
		k.i(x86.MOV, t, low32(addrY))
		k.i(x86.MOV, x86.D(x86.Ptr32(t, x86.NoReg, 1, 0)), x86.EAX)
		k.i(x86.ADD, t, x86.Imm(4))
		k.i(x86.MOV, low32(addrY), t)
		k.i(x86.ADD, w, x86.Imm(int64(rowBytes)))
		k.i(x86.CMP, w, low32(addrEnd))
		k.i(x86.JNE, x86.Label(row))
		k.i(x86.RET)
	})
}

// embed: row token of the table, each weight times the row's multiplier,
// rshr B.
func (e *fast) embed(op *ir.Op, l *Layout) {
	q := op.Params[0]
	loc := l.Params[q]
	eb := elemBytes(q)
	e.opSub(func(k *kern) {
		w, m := k.v(), k.v()
		k.pointParam(w, loc)
		k.i(x86.MOVZX, x86.EAX, low16(addrTok))
		k.i(x86.IMUL, x86.EAX, x86.EAX, x86.Imm(int64(loc.RowBytes)))
		k.i(x86.ADD, w, x86.EAX)
		k.i(x86.MOV, m, x86.D(e.far(x86.Ptr32(w, x86.NoReg, 1, 0), x86.ES)))
		dst := l.VarAddr(op.Dst)
		k.elems(q.Cols, func(el elem) {
			wm := e.far(el.scaled(w, eb, 4), x86.ES)
			if eb == 1 {
				k.i(x86.MOVSX, x86.EAX, x86.B(wm))
			} else {
				k.i(x86.MOVSX, x86.EAX, x86.W(wm))
			}
			k.i(x86.IMUL, m)
			k.rshr64(q.Q.Shift)
			k.i(x86.MOV, el.at(dst), x86.EAX)
		})
	})
}
