package vmtest

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// The remote device's image: a small initramfs made from Debian's own
// packages (the cloud kernel, busybox, stock strongSwan with kernel-netlink,
// and libreswan), so the remote site runs real kernel ESP in a VM of its
// own. It is built once per set of package versions and kept in a cache.

// remoteKernelMeta is the meta package that names Debian's current cloud
// kernel: it has ESP, XFRM and virtio, and boots faster than the generic
// one (fewer drivers to probe).
const remoteKernelMeta = "linux-image-cloud-amd64"

// remotePackages are what the device is made of besides the kernel: the
// daemons and, closed over by hand, the packages that carry the libraries
// their programs need. The build fails naming any library none carries.
var remotePackages = []string{
	"busybox-static",
	"strongswan-charon", "strongswan-swanctl", "strongswan-libcharon", "libstrongswan", "libstrongswan-standard-plugins",
	"libreswan", "libnss3-tools", "iproute2",
	// libraries
	"libc6", "libgcc-s1", "libssl3", "libgmp10", "libcrypt1", "libcap2", "libcap-ng0", "libaudit1", "libpam0g",
	"libselinux1", "libpcre2-8-0", "libsystemd0", "liblz4-1", "liblzma5", "libzstd1", "libgcrypt20", "libgpg-error0",
	"libnss3", "libnspr4", "libsqlite3-0", "zlib1g", "libunbound8", "libldns3", "libevent-2.1-7",
	"libevent-core-2.1-7", "libevent-pthreads-2.1-7", "libgnutls30", "libhogweed6", "libnettle8", "libidn2-0",
	"libunistring2", "libp11-kit0", "libffi8", "libtasn1-6", "libldap-2.5-0", "libsasl2-2", "libcurl3-nss",
	"libbrotli1", "libnghttp2-14", "libpsl5", "librtmp1", "libssh2-1", "libgssapi-krb5-2", "libkrb5-3",
	"libk5crypto3", "libkrb5support0", "libcom-err2", "libkeyutils1",
	"libbpf1", "libelf1", "libmnl0", "libbsd0", "libmd0",
}

// remoteCharonPlugins are the strongSwan plugins the device's charon loads
// (strongswan.conf's load list): those of a stock install that PSK IKEv1
// and IKEv2 with kernel ESP need.
var remoteCharonPlugins = []string{
	"random", "nonce", "openssl", "kdf", "pem", "pkcs1", "x509", "revocation", "constraints",
	"kernel-netlink", "socket-default", "vici",
}

// remoteRoots are the files of the extracted packages the device runs;
// their shared libraries are added by following DT_NEEDED.
func remoteRoots() []string {
	roots := []string{
		"bin/busybox", "bin/ip", // iproute2's ip: busybox's has no xfrm
		"usr/lib/ipsec/charon", "usr/sbin/swanctl",
		"usr/libexec/ipsec/pluto", "usr/libexec/ipsec/whack", "usr/libexec/ipsec/addconn",
		"usr/sbin/ipsec", "usr/libexec/ipsec/_updown", "usr/libexec/ipsec/_updown.xfrm",
		"usr/bin/certutil",
		// dlopen'ed, so not in any DT_NEEDED: NSS's soft token, and
		// libgcc_s, which glibc's pthread_cancel loads at charon's exit.
		"usr/lib/x86_64-linux-gnu/libsoftokn3.so", "usr/lib/x86_64-linux-gnu/libsoftokn3.chk",
		"usr/lib/x86_64-linux-gnu/libfreeblpriv3.so", "usr/lib/x86_64-linux-gnu/libfreeblpriv3.chk",
		"lib/x86_64-linux-gnu/libgcc_s.so.1",
		"lib64/ld-linux-x86-64.so.2",
	}
	for _, p := range remoteCharonPlugins {
		roots = append(roots, "usr/lib/ipsec/plugins/libstrongswan-"+p+".so")
	}
	return roots
}

// remoteModules are the kernel modules the device loads at boot, with
// their dependencies: its NICs, ESP with the ciphers both daemons offer by
// default, and the XFRM netlink interface.
var remoteModules = []string{
	"virtio_pci", "virtio_net", "esp4", "xfrm_user", "authenc", "authencesn", "echainiv", "seqiv",
	"gcm", "ghash-generic", "ctr", "cbc", "aesni-intel", "sha1_generic", "sha256_generic", "sha512_generic",
	"hmac", "drbg", "chacha20poly1305", "chacha_generic", "poly1305_generic", "des_generic",
}

// remoteLibDirs are where the dynamic linker looks (the init script sets
// LD_LIBRARY_PATH to the same, as the image has no ld.so.cache).
var remoteLibDirs = []string{"lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "usr/lib/ipsec"}

// remoteImageRevision changes when the recipe changes in a way the package
// versions do not show.
const remoteImageRevision = "2"

// RemoteImage is a built remote device: Debian's kernel and the initramfs.
type RemoteImage struct {
	Kernel, Initrd string
}

// remoteImageKey names a build: the package versions and the recipe.
func remoteImageKey(versions map[string]string) string {
	h := sha256.New()
	names := make([]string, 0, len(versions))
	for n := range versions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\n", n, versions[n])
	}
	fmt.Fprintf(h, "revision=%s\nplugins=%v\nroots=%v\nmodules=%v\ninit=%s\n",
		remoteImageRevision, remoteCharonPlugins, remoteRoots(), remoteModules, remoteInit)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// RemoteImageCacheDir is where built remote images are kept:
// $TUNNELER_REMOTEVM_CACHE, or /var/cache/tunneler/remotevm.
func RemoteImageCacheDir() string {
	if d := os.Getenv("TUNNELER_REMOTEVM_CACHE"); d != "" {
		return d
	}
	return "/var/cache/tunneler/remotevm"
}

// LoadRemoteImage returns the remote device's image, building it first
// when the cache has none for today's package versions (~30 s; seconds
// when cached).
func LoadRemoteImage(t testing.TB) *RemoteImage {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "apt-get", "apt-cache", "dpkg-deb", "depmod", "cpio", "gzip")
	im, err := buildRemoteImage(RemoteImageCacheDir(), t.Logf)
	if err != nil {
		t.Fatalf("build the remote device's image: %v", err)
	}
	return im
}

func buildRemoteImage(cache string, logf func(string, ...any)) (*RemoteImage, error) {
	versions, kernelPkg, err := remoteVersions()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, remoteImageKey(versions))
	im := &RemoteImage{Kernel: filepath.Join(dir, "vmlinuz"), Initrd: filepath.Join(dir, "initrd")}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	// One build at a time: parallel tests wait for the first.
	lock, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := flock(lock); err != nil {
		return nil, fmt.Errorf("lock %s: %w", cache, err)
	}
	if _, err := os.Stat(im.Initrd); err == nil {
		return im, nil
	}
	logf("building the remote device's image in %s (cached for these package versions)", dir)
	work, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	debs, extracted, out := filepath.Join(work, "debs"), filepath.Join(work, "x"), filepath.Join(work, "root")
	for _, d := range []string{debs, extracted, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	pkgs := append([]string{kernelPkg}, remotePackages...)
	if err := run(debs, "apt-get", append([]string{"download", "-q", "-o", "APT::Sandbox::User=root"}, pkgs...)...); err != nil {
		return nil, fmt.Errorf("download the remote device's packages: %w", err)
	}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	for _, f := range files {
		if err := run("", "dpkg-deb", "-x", f, extracted); err != nil {
			return nil, fmt.Errorf("extract %s: %w", filepath.Base(f), err)
		}
	}
	if err := copyWithLibraries(extracted, out, remoteRoots()); err != nil {
		return nil, err
	}
	// busybox --install would replace iproute2's ip by its own, which has
	// no xfrm: iproute2's goes first on PATH.
	if err := os.MkdirAll(filepath.Join(out, "usr/local/sbin"), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(out, "bin/ip"), filepath.Join(out, "usr/local/sbin/ip")); err != nil {
		return nil, err
	}
	kver, err := copyKernel(extracted, out, filepath.Join(work, "vmlinuz"))
	if err != nil {
		return nil, err
	}
	if err := writeRemoteInit(out, kver); err != nil {
		return nil, err
	}
	if err := run("", "sh", "-c", `cd "$1" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 > "$2"`,
		"cpio", out, filepath.Join(work, "initrd")); err != nil {
		return nil, fmt.Errorf("pack the initramfs: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	final := filepath.Join(work, "final")
	if err := os.Mkdir(final, 0o755); err != nil {
		return nil, err
	}
	for _, n := range []string{"vmlinuz", "initrd"} {
		if err := os.Rename(filepath.Join(work, n), filepath.Join(final, n)); err != nil {
			return nil, err
		}
	}
	os.RemoveAll(dir)
	if err := os.Rename(final, dir); err != nil {
		return nil, fmt.Errorf("keep the image in %s: %w", dir, err)
	}
	return im, nil
}

// remoteVersions asks apt for the candidate version of every package the
// image is made of, resolving the kernel meta package to its kernel.
func remoteVersions() (map[string]string, string, error) {
	meta, err := aptShow([]string{remoteKernelMeta})
	if err != nil {
		return nil, "", err
	}
	kernelPkg := firstDepends(meta[remoteKernelMeta].depends)
	if kernelPkg == "" {
		return nil, "", fmt.Errorf("apt-cache show %s names no kernel package in Depends", remoteKernelMeta)
	}
	pkgs := append([]string{kernelPkg}, remotePackages...)
	info, err := aptShow(pkgs)
	if err != nil {
		return nil, "", err
	}
	versions := map[string]string{}
	for _, p := range pkgs {
		v := info[p].version
		if v == "" {
			return nil, "", fmt.Errorf("apt knows no package %s (run apt-get update?)", p)
		}
		versions[p] = v
	}
	return versions, kernelPkg, nil
}

type aptPackage struct{ version, depends string }

func aptShow(pkgs []string) (map[string]aptPackage, error) {
	cmd := exec.Command("apt-cache", append([]string{"show", "--no-all-versions"}, pkgs...)...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return nil, fmt.Errorf("apt-cache show %s: %v %s (run apt-get update?)", strings.Join(pkgs, " "), err, msg)
	}
	return parseAptShow(string(out)), nil
}

// parseAptShow reads apt-cache show's stanzas: package name to version and
// Depends.
func parseAptShow(s string) map[string]aptPackage {
	m := map[string]aptPackage{}
	var name string
	var p aptPackage
	flush := func() {
		if name != "" {
			m[name] = p
		}
		name, p = "", aptPackage{}
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, ": ")
		switch {
		case line == "":
			flush()
		case !ok:
		case k == "Package":
			name = v
		case k == "Version":
			p.version = v
		case k == "Depends":
			p.depends = v
		}
	}
	flush()
	return m
}

// firstDepends returns the package name of a Depends field's first entry.
func firstDepends(depends string) string {
	first, _, _ := strings.Cut(depends, ",")
	first, _, _ = strings.Cut(first, "|")
	name, _, _ := strings.Cut(strings.TrimSpace(first), " ")
	return name
}

// copyWithLibraries copies roots from src to dst, and the shared libraries
// they need, found in remoteLibDirs under src, transitively.
func copyWithLibraries(src, dst string, roots []string) error {
	queue := append([]string(nil), roots...)
	seen := map[string]bool{}
	for len(queue) > 0 {
		rel := queue[0]
		queue = queue[1:]
		if seen[rel] {
			continue
		}
		seen[rel] = true
		real, err := resolveIn(src, rel)
		if err != nil {
			return err
		}
		if err := copyFile(real, filepath.Join(dst, rel)); err != nil {
			return err
		}
		needed, err := elfNeeded(real)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		for _, lib := range needed {
			found := ""
			for _, d := range remoteLibDirs {
				if _, err := os.Lstat(filepath.Join(src, d, lib)); err == nil {
					found = filepath.Join(d, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s, which none of the remote device's packages has: add its package to remotePackages", rel, lib)
			}
			queue = append(queue, found)
		}
	}
	return nil
}

// elfNeeded returns an ELF file's DT_NEEDED libraries; none for a script.
func elfNeeded(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		if _, ok := err.(*elf.FormatError); ok {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		return nil, nil // static: no dynamic section
	}
	return libs, nil
}

// resolveIn follows symlinks of rel inside the tree root (absolute links
// point into the tree, not the host).
func resolveIn(root, rel string) (string, error) {
	p := filepath.Join(root, rel)
	for i := 0; i < 16; i++ {
		fi, err := os.Lstat(p)
		if err != nil {
			return "", fmt.Errorf("the remote device's packages have no %s: %w", rel, err)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return p, nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			p = filepath.Join(root, target)
		} else {
			p = filepath.Join(filepath.Dir(p), target)
		}
	}
	return "", fmt.Errorf("%s: too many symlinks", rel)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyKernel copies the kernel to vmlinuz and the modules the device loads
// (remoteModules and what they depend on) into dst, with a modules.dep for
// busybox's modprobe. It returns the kernel version.
func copyKernel(src, dst, vmlinuz string) (string, error) {
	kernels, _ := filepath.Glob(filepath.Join(src, "boot", "vmlinuz-*"))
	if len(kernels) != 1 {
		return "", fmt.Errorf("want one kernel in the kernel package, found %v", kernels)
	}
	kver := strings.TrimPrefix(filepath.Base(kernels[0]), "vmlinuz-")
	if err := copyFile(kernels[0], vmlinuz); err != nil {
		return "", err
	}
	if err := run("", "depmod", "-b", src, kver); err != nil {
		return "", fmt.Errorf("depmod the remote device's kernel: %w", err)
	}
	moddir := filepath.Join("lib", "modules", kver)
	dep, err := os.ReadFile(filepath.Join(src, moddir, "modules.dep"))
	if err != nil {
		return "", err
	}
	builtin, err := os.ReadFile(filepath.Join(src, moddir, "modules.builtin"))
	if err != nil {
		return "", err
	}
	files, err := moduleClosure(string(dep), string(builtin), remoteModules)
	if err != nil {
		return "", err
	}
	for _, f := range append(files, "modules.builtin", "modules.order", "modules.builtin.modinfo") {
		if err := copyFile(filepath.Join(src, moddir, f), filepath.Join(dst, moddir, f)); err != nil {
			return "", err
		}
	}
	if err := run("", "depmod", "-b", dst, kver); err != nil {
		return "", fmt.Errorf("depmod the remote device's modules: %w", err)
	}
	return kver, nil
}

// moduleClosure returns the module files (paths in modules.dep) that
// loading want needs; a wanted module built into the kernel needs none.
func moduleClosure(modulesDep, modulesBuiltin string, want []string) ([]string, error) {
	norm := func(s string) string { return strings.ReplaceAll(s, "-", "_") }
	nameOf := func(path string) string {
		return norm(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".xz"), ".ko"))
	}
	deps := map[string][]string{} // module name → its file, then its dependencies' files
	for _, line := range strings.Split(modulesDep, "\n") {
		file, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		deps[nameOf(file)] = append([]string{file}, strings.Fields(rest)...)
	}
	builtin := map[string]bool{}
	for _, line := range strings.Fields(modulesBuiltin) {
		builtin[nameOf(line)] = true
	}
	var files []string
	seen := map[string]bool{}
	for _, w := range want {
		entry, ok := deps[norm(w)]
		if !ok {
			if builtin[norm(w)] {
				continue
			}
			return nil, fmt.Errorf("kernel module %s is neither a module nor built in", w)
		}
		for _, f := range entry {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	sort.Strings(files)
	return files, nil
}

// remoteInit is the device's /init: busybox mounts the basics, loads the
// modules, prepares both daemons' directories and serves a shell on the
// serial console, which the test drives (Remote.Sh).
const remoteInit = `#!/bin/busybox sh
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin /proc /sys /dev /run /tmp /var/log /var/lib /etc
/bin/busybox --install -s
. /etc/profile
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
ln -sf /run /var/run
exec 0</dev/console 1>/dev/console 2>&1
echo /sbin/modprobe > /proc/sys/kernel/modprobe
modprobe -a $(cat /etc/remote-modules) || echo "remote: some modules failed to load"
hostname remote
ip link set lo up
mkdir -p /etc/swanctl /run/pluto /var/lib/ipsec/nss /etc/ipsec.d
certutil -N -d sql:/var/lib/ipsec/nss --empty-password
echo "remote: ready"
while true; do setsid sh -c 'exec sh -i </dev/ttyS0 >/dev/ttyS0 2>&1'; done
`

func writeRemoteInit(root, kver string) error {
	if err := os.WriteFile(filepath.Join(root, "init"), []byte(remoteInit), 0o755); err != nil {
		return err
	}
	var mods []string
	for _, m := range remoteModules {
		mods = append(mods, strings.ReplaceAll(m, "-", "_"))
	}
	env := "export PATH=/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin:/usr/libexec/ipsec\nexport LD_LIBRARY_PATH=/" + strings.Join(remoteLibDirs, ":/") + "\n"
	for path, body := range map[string]string{
		"etc/remote-modules": strings.Join(mods, "\n") + "\n",
		"etc/profile":        env,
		"etc/passwd":         "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":          "root:x:0:\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func flock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
