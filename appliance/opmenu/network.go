package opmenu

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/console"
)

// The network items: interface roles by MAC and the LAN address.

func (b *Menu) assign(s *console.Session) error {
	st, err := b.NetStatus()
	if err != nil {
		return err
	}
	if len(st.Interfaces) == 0 {
		return errors.New("no network interfaces found")
	}
	s.Printf("Network interfaces (PCI order):\n")
	for i, n := range st.Interfaces {
		role := string(n.Role)
		if role == "" {
			role = "-"
		}
		s.Printf("  %d) %-10s %s  now: %s\n", i+1, n.Name, n.MAC, role)
	}
	pick := func(q string, allowNone bool) (string, bool, error) {
		a, ok := s.Ask(q)
		if !ok {
			return "", false, io.EOF
		}
		if allowNone && (a == "" || strings.EqualFold(a, "none")) {
			return "", true, nil
		}
		n, err := strconv.Atoi(a)
		if err != nil || n < 1 || n > len(st.Interfaces) {
			return "", false, fmt.Errorf("%q is not one of 1 to %d", a, len(st.Interfaces))
		}
		return st.Interfaces[n-1].MAC.String(), true, nil
	}
	wan, _, err := pick(fmt.Sprintf("WAN interface (1-%d): ", len(st.Interfaces)), false)
	if err != nil {
		return err
	}
	lan := ""
	if len(st.Interfaces) > 1 {
		if lan, _, err = pick(fmt.Sprintf("LAN interface (1-%d, or none): ", len(st.Interfaces)), true); err != nil {
			return err
		}
	}
	return b.change(s, fmt.Sprintf("interfaces assigned: WAN %s, LAN %s", wan, orNone(lan)), func(c config.Config) (config.Config, error) {
		return AssignRoles(c, wan, lan)
	})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (b *Menu) setLAN(s *console.Session) error {
	if c, _, err := b.current(); err == nil {
		d := c.WithDefaults()
		for _, i := range d.Interfaces {
			if i.Role == config.RoleLAN {
				now := string(i.Mode)
				if i.Mode == config.ModeStatic {
					now = "static " + i.Address.String()
				}
				s.Printf("LAN is now: %s\n", now)
			}
		}
	}
	a, ok := s.Ask("New LAN address (like 192.168.1.1/24), or dhcp: ")
	if !ok {
		return io.EOF
	}
	return b.change(s, "LAN address set to "+a, func(c config.Config) (config.Config, error) {
		return SetLAN(c, a)
	})
}
