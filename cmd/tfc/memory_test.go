package main

import (
	"encoding/json"
	"strings"
	"testing"

	"tfc/codegen"
)

// tfc size and build print the memory an image needs, tfc run gives QEMU
// that much (at least its default), and --memory-size overrides it: with
// 1 MiB the loader of a flat image says so and stops.
func TestMemoryNeeded(t *testing.T) {
	if got := codegen.MemoryMiBFor(0); got != 128 {
		t.Errorf("MemoryMiBFor(0) = %d, want QEMU's 128", got)
	}
	if got := codegen.MemoryMiBFor(200<<20 + 1); got != 203 {
		t.Errorf("MemoryMiBFor(200 MiB + 1) = %d, want 201 + 2", got)
	}
	const ex = "../../examples/gpt2-random.tf"
	code, stdout, stderr := runCLI("size", "--json", "--memory", "flat", ex)
	var j struct {
		Data  int   `json:"data_bytes"`
		Needs int64 `json:"memory_bytes"`
	}
	if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != 0 || j.Needs <= int64(j.Data)+1<<20 {
		t.Errorf("size --json: exit %d, %v, memory %d bytes, data %d (%s)", code, err, j.Needs, j.Data, stderr)
	}
	_, stdout, _ = runCLI("size", ex)
	if !strings.Contains(stdout, "; needs ") || !strings.Contains(stdout, " MiB) of memory)") {
		t.Errorf("tfc size says nothing of memory:\n%s", stdout)
	}
	needQEMU(t)
	code, stdout, stderr = runCLI("run", "--memory-size", "1", "--memory", "flat", ex)
	if code != 1 || !strings.Contains(stdout, "not enough memory") || !strings.Contains(stderr, "needs ") {
		t.Errorf("tfc run --memory-size 1: exit %d, COM1 %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr = runCLI("run", "--memory-size", "-3", ex); code != 2 {
		t.Errorf("--memory-size -3: exit %d, %q", code, stderr)
	}
}
