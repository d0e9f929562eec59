// Command tfc compiles a .tf transformer description into a bootable x86
// disk image, and simulates, runs, disassembles and measures it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

const usage = `tfc compiles a transformer described in a .tf file into a bootable disk image.

Usage:
  tfc FILE.tf -o disk.img          build an image (same as tfc build)
  tfc build FILE.tf -o disk.img    build an image
  tfc run FILE.tf|disk.img         build if needed, boot in QEMU, stream the story
  tfc sim FILE.tf                  run the model on the host, in the image's arithmetic
  tfc check FILE.tf                every check a build makes, writing nothing
  tfc fmt [-w] FILE.tf…            the canonical form of .tf files (-w rewrites them)
  tfc asm FILE.tf -o out.asm       the image's code as NASM source
  tfc size FILE.tf                 code bytes per operation and runtime piece
  tfc import model.bin [-z tok.bin] a .tf file for a llama2.c or llm.c GPT-2 checkpoint
  tfc web FILE.tf -o site/         a web page that boots the image in the browser (v86)

Run 'tfc COMMAND --help' for a command's flags, 'tfc --version' for the version.
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
	if os.Getenv("GOGC") == "" {
		// The loop generator's size policy allocates each kernel many
		// times over and keeps little. Builds at the default 100 against
		// 400 (time, peak memory): mha-random.tf 4.2 s, 44 MB against
		// 3.3 s, 85 MB; stories15M.tf 2.6 s, 544 MB against 2.4 s,
		// 827 MB; stories110M.tf 16.7 s, 2.8 GB against 13.7 s, 3.1 GB.
		debug.SetGCPercent(400)
	}
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
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "fmt":
		return cmdFmt(args[1:], stdout, stderr)
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
		printFlags(fs)
	}
	return fs
}

// flagName is a flag as the README writes it: --name, but -o, -d, -w, -l
// and -Os/-O2 with one dash (the flag package takes either).
func flagName(name string) string {
	if len(name) == 1 || name == "Os" || name == "O2" {
		return "-" + name
	}
	return "--" + name
}

// printFlags is flag.PrintDefaults with the names in flagName's form.
func printFlags(fs *flag.FlagSet) {
	w := fs.Output()
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		line := "  " + flagName(f.Name)
		if typ != "" {
			line += " " + typ
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" {
			if typ == "string" {
				d = strconv.Quote(d)
			}
			line += " (default " + d + ")"
		}
		fmt.Fprintln(w, line)
	})
}

// version is set by the release build (-ldflags "-X main.version=v1.2.3");
// otherwise the module's version and the commit come from the build info.
var version = ""

// versionString is what tfc --version prints: the version, the commit it
// was built from (with its date, and "modified" for a dirty tree) and Go's
// version and target.
func versionString() string {
	v := version
	var rev, when string
	modified := false
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	var parts []string
	if rev != "" {
		parts = append(parts, "commit "+rev[:min(len(rev), 12)])
	}
	if when != "" {
		parts = append(parts, when)
	}
	if modified {
		parts = append(parts, "modified")
	}
	s := "tfc " + v
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s + " " + goruntime.Version() + " " + goruntime.GOOS + "/" + goruntime.GOARCH
}
