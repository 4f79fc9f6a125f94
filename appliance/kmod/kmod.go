// Package kmod loads the kernel modules the image carries: the board's early
// list at boot, the drivers its devices ask for (coldplug, by modalias, as
// udev would), and modules the kernel itself requests (the modprobe helper
// behind /proc/sys/kernel/modprobe).
package kmod

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"
)

// Loader loads modules from one modules directory (/lib/modules/VERSION).
type Loader struct {
	dir     string
	prober  *kmodule.Prober
	aliases []alias
	softdep map[string][]string // module -> softdep pre: entries (names or aliases)
	loaded  map[string]bool
	// Took records how long each module took to load, slowest boot
	// steps are explained from it.
	Took map[string]time.Duration
}

type alias struct{ pattern, module string }

// New reads modules.dep and modules.alias of the running kernel's modules
// directory under root ("/" on the box).
func New(root string) (*Loader, error) {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return nil, fmt.Errorf("uname: %w", err)
	}
	dir := filepath.Join(root, "lib", "modules", unix.ByteSliceToString(uts.Release[:]))
	return NewAt(dir)
}

// NewAt is New for an explicit modules directory.
func NewAt(dir string) (*Loader, error) {
	p, err := kmodule.NewProber(kmodule.ProbeOpts{RootDir: "/", KVer: filepath.Base(dir)})
	if err != nil {
		return nil, fmt.Errorf("read modules.dep in %s: %w", dir, err)
	}
	aliases, err := readAliases(filepath.Join(dir, "modules.alias"))
	if err != nil {
		return nil, err
	}
	return &Loader{dir: dir, prober: p, aliases: aliases, softdep: readSoftdeps(filepath.Join(dir, "modules.softdep")), loaded: map[string]bool{}, Took: map[string]time.Duration{}}, nil
}

// Load loads a module and what it depends on. A module already loaded, or
// built into the kernel, is not an error.
func (l *Loader) Load(name string) error {
	if l.loaded[name] {
		return nil
	}
	l.loaded[name] = true
	// Soft dependencies first: ext4 and libcrc32c fail with ENOENT when no
	// crc32c driver is there when they start.
	for _, pre := range l.softdep[name] {
		for _, m := range l.Resolve(pre) {
			l.Load(m)
		}
	}
	start := time.Now()
	err := l.prober.Probe(name, "")
	l.Took[name] = time.Since(start)
	if err != nil && !errors.Is(err, unix.EEXIST) && !strings.Contains(err.Error(), "builtin") {
		return fmt.Errorf("load module %s: %w", name, err)
	}
	return nil
}

// LoadList loads each module of a list file (one name a line), going on past
// failures, and returns them all joined.
func (l *Loader) LoadList(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read module list: %w", err)
	}
	var errs []error
	for _, name := range strings.Fields(string(data)) {
		if err := l.Load(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Coldplug loads the modules that match the modalias of every device in
// sysfs, repeating while new devices appear (a storage controller's driver
// brings up disks that want sd_mod). It returns the modules it loaded.
func (l *Loader) Coldplug(sysfs string) ([]string, error) {
	var all []string
	var errs []error
	for pass := 0; pass < 4; pass++ {
		var loaded []string
		for _, ma := range modaliases(sysfs) {
			// CPU feature aliases pull in accelerated crypto (aesni, pclmul),
			// slow to self-test under emulation and not needed to boot: the
			// late list loads what IPsec needs.
			if strings.HasPrefix(ma, "cpu:") {
				continue
			}
			for _, m := range l.Match(ma) {
				if l.loaded[m] {
					continue
				}
				if err := l.Load(m); err != nil {
					// A driver that finds no device it can drive fails to
					// load (ENODEV); that is not worth failing the boot.
					if !errors.Is(err, unix.ENODEV) {
						errs = append(errs, err)
					}
					l.loaded[m] = true
					continue
				}
				loaded = append(loaded, m)
			}
		}
		if len(loaded) == 0 {
			break
		}
		all = append(all, loaded...)
	}
	return all, errors.Join(errs...)
}

// Match returns the modules whose aliases match a device's modalias.
func (l *Loader) Match(modalias string) []string {
	var mods []string
	seen := map[string]bool{}
	for _, a := range l.aliases {
		if seen[a.module] {
			continue
		}
		if ok, _ := filepath.Match(a.pattern, modalias); ok {
			seen[a.module] = true
			mods = append(mods, a.module)
		}
	}
	return mods
}

// Resolve turns what the kernel asks modprobe for (a module name or an
// alias such as crypto-gcm(aes) or net-pf-16) into module names.
func (l *Loader) Resolve(request string) []string {
	if _, err := os.Stat(filepath.Join(l.dir, "modules.dep")); err == nil {
		if mods := l.Match(request); len(mods) > 0 {
			return mods
		}
	}
	return []string{strings.ReplaceAll(request, "-", "_")}
}

func readAliases(path string) ([]alias, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read modules.alias: %w", err)
	}
	defer f.Close()
	var as []alias
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "alias" {
			as = append(as, alias{pattern: fields[1], module: fields[2]})
		}
	}
	return as, sc.Err()
}

// modaliases lists the modalias of every device under sysfs/devices.
func modaliases(sysfs string) []string {
	var out []string
	filepath.WalkDir(filepath.Join(sysfs, "devices"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type()&os.ModeSymlink != 0 {
			return nil
		}
		if d.Name() == "modalias" {
			if data, err := os.ReadFile(p); err == nil {
				if s := strings.TrimSpace(string(data)); s != "" {
					out = append(out, s)
				}
			}
		}
		return nil
	})
	return out
}

// readSoftdeps reads the "pre:" part of modules.softdep lines.
func readSoftdeps(path string) map[string][]string {
	m := map[string][]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "softdep" {
			continue
		}
		mod := strings.ReplaceAll(f[1], "-", "_")
		pre := false
		for _, w := range f[2:] {
			switch w {
			case "pre:":
				pre = true
			case "post:":
				pre = false
			default:
				if pre {
					m[mod] = append(m[mod], w)
				}
			}
		}
	}
	return m
}

// Slowest returns the n modules that took longest to load, for boot logs.
func (l *Loader) Slowest(n int) []string {
	names := make([]string, 0, len(l.Took))
	for k := range l.Took {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return l.Took[names[i]] > l.Took[names[j]] })
	if len(names) > n {
		names = names[:n]
	}
	out := make([]string, len(names))
	for i, k := range names {
		out[i] = fmt.Sprintf("%s=%dms", k, l.Took[k].Milliseconds())
	}
	return out
}
