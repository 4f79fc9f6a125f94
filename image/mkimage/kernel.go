package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tunneler/tunneler/board"
)

// kernelPackage finds the versioned package linux-image-amd64 points at,
// preferring a .deb already in the cache so an offline rebuild works.
func (b *builder) kernelPackage() (string, error) {
	out, err := output("apt-cache", "depends", "linux-image-amd64")
	if err == nil {
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimSpace(line)
			if pkg, ok := strings.CutPrefix(line, "Depends: "); ok && strings.HasPrefix(pkg, "linux-image-") {
				return pkg, nil
			}
		}
	}
	debs, _ := filepath.Glob(filepath.Join(b.cache, "linux-image-*-amd64_*.deb"))
	if len(debs) > 0 {
		sort.Strings(debs)
		base := filepath.Base(debs[len(debs)-1])
		return base[:strings.IndexByte(base, '_')], nil
	}
	return "", fmt.Errorf("cannot tell which kernel linux-image-amd64 means (run apt-get update?): %v", err)
}

// fetchKernel downloads Debian's kernel package and unpacks it into the cache.
func (b *builder) fetchKernel() error {
	pkg, err := b.kernelPackage()
	if err != nil {
		return err
	}
	b.kernelVersion = strings.TrimPrefix(pkg, "linux-image-")
	b.kernelTree = filepath.Join(b.cache, pkg)
	vmlinuz := filepath.Join(b.kernelTree, "boot", "vmlinuz-"+b.kernelVersion)
	modulesDep := filepath.Join(b.kernelTree, "lib", "modules", b.kernelVersion, "modules.dep")
	return b.step("kernel "+pkg, nil, pkg, []string{vmlinuz, modulesDep}, func() error {
		debs, _ := filepath.Glob(filepath.Join(b.cache, pkg+"_*.deb"))
		if len(debs) == 0 {
			fmt.Printf("      downloading %s from Debian ...\n", pkg)
			dl := exec.Command("apt-get", "download", pkg)
			dl.Dir = b.cache
			dl.Stdout, dl.Stderr = os.Stdout, os.Stderr
			if err := dl.Run(); err != nil {
				return fmt.Errorf("apt-get download %s: %w", pkg, err)
			}
			debs, _ = filepath.Glob(filepath.Join(b.cache, pkg+"_*.deb"))
			if len(debs) == 0 {
				return fmt.Errorf("apt-get download %s left no .deb in %s", pkg, b.cache)
			}
		}
		os.RemoveAll(b.kernelTree)
		if err := sh("dpkg-deb", "-x", debs[0], b.kernelTree); err != nil {
			return err
		}
		// Debian ships no modules.dep: make it for the whole tree once, so
		// each board can take the closure of its own list.
		return sh("depmod", "-b", b.kernelTree, b.kernelVersion)
	})
}

// stageModules copies the board's modules and everything they depend on
// into the initramfs stage, runs depmod there, and writes the load lists.
func (b *builder) stageModules() error {
	modDir := filepath.Join(b.kernelTree, "lib", "modules", b.kernelVersion)
	stageMods := filepath.Join(b.stage, "lib", "modules", b.kernelVersion)
	listsDir := filepath.Join(b.stage, "etc", "tunneler")
	extra := strings.Join(b.board.All(), ",") + b.kernelVersion + "softdep-v2"
	return b.step("modules for board "+b.board.Name, nil, extra, []string{filepath.Join(stageMods, "modules.dep")}, func() error {
		deps, err := readModulesDep(filepath.Join(modDir, "modules.dep"))
		if err != nil {
			return err
		}
		builtin, _ := readBuiltin(filepath.Join(modDir, "modules.builtin"))
		soft, err := readSoftdeps(modDir)
		if err != nil {
			return err
		}
		files := map[string]bool{}
		var missing []string
		for _, name := range b.board.All() {
			if builtin[name] {
				continue // built into the kernel: nothing to load
			}
			if _, ok := deps.byName[name]; !ok {
				missing = append(missing, name)
				continue
			}
			deps.closure(name, files)
		}
		// Soft dependencies (ext4 and libcrc32c want a crc32c driver) are
		// loaded by name or alias at run time: take them and their closure.
		for changed := true; changed; {
			changed = false
			for f := range files {
				for _, want := range soft[moduleName(f)] {
					if p, ok := deps.byName[want]; ok && !files[p] {
						deps.closure(want, files)
						changed = true
					}
				}
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("board %s lists modules kernel %s does not have: %s", b.board.Name, b.kernelVersion, strings.Join(missing, ", "))
		}
		os.RemoveAll(filepath.Join(b.stage, "lib", "modules"))
		for f := range files {
			if err := copyFile(filepath.Join(modDir, f), filepath.Join(stageMods, f), 0o644); err != nil {
				return fmt.Errorf("copy module %s: %w", f, err)
			}
		}
		for _, f := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
			if err := copyFile(filepath.Join(modDir, f), filepath.Join(stageMods, f), 0o644); err != nil {
				return err
			}
		}
		if err := sh("depmod", "-b", b.stage, b.kernelVersion); err != nil {
			return err
		}
		fmt.Printf("      %d modules (%d listed, the rest their dependencies)\n", len(files), len(b.board.All()))
		if err := os.MkdirAll(listsDir, 0o755); err != nil {
			return err
		}
		for name, list := range map[string][]string{"modules-early": b.board.Early, "modules-late": b.board.Late} {
			var keep []string
			for _, m := range list {
				if !builtin[m] {
					keep = append(keep, m)
				}
			}
			if err := os.WriteFile(filepath.Join(listsDir, name), []byte(strings.Join(keep, "\n")+"\n"), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

// modulesDep is modules.dep indexed by module name.
type modulesDep struct {
	byName map[string]string   // name -> relative path
	deps   map[string][]string // relative path -> relative paths it needs
}

func readModulesDep(path string) (*modulesDep, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read modules.dep: %w", err)
	}
	defer f.Close()
	md := &modulesDep{byName: map[string]string{}, deps: map[string][]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		md.byName[moduleName(mod)] = mod
		md.deps[mod] = strings.Fields(rest)
	}
	return md, sc.Err()
}

func (md *modulesDep) closure(name string, into map[string]bool) {
	path := md.byName[name]
	into[path] = true
	for _, d := range md.deps[path] {
		into[d] = true // modules.dep lists the full transitive set
	}
}

func readBuiltin(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, line := range strings.Fields(string(data)) {
		m[moduleName(line)] = true
	}
	return m, nil
}

// moduleName turns kernel/fs/ext4/ext4.ko into ext4.
func moduleName(path string) string {
	base := filepath.Base(path)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	return board.NormalizeModule(base)
}

// readSoftdeps maps each module to the modules its softdep lines name, with
// aliases (crypto-crc32c) resolved through modules.alias.
func readSoftdeps(modDir string) (map[string][]string, error) {
	aliases := map[string][]string{}
	if data, err := os.ReadFile(filepath.Join(modDir, "modules.alias")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == "alias" && !strings.ContainsAny(f[1], "*?[") {
				aliases[f[1]] = append(aliases[f[1]], f[2])
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(modDir, "modules.softdep"))
	if err != nil {
		return nil, fmt.Errorf("read modules.softdep: %w", err)
	}
	soft := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "softdep" {
			continue
		}
		mod := board.NormalizeModule(f[1])
		for _, w := range f[2:] {
			if strings.HasSuffix(w, ":") {
				continue // pre: / post:
			}
			if names, ok := aliases[w]; ok {
				for _, n := range names {
					soft[mod] = append(soft[mod], board.NormalizeModule(n))
				}
			} else {
				soft[mod] = append(soft[mod], board.NormalizeModule(w))
			}
		}
	}
	return soft, nil
}
