package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"tfc/codegen"
)

// tfc size and build print the memory an image needs, tfc run gives QEMU
// that much (at least its default), and --memory-size overrides it: with
// 1 MiB the loader of a flat image says so and stops.
func TestMemoryNeeded(t *testing.T) {
	assert.Equal(t, 128, codegen.MemoryMiBFor(0), "MemoryMiBFor(0): QEMU's 128")
	assert.Equal(t, 203, codegen.MemoryMiBFor(200<<20+1), "MemoryMiBFor(200 MiB + 1): 201 + 2")
	const ex = "../../examples/gpt2-random.tf"
	code, stdout, stderr := runCLI("size", "--json", "--memory", "flat", ex)
	var j struct {
		Data  int   `json:"data_bytes"`
		Needs int64 `json:"memory_bytes"`
	}
	assert.NoError(t, json.Unmarshal([]byte(stdout), &j), "size --json (stderr %s)", stderr)
	assert.Equal(t, 0, code, "size --json: exit code (stderr %s)", stderr)
	assert.Greater(t, j.Needs, int64(j.Data)+1<<20, "size --json: the memory bytes, more than the data's %d and 1 MiB", j.Data)
	_, stdout, _ = runCLI("size", ex)
	assert.Contains(t, stdout, "; needs ", "tfc size says nothing of memory")
	assert.Contains(t, stdout, " MiB) of memory)", "tfc size says nothing of memory")
	needQEMU(t)
	code, stdout, stderr = runCLI("run", "--memory-size", "1", "--memory", "flat", ex)
	assert.Equal(t, 1, code, "tfc run --memory-size 1: exit code (COM1 %q, stderr %q)", stdout, stderr)
	assert.Contains(t, stdout, "not enough memory", "tfc run --memory-size 1: COM1")
	assert.Contains(t, stderr, "needs ", "tfc run --memory-size 1: stderr")
	code, _, stderr = runCLI("run", "--memory-size", "-3", ex)
	assert.Equal(t, 2, code, "--memory-size -3: exit code (stderr %q)", stderr)
}
