package isel

import (
	. "tfc/codegen/x86_16"
	"tfc/ir"
)

// loadWeight sign-extends the weight at [base+index*size+disp] into eax.
func (e *emitter) loadWeight(q *ir.Param, base, index Reg, disp uint32) {
	eb := elemBytes(q)
	m := e.far(Ptr32(base, index, eb, int32(disp)), ES)
	if eb == 1 {
		e.i(MOVSX, EAX, B(m))
	} else {
		e.i(MOVSX, EAX, W(m))
	}
}

// matmul: for each row, acc = Σ w·x in ebp:ebx, t = rshr(acc, 16),
// y = rshr(t·m, B). ecx counts columns down and indexes both the row and
// x, so x needs no register of its own. Fused params lie back to back in
// memory and in the destination, so one loop runs over all their rows.
func (e *emitter) matmul(op *ir.Op, l *Layout) {
	// Parts whose weights follow each other in memory share one loop.
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

func (e *emitter) matmulRows(q *ir.Param, rows int, in, out *ir.Var, l *Layout) {
	loc := l.Params[q]
	cols := q.Cols
	eb := uint32(elemBytes(q))
	x := l.VarAddr(in)
	e.pointParam(ESI, loc, 0)
	e.i(MOV, EDI, Imm(int64(l.VarAddr(out))))
	e.i(MOV, low16(addrCount), Imm(int64(rows)))
	row, col := e.fresh("row"), e.fresh("col")
	e.label(row)
	e.i(XOR, EBX, EBX)
	e.i(XOR, EBP, EBP)
	e.i(MOV, ECX, Imm(int64(cols)))
	e.label(col)
	// Weight c-1 of the row, after the row's multiplier.
	e.loadWeight(q, ESI, ECX, 4-eb)
	e.i(IMUL, m32(NoReg, ECX, 4, x-4))
	e.i(ADD, EBX, EAX)
	e.i(ADC, EBP, EDX)
	e.loop(col)
	e.rshrPair(EBX, EBP, ir.MatmulPreShift)
	e.i(MOV, EAX, EBX)
	e.i(IMUL, e.far(m32(ESI, NoReg, 1, 0), ES))
	e.rshr64(q.Q.Shift)
	e.i(MOV, m32(EDI, NoReg, 1, 0), EAX)
	e.i(ADD, EDI, Imm(4))
	e.i(ADD, ESI, Imm(int64(loc.RowBytes)))
	e.i(DEC, low16(addrCount))
	e.i(JNE, Label(row))
}

// embed: row token of the table, each weight times the row's multiplier,
// rshr B.
func (e *emitter) embed(op *ir.Op, l *Layout) {
	q := op.Params[0]
	loc := l.Params[q]
	eb := uint32(elemBytes(q))
	e.pointParam(ESI, loc, 0)
	e.i(MOVZX, EAX, low16(addrTok))
	e.i(IMUL, EAX, EAX, Imm(int64(loc.RowBytes)))
	e.i(ADD, ESI, EAX)
	e.i(MOV, EBX, e.far(m32(ESI, NoReg, 1, 0), ES))
	e.i(ADD, ESI, Imm(4))
	dst := l.VarAddr(op.Dst)
	e.i(MOV, ECX, Imm(int64(q.Cols)))
	top := e.fresh("emb")
	e.label(top)
	e.loadWeight(q, ESI, ECX, -eb)
	e.i(IMUL, EBX)
	e.rshr64(q.Q.Shift)
	e.i(MOV, m32(NoReg, ECX, 4, dst-4), EAX)
	e.loop(top)
}
