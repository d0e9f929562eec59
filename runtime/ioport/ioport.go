// Package ioport holds the I/O ports that the images and the QEMU harness
// must agree on. It is its own package so that both runtime/ (which writes
// to them) and qemu/ (which configures the devices behind them) can import
// it, while runtime's tests import qemu.
package ioport

// The isa-debug-exit device: a guest write of v to DebugExit ends QEMU
// with exit status v*2+1.
const (
	DebugExit     = 0xf4
	DebugExitSize = 0x04
)
