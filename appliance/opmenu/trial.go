package opmenu

import (
	"fmt"
	"io"

	"github.com/tunneler/tunneler/appliance/control"
)

// The items shown while a change is on trial: keep it, or go back now.

// onTrial reports whether a change is on trial.
func (b *Menu) onTrial() bool { return b.Settings != nil && b.Settings.Trial() != nil }

func (b *Menu) confirmTrial(w io.Writer) error {
	t := b.Settings.Trial()
	if err := b.Settings.ConfirmTrial(control.FromConsole); err != nil {
		return err
	}
	fmt.Fprintf(w, "Generation %d confirmed: it stays.\n", t.Generation)
	return nil
}

func (b *Menu) revertTrial(w io.Writer) error {
	t := b.Settings.Trial()
	if err := b.Settings.RevertTrial(control.FromConsole); err != nil {
		return err
	}
	fmt.Fprintf(w, "Going back from generation %d to the settings of generation %d.\n", t.Generation, t.Previous)
	return nil
}
