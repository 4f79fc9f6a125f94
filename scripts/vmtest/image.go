// Package vmtest boots the built Tunneler image in qemu and lets a test meet
// it from the outside, as an operator would: the serial console as a stream
// to wait on, QMP for the power button and ctrl-alt-del, NICs on networks
// the test owns, and HTTP to the management side.
//
// Each VM gets its own copy-on-write overlay of the built disk, and
// everything (qemu, overlays, namespaces) is torn down when the test ends,
// even when it fails. qemu runs under TCG; set TUNNELER_KVM=1 to use KVM
// (it hangs on the machines this project is built on).
package vmtest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// Manifest is what image/mkimage writes beside the artifacts.
type Manifest struct {
	Board         string           `json:"board"`
	Version       string           `json:"version"`
	KernelVersion string           `json:"kernel_version"`
	Cmdline       string           `json:"cmdline"`
	Sizes         map[string]int64 `json:"sizes"`
	ESPOffset     int64            `json:"esp_offset"`
	PermOffset    int64            `json:"perm_offset"`
	PermSize      int64            `json:"perm_size"`
}

// Image is one built board's artifacts.
type Image struct {
	Dir      string
	Manifest Manifest
}

func (im *Image) Kernel() string { return filepath.Join(im.Dir, "vmlinuz") }
func (im *Image) Initrd() string { return filepath.Join(im.Dir, "initrd") }
func (im *Image) Qcow2() string  { return filepath.Join(im.Dir, "disk.qcow2") }
func (im *Image) Raw() string    { return filepath.Join(im.Dir, "disk.img") }

// ConvertedBack converts the built disk in another format (disk.vmdk,
// disk.vhdx) back to a raw disk with qemu-img, as an operator moving a VM
// between hypervisors would, and returns its path (a Base for Start).
func (im *Image) ConvertedBack(t testing.TB, name, format string) string {
	t.Helper()
	testenv.RequireCommand(t, "qemu-img")
	raw := filepath.Join(t.TempDir(), name+".raw")
	out, err := exec.Command("qemu-img", "convert", "-f", format, "-O", "raw", filepath.Join(im.Dir, name), raw).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img convert %s to raw: %v\n%s", name, err, out)
	}
	return raw
}

// BuildDir is where `make image` put its output: $TUNNELER_BUILD, or the
// build folder at the module root.
func BuildDir() (string, error) {
	if d := os.Getenv("TUNNELER_BUILD"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "build"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Board is the board under test: $TUNNELER_BOARD, or generic.
func Board() string {
	if b := os.Getenv("TUNNELER_BOARD"); b != "" {
		return b
	}
	return "generic"
}

// LoadImage finds the built image, or skips (fails under make test) with
// what to run.
func LoadImage(t testing.TB) *Image {
	t.Helper()
	build, err := BuildDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(build, Board())
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		testenv.Skip(t, fmt.Sprintf("no built image in %s: run make image", dir))
	}
	im := &Image{Dir: dir}
	if err := json.Unmarshal(data, &im.Manifest); err != nil {
		t.Fatalf("read %s/manifest.json: %v", dir, err)
	}
	return im
}

// ArtifactDir is where tests leave consoles and screenshots for a person to
// look at: build/artifacts/TEST.
func ArtifactDir(t testing.TB) string {
	build, err := BuildDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(build, "artifacts", sanitize(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sanitize(s string) string {
	r := []rune(s)
	for i, c := range r {
		if c == '/' || c == ' ' || c == ':' {
			r[i] = '_'
		}
	}
	return string(r)
}
