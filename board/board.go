// Package board describes the targets the image is built for: the drivers
// their kernel must have built in, which kernel they boot, and the kernel
// command line.
//
// A profile lives in board/NAME/ as text files, `drivers` and `cmdline`, and
// either its own kernel (board/NAME/kernel: config fragment, build script,
// the built vmlinuz and its stamp) or a `kernel-board` file naming the board
// whose kernel it boots. Adding a board means adding a folder, not code.
package board

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed */drivers */cmdline
var profiles embed.FS

// kernelBoards maps a board to the board whose kernel it boots, for boards
// without a kernel folder of their own.
//
//go:embed */kernel-board
var kernelBoards embed.FS

// Profile is one board: the drivers its kernel has built in, where that
// kernel lives, and its cmdline.
type Profile struct {
	Name string
	// Drivers are module names (as in modules.builtin) the kernel must
	// have built in: the image loads no modules.
	Drivers []string
	// KernelDir is the kernel's folder relative to board/, e.g.
	// generic/kernel: build.sh, config, vmlinuz, vmlinuz.stamp.
	KernelDir string
	// Cmdline is the kernel command line the boot loaders pass.
	Cmdline string
}

// Names lists the profiles that exist.
func Names() []string {
	entries, _ := fs.ReadDir(profiles, ".")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Load reads the named profile.
func Load(name string) (Profile, error) {
	drivers, err := fs.ReadFile(profiles, name+"/drivers")
	if err != nil {
		return Profile{}, fmt.Errorf("board %q: no such profile (have %s)", name, strings.Join(Names(), ", "))
	}
	p := Profile{Name: name, KernelDir: name + "/kernel"}
	if p.Drivers, err = ParseDrivers(string(drivers)); err != nil {
		return Profile{}, fmt.Errorf("board %q: drivers: %w", name, err)
	}
	if other, err := fs.ReadFile(kernelBoards, name+"/kernel-board"); err == nil {
		p.KernelDir = ParseCmdline(string(other)) + "/kernel"
	}
	cmdline, err := fs.ReadFile(profiles, name+"/cmdline")
	if err != nil {
		return Profile{}, fmt.Errorf("board %q: cmdline: %w", name, err)
	}
	p.Cmdline = ParseCmdline(string(cmdline))
	return p, nil
}

// ParseCmdline joins a cmdline file's words into one line: words may sit
// on several lines, and `#` starts a comment that says why a word is there.
func ParseCmdline(text string) string {
	var words []string
	for _, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		words = append(words, strings.Fields(line)...)
	}
	return strings.Join(words, " ")
}

// ParseDrivers parses a drivers file: one module name a line, `#`
// comments. Names are normalised as the kernel does (- to _).
func ParseDrivers(text string) ([]string, error) {
	var drivers []string
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.ContainsAny(line, " \t/[]"):
			return nil, fmt.Errorf("line %d: %q is not a module name", n, line)
		}
		name := NormalizeModule(line)
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("line %d: driver %s already listed on line %d", n, name, prev)
		}
		seen[name] = n
		drivers = append(drivers, name)
	}
	return drivers, sc.Err()
}

// NormalizeModule returns the kernel's name for a module: file names may use
// dashes where the module name has underscores.
func NormalizeModule(name string) string {
	name = strings.TrimSuffix(name, ".ko")
	return strings.ReplaceAll(name, "-", "_")
}

// MissingDrivers returns the drivers of the list that a kernel's
// modules.builtin (one kernel/.../NAME.ko path a line) does not name.
func MissingDrivers(drivers []string, modulesBuiltin string) []string {
	have := map[string]bool{}
	for _, path := range strings.Fields(modulesBuiltin) {
		base := path[strings.LastIndexByte(path, '/')+1:]
		have[NormalizeModule(base)] = true
	}
	var missing []string
	for _, d := range drivers {
		if !have[d] {
			missing = append(missing, d)
		}
	}
	return missing
}
