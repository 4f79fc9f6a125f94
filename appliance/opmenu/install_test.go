package opmenu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/install"
)

type fakeInstaller struct {
	disks     []install.Disk
	installed []string
}

func (f *fakeInstaller) Disks() ([]install.Disk, int64, error) { return f.disks, 440 << 20, nil }

func (f *fakeInstaller) Install(_ context.Context, d install.Disk, w io.Writer, progress install.Progress) error {
	f.installed = append(f.installed, d.Name)
	for done := int64(0); done <= 160<<20; done += 16 << 20 {
		progress(done, 160<<20)
	}
	fmt.Fprintf(w, "UEFI boot entry added.\n")
	return nil
}

func TestInstallToDisk(t *testing.T) {
	disks := []install.Disk{
		{Name: "nvme0n1", Model: "Samsung SSD", Size: 250 << 30},
		{Name: "sda", Model: "SanDisk Ultra", Size: 16 << 30, Removable: true, Boot: true},
		{Name: "sdb", Model: "Tiny", Size: 100 << 20},
	}
	for _, tc := range []struct {
		name, typed string
		installed   []string
		want        []string
	}{
		{"cancelled", "\n", nil, []string{"nvme0n1", "<- the box runs from this disk", "at least 440 MiB", "Cancelled."}},
		{"unknown disk", "sdz\n", nil, []string{`There is no disk named "sdz". Nothing was written.`}},
		{"the boot disk", "sda\n", nil, []string{"Refused: sda: the box runs from this disk: pick the internal disk, not the stick"}},
		{"too small", "sdb\n", nil, []string{"Refused: sdb: the disk is too small: it holds 100 MiB, the box needs at least 440 MiB"}},
		{"name not typed again", "nvme0n1\nyes\n", nil, []string{"Type nvme0n1 again to go on:", "Cancelled. Nothing was written."}},
		{"installed", "nvme0n1\nnvme0n1\n", []string{"nvme0n1"}, []string{"written 0 of 160 MiB (0%)", "written 80 of 160 MiB (50%)",
			"written 160 of 160 MiB (100%)", "UEFI boot entry added.", "Installed on nvme0n1. Remove the stick and reboot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeInstaller{disks: disks}
			b := &Menu{Installer: f}
			m := &console.Menu{Title: "T", Items: b.Items()}
			var out bytes.Buffer
			if err := m.Serve(strings.NewReader("20\n"+tc.typed), &out); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("console lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Join(f.installed, ",") != strings.Join(tc.installed, ",") {
				t.Errorf("installed onto %v, want %v", f.installed, tc.installed)
			}
		})
	}
	// Without an installer (not booted from a disk) there is no entry.
	var out bytes.Buffer
	m := &console.Menu{Title: "T", Items: (&Menu{}).Items()}
	m.Serve(strings.NewReader("\n"), &out)
	if strings.Contains(out.String(), "Install to internal disk") {
		t.Errorf("the menu offers to install without an installer:\n%s", out.String())
	}
}
