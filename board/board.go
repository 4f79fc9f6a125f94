// Package board describes the targets the image is built for: which kernel
// modules go in, which are loaded when, and the kernel command line.
//
// A profile lives in board/NAME/ as two text files, `modules` and `cmdline`,
// so adding a board means adding a folder, not code.
package board

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed */modules */cmdline
var profiles embed.FS

// Profile is one board: its modules by when they load, and its cmdline.
type Profile struct {
	Name string
	// Early modules load at every boot, in order, before the firewall.
	Early []string
	// Hardware modules load when a device's modalias asks for them.
	Hardware []string
	// Late modules load after the banner, before charon starts.
	Late []string
	// Cmdline is the kernel command line the boot loaders pass.
	Cmdline string
}

// All returns every module of the profile, in list order.
func (p Profile) All() []string {
	var all []string
	all = append(all, p.Early...)
	all = append(all, p.Hardware...)
	return append(all, p.Late...)
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
	mods, err := fs.ReadFile(profiles, name+"/modules")
	if err != nil {
		return Profile{}, fmt.Errorf("board %q: no such profile (have %s)", name, strings.Join(Names(), ", "))
	}
	p, err := ParseModules(string(mods))
	if err != nil {
		return Profile{}, fmt.Errorf("board %q: modules: %w", name, err)
	}
	cmdline, err := fs.ReadFile(profiles, name+"/cmdline")
	if err != nil {
		return Profile{}, fmt.Errorf("board %q: cmdline: %w", name, err)
	}
	p.Name = name
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

// ParseModules parses a modules file: `[section]` headers, one module name
// a line, `#` comments. Names are normalised as the kernel does (- to _).
func ParseModules(text string) (Profile, error) {
	var p Profile
	var section *[]string
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
			continue
		case line == "[early]":
			section = &p.Early
		case line == "[hardware]":
			section = &p.Hardware
		case line == "[late]":
			section = &p.Late
		case strings.HasPrefix(line, "["):
			return Profile{}, fmt.Errorf("line %d: unknown section %s (want [early], [hardware] or [late])", n, line)
		case strings.ContainsAny(line, " \t/"):
			return Profile{}, fmt.Errorf("line %d: %q is not a module name", n, line)
		case section == nil:
			return Profile{}, fmt.Errorf("line %d: module %q before any section", n, line)
		default:
			name := NormalizeModule(line)
			if prev, dup := seen[name]; dup {
				return Profile{}, fmt.Errorf("line %d: module %s already listed on line %d", n, name, prev)
			}
			seen[name] = n
			*section = append(*section, name)
		}
	}
	return p, sc.Err()
}

// NormalizeModule returns the kernel's name for a module: file names may use
// dashes where the module name has underscores.
func NormalizeModule(name string) string {
	name = strings.TrimSuffix(name, ".ko")
	return strings.ReplaceAll(name, "-", "_")
}
