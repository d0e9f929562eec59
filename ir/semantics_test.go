package ir

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"tfc/op"
)

// A row of the op table is only half an op until the simulators know its
// kind: this names the missing half.
func TestEveryOpHasSemantics(t *testing.T) {
	for k := op.Kind(0); k < op.NumKinds; k++ {
		assert.NotNil(t, intOps[k], "%v has no integer semantics (intOps)", k)
		assert.NotNil(t, floatOps[k], "%v has no float semantics (floatOps)", k)
	}
	for _, r := range op.Rows {
		if r.Table == op.GateTable {
			assert.NotNil(t, gateFuncs[r.Func], "%s: no gate function (gateFuncs)", r.Name)
		}
	}
}
