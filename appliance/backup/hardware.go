package backup

import (
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/tunneler/tunneler/appliance/config"
)

// AdaptToHardware rebinds interface roles that name a NIC this box lacks
// (a backup restored onto a spare box: same config, other MAC addresses)
// to the NICs it has. nics are this box's MAC addresses in the order roles
// fall to them when unbound (PCI order). A role whose NIC is present keeps
// it; the others take the unused NICs in order. A role with no NIC left
// is unbound (MAC ""). Each rebinding is one note, for the wizard to show
// and the operator to confirm. c itself is not changed.
func AdaptToHardware(c config.Config, nics []string) (config.Config, []string) {
	norm := func(mac string) string {
		if hw, err := net.ParseMAC(mac); err == nil {
			return hw.String()
		}
		return strings.ToLower(mac)
	}
	var have []string
	for _, m := range nics {
		if m := norm(m); !slices.Contains(have, m) {
			have = append(have, m)
		}
	}
	used := map[string]bool{}
	for _, ifc := range c.Interfaces {
		if m := norm(ifc.MAC); ifc.MAC != "" && slices.Contains(have, m) {
			used[m] = true
		}
	}
	var free []string
	for _, m := range have {
		if !used[m] {
			free = append(free, m)
		}
	}

	c.Interfaces = slices.Clone(c.Interfaces)
	var notes []string
	for i := range c.Interfaces {
		ifc := &c.Interfaces[i]
		if ifc.MAC == "" || slices.Contains(have, norm(ifc.MAC)) {
			continue
		}
		role := strings.ToUpper(string(ifc.Role))
		if len(free) == 0 {
			notes = append(notes, fmt.Sprintf("%s was on NIC %s, which this box lacks, and no NIC is left for it: it is unbound", role, ifc.MAC))
			ifc.MAC = ""
			continue
		}
		m := free[0]
		free = free[1:]
		notes = append(notes, fmt.Sprintf("%s was on NIC %s, which this box lacks: now on %s (NIC %d)", role, ifc.MAC, m, slices.Index(have, m)+1))
		ifc.MAC = m
	}
	return c, notes
}
