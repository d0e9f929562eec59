package main

import "io"

// The image commands arrive with code generation (issue 4).
func cmdBuild(args []string, stdout, stderr io.Writer) error {
	return usageErrorf("build: code generation is not implemented yet")
}
func cmdRun(args []string, stdout, stderr io.Writer) error {
	return usageErrorf("run: code generation is not implemented yet")
}
func cmdAsm(args []string, stdout, stderr io.Writer) error {
	return usageErrorf("asm: code generation is not implemented yet")
}
func cmdSize(args []string, stdout, stderr io.Writer) error {
	return usageErrorf("size: code generation is not implemented yet")
}
