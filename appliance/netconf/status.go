package netconf

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
)

// Status is the network as the banner, console and status page show it.
type Status struct {
	Hostname string
	// Interfaces lists every NIC in PCI order; NICs without a role have an
	// empty Role.
	Interfaces []IfaceStatus
	DNS        []netip.Addr
	Search     []string
	NTP        NTPStatus
	// Warnings are problems with the spec that did not stop the box, such
	// as a MAC that no NIC has.
	Warnings []string
}

// IfaceStatus describes one NIC.
type IfaceStatus struct {
	Name string
	Role Role
	// Shared is set on WAN when there is no LAN NIC and management shares
	// the WAN interface.
	Shared bool
	MAC    net.HardwareAddr
	Bus    string
	Up     bool
	// State is "up", "down" (administratively) or "no-carrier".
	State     string
	Addresses []netip.Prefix
	DHCP      bool
	Lease     *Lease
	// Fallback is set while the fallback address stands in for a lease.
	Fallback bool
	Gateway  netip.Addr
	// IPv6 is how the interface takes IPv6 (its addresses are among
	// Addresses); Lease6 is its DHCPv6 address, Gateway6 its static IPv6
	// gateway (SLAAC's and DHCPv6's gateway is the kernel's, from router
	// advertisements).
	IPv6     IPv6Mode
	Lease6   *Lease6
	Gateway6 netip.Addr
}

// Status reports the state of every NIC and of DNS and NTP.
func (m *Manager) Status() (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{
		Hostname: m.hostname,
		DNS:      append([]netip.Addr(nil), m.dns...),
		Search:   append([]string(nil), m.search...),
		NTP:      m.ntp,
		Warnings: append([]string(nil), m.warnings...),
	}
	links, err := retryDump(m.k.LinkList)
	if err != nil {
		return st, err
	}
	byIndex := map[int]netlink.Link{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l
	}
	for _, n := range discover(links, m.opts.Physical) {
		l := byIndex[n.Index]
		is := IfaceStatus{Name: n.Name, MAC: n.MAC, Bus: n.Bus}
		is.Up, is.State = linkState(l)
		addrs, err := linkAddrs(m.k, l)
		if err != nil {
			return st, err
		}
		for _, a := range addrs {
			if !a.Addr().IsLinkLocalUnicast() {
				is.Addresses = append(is.Addresses, a)
			}
		}
		sort.Slice(is.Addresses, func(i, j int) bool { return is.Addresses[i].String() < is.Addresses[j].String() })
		for _, f := range m.ifaces {
			if f.nic.Index != n.Index {
				continue
			}
			is.Role, is.Shared, is.DHCP, is.Fallback = f.role, f.shared, f.spec.DHCP, f.fallback
			if f.lease != nil {
				l := *f.lease
				is.Lease = &l
			}
			is.IPv6, is.Gateway6 = f.spec.IPv6, f.spec.Gateway6
			if f.lease6 != nil {
				l := *f.lease6
				is.Lease6 = &l
			}
			is.Gateway = f.spec.Gateway
			if !is.Gateway.IsValid() && f.lease != nil {
				is.Gateway = f.lease.Router
			}
		}
		st.Interfaces = append(st.Interfaces, is)
	}
	return st, nil
}

// linkState says whether a link is usable: administratively up and with
// carrier.
func linkState(l netlink.Link) (bool, string) {
	a := l.Attrs()
	if a.Flags&net.FlagUp == 0 {
		return false, "down"
	}
	switch a.OperState {
	case netlink.OperUp, netlink.OperUnknown:
		return true, "up"
	}
	return false, "no-carrier"
}

// String is a one-line summary for the console banner, e.g.
// "wan  enp0s3  52:54:00:12:34:56  up  10.0.2.15/24 (dhcp, gw 10.0.2.2)".
func (i IfaceStatus) String() string {
	role := string(i.Role)
	switch {
	case role == "":
		role = "-"
	case i.Shared:
		role += "+mgmt"
	}
	var addrs []string
	for _, a := range i.Addresses {
		addrs = append(addrs, a.String())
	}
	if len(addrs) == 0 {
		addrs = []string{"no address"}
	}
	how := i.How()
	s := fmt.Sprintf("%-8s %-10s %s  %-10s %s", role, i.Name, i.MAC, i.State, strings.Join(addrs, " "))
	if how != "" {
		s += " (" + how + ")"
	}
	return s
}

// How says how the interface takes its addresses, e.g. "dhcp, gw
// 10.0.2.2, IPv6 slaac"; empty for a NIC without a role.
func (i IfaceStatus) How() string {
	var how []string
	switch {
	case i.Fallback:
		how = append(how, "fallback, DHCP still trying")
	case i.DHCP && i.Lease == nil:
		how = append(how, "DHCP, no lease yet")
	case i.DHCP:
		how = append(how, "dhcp")
	case i.Role != "":
		how = append(how, "static")
	}
	if i.Gateway.IsValid() && i.Role == RoleWAN {
		how = append(how, "gw "+i.Gateway.String())
	}
	switch {
	case i.Role != RoleWAN || i.IPv6 == IPv6Off:
	case i.IPv6 == IPv6DHCP && i.Lease6 == nil:
		how = append(how, "IPv6 DHCPv6, no address yet")
	case i.Gateway6.IsValid():
		how = append(how, "IPv6 "+string(i.IPv6)+", gw "+i.Gateway6.String())
	default:
		how = append(how, "IPv6 "+string(i.IPv6))
	}
	return strings.Join(how, ", ")
}
