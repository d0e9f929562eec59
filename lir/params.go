package lir

import (
	"encoding/binary"

	"tfc/ir"
)

// param is q's buffer, made once: its layer slices as the image stores
// them (ParamBytes). The params of a fused matmul that one loop runs
// share one (rowRun).
func (lw *lowerer) param(q *ir.Param) *Buf {
	if b := lw.params[q]; b != nil {
		return b
	}
	b := lw.buf(&Buf{Name: q.Name, Kind: BufParam, PerLayer: q.PerLayer, Size: paramSize(q), Of: q})
	lw.params[q] = b
	return b
}

// ParamBytes is layer l's slice of param buffer b as the image stores
// it: its param's (paramBytes), or its params' one after the other.
func ParamBytes(b *Buf, l int) []byte {
	if run, ok := b.Of.([]*ir.Param); ok {
		var out []byte
		for _, q := range run {
			out = append(out, paramBytes(q, l)...)
		}
		return out
	}
	return paramBytes(b.Of.(*ir.Param), l)
}

// paramBytes is layer l's slice of q as the image stores it: fixed params
// as int32; quantized ones row by row, each row its weights (int8 or int16)
// then its multiplier (int32), whatever the scale groups, so that one
// matmul reads every scheme.
func paramBytes(q *ir.Param, l int) []byte {
	if q.Q.W == nil {
		// Shapes only (ir.Options.ShapesOnly): zero weights and multipliers.
		return make([]byte, paramSize(q))
	}
	w := q.Slice(l)
	b := make([]byte, 0, paramSize(q))
	if q.Quant.Type == "fixed" {
		for _, v := range w {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
		return b
	}
	for r := 0; r < q.Rows; r++ {
		for _, v := range w[r*q.Cols : (r+1)*q.Cols] {
			if q.Q.Bits == 8 {
				b = append(b, byte(int8(v)))
			} else {
				b = binary.LittleEndian.AppendUint16(b, uint16(int16(v)))
			}
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(q.Mult(q.Layer(l), r)))
	}
	return b
}

// paramSize is the size of one layer's slice of q as ParamBytes stores it.
func paramSize(q *ir.Param) int64 {
	if q.Quant.Type == "fixed" {
		return int64(q.Rows * q.Cols * 4)
	}
	return int64(q.Rows) * rowBytes(q)
}

// rowBytes is the size of one stored row of a quantized param.
func rowBytes(q *ir.Param) int64 { return multAt(q) + 4 }

// multAt is where a stored row's multiplier starts in it: after the
// weights, where a pointer that read them has come to.
func multAt(q *ir.Param) int64 { return int64(q.Cols * q.Q.Bits / 8) }

// rowRun is the params of a fused matmul from part i that one loop over
// their rows can run: those after the first that store their rows as it
// does (the same columns, quantization and layer slicing), that no other
// op reads, in one buffer that holds them one after the other (within
// LowerOptions.MaxBuf), as their parts are consecutive views of the
// matmul's destination. It returns the first param, the buffer, the rows
// of them all and how many params it takes.
func (lw *lowerer) rowRun(op *ir.Op, i int) (*ir.Param, *Buf, int, int) {
	first, uses := op.Params[i], lw.uses()
	j, size := i+1, paramSize(first)
	for ; j < len(op.Params) && uses[first] == 1; j++ {
		q := op.Params[j]
		if q.Cols != first.Cols || q.Q.Bits != first.Q.Bits || q.Q.Shift != first.Q.Shift ||
			q.Quant.Type != first.Quant.Type || q.PerLayer != first.PerLayer || uses[q] != 1 ||
			lw.o.MaxBuf > 0 && size+paramSize(q) > lw.o.MaxBuf {
			break
		}
		size += paramSize(q)
	}
	if j == i+1 {
		return first, lw.param(first), first.Rows, 1
	}
	run := op.Params[i:j]
	name, rows := "", 0
	for k, q := range run {
		if k > 0 {
			name += "+"
		}
		name += q.Name
		rows += q.Rows
	}
	b := lw.buf(&Buf{Name: name, Kind: BufParam, PerLayer: first.PerLayer, Size: size, Of: run})
	for _, q := range run {
		lw.params[q] = b
	}
	return first, b, rows, j - i
}

// uses counts the ops that read each param.
func (lw *lowerer) uses() map[*ir.Param]int {
	if lw.paramUses == nil {
		lw.paramUses = map[*ir.Param]int{}
		lw.p.Ops(func(_ int, o *ir.Op) {
			for _, q := range o.Params {
				lw.paramUses[q]++
			}
		})
	}
	return lw.paramUses
}
