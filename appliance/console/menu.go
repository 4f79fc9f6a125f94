package console

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Item is one entry of the console menu.
type Item struct {
	Key   string
	Title string
	// Confirm, when set, is asked before Run; the operator must type "yes".
	Confirm string
	// Shown hides the item when it returns false (nil: always shown).
	Shown func() bool
	Run   func(w io.Writer) error
	// Dialog, when set, runs instead of Run for items that ask the
	// operator questions (an address, a password).
	Dialog func(s *Session) error
}

// Session is one item's conversation with the operator on one console.
type Session struct {
	sc  *bufio.Scanner
	in  io.Reader
	Out io.Writer
}

// Write makes a Session an io.Writer for the item's output.
func (s *Session) Write(p []byte) (int, error) { return s.Out.Write(p) }

// Printf writes to the console.
func (s *Session) Printf(format string, args ...any) { fmt.Fprintf(s.Out, format, args...) }

// Ask prints question and returns the line typed, trimmed; ok is false
// when the console closed.
func (s *Session) Ask(question string) (answer string, ok bool) {
	fmt.Fprintf(s.Out, "%s", question)
	if !s.sc.Scan() {
		return "", false
	}
	return strings.TrimSpace(s.sc.Text()), true
}

// AskSecret is Ask with the terminal's echo turned off, when the console
// is a terminal, so a password typed does not show on screen or in a
// serial log.
func (s *Session) AskSecret(question string) (answer string, ok bool) {
	if f, isFile := s.in.(*os.File); isFile {
		if t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			quiet := *t
			quiet.Lflag &^= unix.ECHO
			if unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, &quiet) == nil {
				defer func() {
					unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
					fmt.Fprintln(s.Out)
				}()
			}
		}
	}
	return s.Ask(question)
}

// Confirm asks a yes/no question; only "yes" (or "y") says yes.
func (s *Session) Confirm(question string) bool {
	a, ok := s.Ask(question + " Type yes to go on: ")
	return ok && (strings.EqualFold(a, "yes") || strings.EqualFold(a, "y"))
}

// Menu is the operator's console menu, in the style of pfSense's.
type Menu struct {
	Title string
	Items []Item
}

// Serve runs the menu on one console until in ends: Enter shows the menu, a
// key runs its item. Nothing here gives a shell.
func (m *Menu) Serve(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		choice := strings.TrimSpace(sc.Text())
		if choice == "" {
			m.print(out)
			continue
		}
		item, ok := m.find(choice)
		if !ok {
			fmt.Fprintf(out, "No menu entry %q. Press Enter for the menu.\n", choice)
			continue
		}
		if item.Confirm != "" {
			fmt.Fprintf(out, "%s Type yes to go on: ", item.Confirm)
			if !sc.Scan() {
				break
			}
			if strings.TrimSpace(sc.Text()) != "yes" {
				fmt.Fprintf(out, "Cancelled.\n")
				continue
			}
		}
		var err error
		if item.Dialog != nil {
			err = item.Dialog(&Session{sc: sc, in: in, Out: out})
		} else {
			err = item.Run(out)
		}
		if err != nil {
			fmt.Fprintf(out, "%s failed: %v\n", item.Title, err)
		}
	}
	return sc.Err()
}

func (m *Menu) print(out io.Writer) {
	fmt.Fprintf(out, "\n %s\n", m.Title)
	for _, it := range m.Items {
		if it.Shown == nil || it.Shown() {
			fmt.Fprintf(out, "  %2s) %s\n", it.Key, it.Title)
		}
	}
	fmt.Fprintf(out, " Enter an option: ")
}

func (m *Menu) find(key string) (Item, bool) {
	for _, it := range m.Items {
		if it.Key == key && (it.Shown == nil || it.Shown()) {
			return it, true
		}
	}
	return Item{}, false
}
