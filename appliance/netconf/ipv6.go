package netconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// IPv6Mode says how an interface takes IPv6. Only the WAN takes it: the
// management side and the networks inside the tunnels stay IPv4.
type IPv6Mode string

const (
	// IPv6Off turns IPv6 off on the interface altogether (disable_ipv6),
	// link-local address included.
	IPv6Off IPv6Mode = ""
	// IPv6SLAAC takes addresses and the default route from router
	// advertisements, as the kernel does them (accept_ra, autoconf).
	IPv6SLAAC IPv6Mode = "slaac"
	// IPv6DHCP asks a DHCPv6 server for an address; router advertisements
	// still give the default route, as DHCPv6 has none.
	IPv6DHCP IPv6Mode = "dhcpv6"
	// IPv6Static uses the IPv6 entries of IfaceSpec.Addresses and
	// IfaceSpec.Gateway6, and ignores router advertisements.
	IPv6Static IPv6Mode = "static"
)

// sysctl is one per-interface IPv6 setting, under
// /proc/sys/net/ipv6/conf/IFNAME/.
type sysctl struct{ Key, Value string }

// ipv6Sysctls are the kernel settings for an interface with mode m.
// accept_ra is 2, not 1: the kernel ignores advertisements on an
// interface that forwards unless it is 2. The box forwards nothing (its
// firewall drops forwarding), but the WAN must keep its route if that is
// ever turned on. Every other interface the box binds ignores
// advertisements: a rogue router on the management network must not give
// the box addresses or a default route.
func ipv6Sysctls(role Role, m IPv6Mode) []sysctl {
	if role != RoleWAN {
		return []sysctl{{"accept_ra", "0"}, {"autoconf", "0"}}
	}
	// IPv6 goes off and on again around the change: that drops what the
	// previous mode left (SLAAC addresses and routes from advertisements
	// live on after accept_ra is cleared, and the kernel refuses a static
	// default route beside one), and on again the link solicits a router
	// at once instead of waiting for its next advertisement.
	var ra, auto string
	switch m {
	case IPv6SLAAC:
		ra, auto = "2", "1"
	case IPv6DHCP:
		ra, auto = "2", "0"
	case IPv6Static:
		ra, auto = "0", "0"
	}
	if ra != "" {
		return []sysctl{{"disable_ipv6", "1"}, {"accept_ra", ra}, {"autoconf", auto}, {"disable_ipv6", "0"}}
	}
	// Off: no addresses, not even link-local, so nothing on the WAN
	// answers over IPv6; turning it off also drops what SLAAC had added.
	return []sysctl{{"accept_ra", "0"}, {"autoconf", "0"}, {"disable_ipv6", "1"}}
}

// SysctlFunc writes one per-interface IPv6 setting.
type SysctlFunc func(ifname, key, value string) error

// procSysctl writes /proc/sys/net/ipv6/conf/IFNAME/KEY. /proc/sys/net
// shows the network namespace of the thread that opens it, so the write
// runs in the manager's namespace.
func procSysctl(inNs func(func() error) error) SysctlFunc {
	return func(ifname, key, value string) error {
		if strings.ContainsAny(ifname, "/.") || ifname == "" {
			return fmt.Errorf("sysctl %s: %q is not an interface name", key, ifname)
		}
		path := filepath.Join("/proc/sys/net/ipv6/conf", ifname, key)
		return inNs(func() error {
			if cur, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(cur)) == value {
				return nil // the same value: nothing to do, and no flush
			}
			if err := os.WriteFile(path, []byte(value+"\n"), 0o644); err != nil {
				return fmt.Errorf("set %s: %w", path, err)
			}
			return nil
		})
	}
}

// applyIPv6 sets f's IPv6 sysctls when its mode changed (or on the first
// apply). Called with m.mu held.
func (m *Manager) applyIPv6(f *iface) error {
	want := ipv6Sysctls(f.role, f.spec.IPv6)
	key := fmt.Sprint(want)
	if f.ipv6Set == key {
		return nil
	}
	for _, s := range want {
		if err := m.opts.Sysctl(f.nic.Name, s.Key, s.Value); err != nil {
			return fmt.Errorf("IPv6 on %s: %w", f.nic.Name, err)
		}
	}
	f.ipv6Set = key
	m.emit(f.nic.Name, f.role, "ipv6", "%s", ipv6Describe(f.role, f.spec.IPv6))
	return nil
}

func ipv6Describe(role Role, m IPv6Mode) string {
	switch {
	case role != RoleWAN:
		return "router advertisements ignored (IPv6 is for the WAN)"
	case m == IPv6Off:
		return "IPv6 off"
	case m == IPv6SLAAC:
		return "IPv6 by router advertisements (SLAAC)"
	case m == IPv6DHCP:
		return "IPv6 by DHCPv6, default route by router advertisements"
	}
	return "IPv6 static"
}
