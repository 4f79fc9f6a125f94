package netconf

import (
	"net"
	"slices"
	"strings"
	"testing"
)

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// PCI order is the NIC's own bus:device.function, as lspci lists it; a USB
// NIC sorts by its controller's address; non-PCI devices come last.
func TestSortNICsByPCIAddress(t *testing.T) {
	nics := []NIC{
		{Name: "eth0", Bus: "/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0"},
		{Name: "usb0", Bus: "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0"},
		{Name: "enp0s3", Bus: "/sys/devices/pci0000:00/0000:00:03.0/virtio0"},
		{Name: "eth9", Bus: "/sys/devices/platform/foo"},
		{Name: "enp1s0", Bus: "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"},
		{Name: "enp1s0f1", Bus: "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.1"},
	}
	sortNICs(nics)
	var got []string
	for _, n := range nics {
		got = append(got, n.Name)
	}
	want := []string{"enp0s3", "usb0", "enp1s0", "enp1s0f1", "eth0", "eth9"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func nicNames(b map[Role]binding) string {
	var parts []string
	for _, r := range []Role{RoleWAN, RoleLAN} {
		if x, ok := b[r]; ok {
			s := string(r) + "=" + x.NIC.Name
			if x.Shared {
				s += "(shared)"
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func TestAssignRoles(t *testing.T) {
	a := NIC{Name: "a", Index: 2, MAC: mac("02:00:00:00:00:0a"), Bus: "0000:00:03.0"}
	b := NIC{Name: "b", Index: 3, MAC: mac("02:00:00:00:00:0b"), Bus: "0000:00:04.0"}
	c := NIC{Name: "c", Index: 4, MAC: mac("02:00:00:00:00:0c"), Bus: "0000:00:05.0"}
	wan := IfaceSpec{Role: RoleWAN, DHCP: true}
	lan := IfaceSpec{Role: RoleLAN, DHCP: true}
	for _, tc := range []struct {
		name     string
		nics     []NIC
		ifaces   []IfaceSpec
		want     string
		warnings int
	}{
		{"default two NICs", []NIC{a, b}, []IfaceSpec{wan, lan}, "wan=a lan=b", 0},
		{"spec order does not matter", []NIC{a, b}, []IfaceSpec{lan, wan}, "wan=a lan=b", 0},
		{"one NIC: WAN, management shares it", []NIC{a}, []IfaceSpec{wan, lan}, "wan=a(shared)", 1},
		{"three NICs: third unused", []NIC{a, b, c}, []IfaceSpec{wan, lan}, "wan=a lan=b", 0},
		{"no NIC", nil, []IfaceSpec{wan, lan}, "", 2},
		{"WAN by MAC", []NIC{a, b, c},
			[]IfaceSpec{{Role: RoleWAN, MAC: c.MAC}, lan}, "wan=c lan=a", 0},
		{"both by MAC, swapped", []NIC{a, b},
			[]IfaceSpec{{Role: RoleWAN, MAC: b.MAC}, {Role: RoleLAN, MAC: a.MAC}}, "wan=b lan=a", 0},
		{"LAN by MAC takes the first NIC, WAN the next", []NIC{a, b},
			[]IfaceSpec{wan, {Role: RoleLAN, MAC: a.MAC}}, "wan=b lan=a", 0},
		{"missing MAC falls back to PCI order", []NIC{a, b},
			[]IfaceSpec{{Role: RoleWAN, MAC: mac("02:00:00:00:00:ff")}, lan}, "wan=a lan=b", 1},
		{"only LAN in spec", []NIC{a, b}, []IfaceSpec{lan}, "lan=a", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings := assignRoles(tc.nics, tc.ifaces)
			if s := nicNames(got); s != tc.want {
				t.Errorf("bindings %q, want %q", s, tc.want)
			}
			if len(warnings) != tc.warnings {
				t.Errorf("warnings %q, want %d of them", warnings, tc.warnings)
			}
		})
	}
}
