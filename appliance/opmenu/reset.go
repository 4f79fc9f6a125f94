package opmenu

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tunneler/tunneler/appliance/config"
)

// The items that take the box back: the setup code, resetting the admin
// password (setup mode again) and the factory reset.

func (b *Menu) showSetupCode(w io.Writer) error {
	code := ""
	if b.SetupCode != nil {
		code = b.SetupCode()
	}
	if code == "" {
		fmt.Fprintf(w, "The box has an admin password, so there is no setup code. Use 5 to reset the password.\n")
		return nil
	}
	fmt.Fprintf(w, "Setup code: %s\n", code)
	return nil
}

func (b *Menu) resetAdmin(w io.Writer) error {
	if err := b.change(w, "admin password reset", func(c config.Config) (config.Config, error) {
		return ResetAdmin(c), nil
	}); err != nil {
		return err
	}
	code := b.EnterSetupMode()
	fmt.Fprintf(w, "Admin password removed. SETUP MODE. Setup code: %s\n", code)
	return nil
}

// Wipe removes every file of the config store (all generations and
// secrets) and syncs the directory.
func Wipe(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("wipe config store: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		if err := d.Sync(); err != nil {
			errs = append(errs, err)
		}
		d.Close()
	}
	return errors.Join(errs...)
}

func (b *Menu) factoryReset(w io.Writer) error {
	if b.FactoryReset == nil {
		return errors.New("/perm is not mounted: there is no config store to erase (use 8 to format /perm)")
	}
	if err := b.FactoryReset(); err != nil {
		return err
	}
	b.logf("console menu: factory reset: config store erased")
	fmt.Fprintf(w, "Config erased. Rebooting into setup mode.\n")
	return nil
}
