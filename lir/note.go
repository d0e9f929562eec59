package lir

import (
	"fmt"

	"tfc/ir"
)

// OpNote names an op's code in dumps, size reports and profiles: its kind
// and what it writes ("matmul t5", "store kv").
func OpNote(op *ir.Op) string { return fmt.Sprintf("%v %s", op.Kind, op.Writes()) }
