package ir

import (
	"testing"

	"tfc/op"
)

// A row of the op table is only half an op until the simulators know its
// kind: this names the missing half.
func TestEveryOpHasSemantics(t *testing.T) {
	for k := op.Kind(0); k < op.NumKinds; k++ {
		if intOps[k] == nil {
			t.Errorf("%v has no integer semantics (intOps)", k)
		}
		if floatOps[k] == nil {
			t.Errorf("%v has no float semantics (floatOps)", k)
		}
	}
	for _, r := range op.Rows {
		if r.Table == op.GateTable && gateFuncs[r.Func] == nil {
			t.Errorf("%s: no gate function (gateFuncs)", r.Name)
		}
	}
}
