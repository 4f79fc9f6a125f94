package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// extrasList is the list of programs that go into the slot's squashfs.
const extrasList = "image/extras"

// extra is one file of the squashfs: where it comes from, where it goes.
type extra struct{ src, dst string }

// readExtras parses image/extras, resolving relative sources against the
// build folder and dropping optional files that are not there.
func readExtras(path, buildDir string) ([]extra, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var out []extra
	var warnings []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 2 {
			return nil, nil, fmt.Errorf("%s:%d: want SOURCE [DESTINATION], got %q", path, n, line)
		}
		src := fields[0]
		optional := strings.HasPrefix(src, "?")
		src = strings.TrimPrefix(src, "?")
		if !filepath.IsAbs(src) {
			src = filepath.Join(buildDir, src)
		}
		dst := src
		if len(fields) == 2 {
			dst = fields[1]
		}
		if !strings.HasPrefix(dst, "/usr/") {
			return nil, nil, fmt.Errorf("%s:%d: %s is not under /usr, where the squashfs is mounted", path, n, dst)
		}
		if _, err := os.Stat(src); err != nil {
			if optional {
				warnings = append(warnings, fmt.Sprintf("%s not built yet: left out of the image", src))
				continue
			}
			return nil, nil, fmt.Errorf("%s:%d: %s is missing (is its Debian package installed?)", path, n, src)
		}
		out = append(out, extra{src, dst})
	}
	return out, warnings, sc.Err()
}

// sharedLibs asks ldd which libraries the files load. u-root's pkg/ldd
// only follows programs with an interpreter, and charon's plugins are
// shared objects whose own libraries (libcrypto) matter as much.
func sharedLibs(files []string) ([]string, error) {
	seen := map[string]bool{}
	for _, f := range files {
		out, err := exec.Command("ldd", f).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "not a dynamic executable") {
				continue // static (the ziti router)
			}
			return nil, fmt.Errorf("ldd %s: %v\n%s", f, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			_, right, ok := strings.Cut(line, "=>")
			if !ok {
				continue
			}
			fields := strings.Fields(right)
			if len(fields) > 0 && strings.HasPrefix(fields[0], "/") {
				seen[fields[0]] = true
			}
		}
	}
	var libs []string
	for l := range seen {
		libs = append(libs, l)
	}
	sort.Strings(libs)
	return libs, nil
}

// libDestination puts a library under /usr/lib whatever its host path
// (/lib/x86_64-linux-gnu/libc.so.6 → /usr/lib/x86_64-linux-gnu/libc.so.6).
func libDestination(lib string) string {
	if strings.HasPrefix(lib, "/usr/") {
		return lib
	}
	return "/usr" + lib
}

// buildExtras stages the extras with their libraries and packs them into a
// zstd squashfs for the ESP slot.
func (b *builder) buildExtras() error {
	buildDir := filepath.Dir(b.out)
	list, warnings, err := readExtras(extrasList, buildDir)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Printf("      note: %s\n", w)
	}
	var srcs []string
	for _, e := range list {
		srcs = append(srcs, e.src)
	}
	libs, err := sharedLibs(srcs)
	if err != nil {
		return err
	}
	for _, l := range libs {
		real, err := filepath.EvalSymlinks(l)
		if err != nil {
			return err
		}
		list = append(list, extra{real, libDestination(l)})
		srcs = append(srcs, real)
	}
	sqfs := filepath.Join(b.out, "extras.sqfs")
	return b.step("extras squashfs (charon, router)", append(srcs, extrasList), "v1", []string{sqfs}, func() error {
		stage := filepath.Join(b.out, "extras")
		os.RemoveAll(stage)
		for _, e := range list {
			fi, err := os.Stat(e.src)
			if err != nil {
				return err
			}
			if err := copyFile(e.src, filepath.Join(stage, strings.TrimPrefix(e.dst, "/usr/")), fi.Mode().Perm()); err != nil {
				return fmt.Errorf("stage %s: %w", e.src, err)
			}
		}
		os.Remove(sqfs)
		if err := sh("mksquashfs", stage, sqfs, "-comp", "zstd", "-Xcompression-level", "19", "-noappend", "-all-root", "-quiet", "-no-progress"); err != nil {
			return err
		}
		fmt.Printf("      %d files (%d of them libraries)\n", len(list), len(libs))
		return nil
	})
}
