package netconf

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/vishvananda/netlink"
)

// NIC is a network card the box may use.
type NIC struct {
	Name  string
	Index int
	MAC   net.HardwareAddr
	// Bus is the NIC's position on the bus ("0000:00:03.0", or a sysfs
	// device path); NICs are ordered by it.
	Bus string
}

// PhysicalFunc reports whether the link called name is a NIC the box may
// use, and where it sits on the bus.
type PhysicalFunc func(name string) (bus string, ok bool)

// SysfsPhysical is the PhysicalFunc of the real box: a link is a NIC if
// /sys/class/net/NAME/device exists (lo, veths, bridges and tunnels have
// none), and its bus position is the resolved device path, which holds its
// PCI address.
func SysfsPhysical(name string) (string, bool) {
	p, err := filepath.EvalSymlinks(filepath.Join("/sys/class/net", name, "device"))
	if err != nil {
		return "", false
	}
	return p, true
}

var pciAddr = regexp.MustCompile(`[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]`)

// busKey turns a device path into a sort key: the last PCI address on the
// path (the NIC itself, or the controller of a USB NIC), then the path.
func busKey(bus string) string {
	all := pciAddr.FindAllString(bus, -1)
	if len(all) == 0 {
		return "~" + bus // non-PCI devices after PCI ones
	}
	return all[len(all)-1] + " " + bus
}

// sortNICs orders NICs by bus position, so that "the first NIC" means the
// same card on every boot whatever names the kernel handed out.
func sortNICs(nics []NIC) {
	sort.SliceStable(nics, func(i, j int) bool {
		ki, kj := busKey(nics[i].Bus), busKey(nics[j].Bus)
		if ki != kj {
			return ki < kj
		}
		return nics[i].Name < nics[j].Name
	})
}

// discover lists the physical NICs in bus order.
func discover(links []netlink.Link, physical PhysicalFunc) []NIC {
	var nics []NIC
	for _, l := range links {
		a := l.Attrs()
		if a.Name == "lo" || a.Flags&net.FlagLoopback != 0 {
			continue
		}
		bus, ok := physical(a.Name)
		if !ok {
			continue
		}
		nics = append(nics, NIC{Name: a.Name, Index: a.Index, MAC: a.HardwareAddr, Bus: bus})
	}
	sortNICs(nics)
	return nics
}

// binding is a role bound to a NIC.
type binding struct {
	Spec IfaceSpec
	NIC  NIC
	// Shared marks a WAN that also carries management because the box has
	// a single NIC.
	Shared bool
}

// assignRoles binds each interface of the spec to a NIC: by MAC when the
// spec names one that is present, otherwise the first free NIC in bus order,
// WAN before LAN. A role with no NIC left is reported in warnings; a LAN
// without a NIC means management shares the WAN.
func assignRoles(nics []NIC, ifaces []IfaceSpec) (map[Role]binding, []string) {
	out := map[Role]binding{}
	var warnings []string
	used := map[int]bool{}
	var byOrder []IfaceSpec
	for _, is := range ifaces {
		if len(is.MAC) == 0 {
			byOrder = append(byOrder, is)
			continue
		}
		found := false
		for _, n := range nics {
			if !used[n.Index] && bytes.Equal(n.MAC, is.MAC) {
				out[is.Role] = binding{Spec: is, NIC: n}
				used[n.Index] = true
				found = true
				break
			}
		}
		if !found {
			warnings = append(warnings, fmt.Sprintf("%s: no NIC has MAC %s; taking the next NIC in PCI order", is.Role, is.MAC))
			byOrder = append(byOrder, is)
		}
	}
	// WAN first: with one NIC it must be WAN, as the IPsec peer needs it.
	sort.SliceStable(byOrder, func(i, j int) bool {
		return byOrder[i].Role == RoleWAN && byOrder[j].Role != RoleWAN
	})
	for _, is := range byOrder {
		var pick *NIC
		for i := range nics {
			if !used[nics[i].Index] {
				pick = &nics[i]
				break
			}
		}
		if pick == nil {
			warnings = append(warnings, fmt.Sprintf("%s: no NIC left for it", is.Role))
			continue
		}
		used[pick.Index] = true
		out[is.Role] = binding{Spec: is, NIC: *pick}
	}
	if w, ok := out[RoleWAN]; ok {
		if _, lan := out[RoleLAN]; !lan {
			w.Shared = true
			out[RoleWAN] = w
		}
	}
	return out, warnings
}
