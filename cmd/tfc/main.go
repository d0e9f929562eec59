// Command tfc compiles a .tf transformer description into a bootable x86
// disk image, and simulates, runs, disassembles and measures it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

const usage = `tfc compiles a transformer described in a .tf file into a bootable disk image.

Usage:
  tfc FILE.tf -o disk.img          build an image (same as tfc build)
  tfc build FILE.tf -o disk.img    build an image
  tfc run FILE.tf|disk.img         build if needed, boot in QEMU, stream the story
  tfc sim FILE.tf                  run the model on the host, in the image's arithmetic
  tfc check FILE.tf                every check a build makes, writing nothing
  tfc asm FILE.tf -o out.asm       the image's code as NASM source
  tfc size FILE.tf                 code bytes per operation and runtime piece
  tfc import model.bin [-z tok.bin] a .tf file for a llama2.c or llm.c GPT-2 checkpoint
  tfc web FILE.tf -o site/         a web page that boots the image in the browser (v86)

Run 'tfc COMMAND --help' for a command's flags.
`

// exitError carries the exit status: 1 for errors in the input or the
// build, 2 for usage errors.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &exitError{2, fmt.Sprintf(format, a...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	err := dispatch(args, stdout, stderr)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "tfc:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, formatError(err))
	return 1
}

func dispatch(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{2, ""}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "build":
		return cmdBuild(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "sim":
		return cmdSim(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "asm":
		return cmdAsm(args[1:], stdout, stderr)
	case "size":
		return cmdSize(args[1:], stdout, stderr)
	case "import":
		return cmdImport(args[1:], stdout, stderr)
	case "web":
		return cmdWeb(args[1:], stdout, stderr)
	}
	if strings.HasSuffix(args[0], ".tf") || strings.HasPrefix(args[0], "-") {
		return cmdBuild(args, stdout, stderr)
	}
	return usageErrorf("unknown command %q (run tfc --help)", args[0])
}

// parseFlags parses flags placed before and after the one positional
// argument, as `tfc sim --float FILE.tf --steps 200` writes them.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (string, error) {
	fs.SetOutput(stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", &exitError{2, ""}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", &exitError{2, fmt.Sprintf("%s: want one input file, got %d", fs.Name(), len(pos))}
	}
	return pos[0], nil
}

func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tfc %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
