package isel

import (
	"strings"

	"tfc/ir"
)

// RegionName names an op's code in size reports: its kind, what it writes
// and the params it reads, so that two rmsnorms of one var stay apart.
func RegionName(op *ir.Op) string {
	name := op.Kind.String() + " " + op.Writes()
	if len(op.Params) > 0 {
		var ps []string
		for _, q := range op.Params {
			ps = append(ps, q.Name)
		}
		name += " (" + strings.Join(ps, ", ") + ")"
	}
	return name
}
