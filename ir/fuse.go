package ir

// fuseMatmuls merges matmuls that read the same input within a block into
// one op over the concatenation of their weights, so the image runs one
// loop over all their rows; their results become views of one new var. A
// later matmul is moved up to the first only when nothing in between reads
// or writes its destination or writes the input. Weights of any scheme
// fuse: the image stores a multiplier with every row, and one shift B
// serves all params (quantize).
func fuseMatmuls(p *Program) error {
	// The image stores a fused matmul's params as one run of rows, so each
	// may belong to that matmul alone.
	uses := map[*Param]int{}
	p.Ops(func(_ int, op *Op) {
		for _, q := range op.Params {
			uses[q]++
		}
	})
	fusable := func(op *Op) bool {
		return op.Kind == MatMul && op.Dst.Parent == nil && len(op.Params) == 1 && uses[op.Params[0]] == 1
	}
	for b, ops := range p.Blocks {
		for i := 0; i < len(ops); i++ {
			first := ops[i]
			if !fusable(first) {
				continue
			}
			for j := i + 1; j < len(ops); j++ {
				cand := ops[j]
				if fusable(cand) && cand.Args[0] == first.Args[0] && sameScheme(first.Params[0], cand.Params[0]) &&
					canHoist(ops[i+1:j], cand) && !aliases(cand.Dst, first.Args[0]) {
					first.Params = append(first.Params, cand.Params...)
					first.Parts = append(first.Parts, cand.Parts...)
					ops = append(ops[:j], ops[j+1:]...)
					j--
				}
			}
			if len(first.Parts) > 1 {
				fused := &Var{Name: "", Len: first.Rows()}
				off := 0
				for k, part := range first.Parts {
					if k > 0 {
						fused.Name += "+"
					}
					fused.Name += part.Name
					part.Parent, part.Offset = fused, off
					off += part.Len
				}
				p.Vars = append(p.Vars, fused)
				first.Dst = fused
			}
		}
		p.Blocks[b] = ops
	}
	return nil
}

// sameScheme: the fused rows must have one element size and lie in the
// same region (per layer or not).
func sameScheme(a, b *Param) bool { return a.Quant.Type == b.Quant.Type && a.PerLayer == b.PerLayer }

// canHoist reports whether op may move before all of between.
func canHoist(between []*Op, op *Op) bool {
	for _, o := range between {
		if o.Dst != nil && (aliases(o.Dst, op.Dst) || aliases(o.Dst, op.Args[0])) {
			return false
		}
		for _, a := range o.Args {
			if aliases(a, op.Dst) {
				return false
			}
		}
	}
	return true
}

// aliases reports whether two vars share memory.
func aliases(a, b *Var) bool {
	ra, oa := a.Root()
	rb, ob := b.Root()
	return ra == rb && oa < ob+b.Len && ob < oa+a.Len
}
