package opmenu

import (
	"context"
	"fmt"
	"io"

	"github.com/tunneler/tunneler/appliance/console"
	"github.com/tunneler/tunneler/appliance/install"
)

// Installer is the installer as the menu uses it (install.Installer).
type Installer interface {
	Disks() (disks []install.Disk, need int64, err error)
	Install(ctx context.Context, target install.Disk, w io.Writer, progress install.Progress) error
}

// installToDisk lists the disks, asks for one by name and for its name
// again before erasing it, and installs with progress.
func (b *Menu) installToDisk(s *console.Session) error {
	disks, need, err := b.Installer.Disks()
	if err != nil {
		return err
	}
	s.Printf("Disks of this machine:\n")
	for _, d := range disks {
		s.Printf("  %s\n", d)
	}
	s.Printf("The box needs a disk of at least %d MiB. Everything on the disk chosen is erased.\n", need>>20)
	name, ok := s.Ask("Name of the disk to install to (Enter cancels): ")
	if !ok {
		return io.EOF
	}
	if name == "" {
		s.Printf("Cancelled.\n")
		return nil
	}
	var target *install.Disk
	for i := range disks {
		if disks[i].Name == name {
			target = &disks[i]
		}
	}
	if target == nil {
		s.Printf("There is no disk named %q. Nothing was written.\n", name)
		return nil
	}
	if err := install.Check(*target, need); err != nil {
		s.Printf("Refused: %v. Nothing was written.\n", err)
		return nil
	}
	again, ok := s.Ask(fmt.Sprintf("Erase %s (%s) and install? Type %s again to go on: ", target.Name, target.Model, target.Name))
	if !ok {
		return io.EOF
	}
	if again != target.Name {
		s.Printf("Cancelled. Nothing was written.\n")
		return nil
	}
	b.logf("installing onto %s (%s) from the console", target.Name, target.Model)
	shown := -10 // the first report, 0%, is printed
	err = b.Installer.Install(context.Background(), *target, s, func(done, total int64) {
		if pct := int(done * 100 / total); pct/10 != shown/10 {
			shown = pct
			s.Printf("  written %d of %d MiB (%d%%)\n", done>>20, total>>20, pct)
		}
	})
	if err != nil {
		b.logf("install onto %s failed: %v", target.Name, err)
		return fmt.Errorf("install onto %s: %w", target.Name, err)
	}
	b.logf("installed onto %s", target.Name)
	s.Printf("Installed on %s. Remove the stick and reboot (menu entry 9).\n", target.Name)
	return nil
}
