package backup

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAdaptToHardware(t *testing.T) {
	const (
		oldWAN = "52:54:00:12:34:56"
		oldLAN = "52:54:00:12:34:57"
		nic1   = "52:54:00:aa:00:01"
		nic2   = "52:54:00:aa:00:02"
		nic3   = "52:54:00:aa:00:03"
	)
	for _, tc := range []struct {
		name      string
		macs      []string // the config's WAN and LAN
		nics      []string
		wantMACs  []string
		wantNotes []string
	}{
		{"same box", []string{oldWAN, oldLAN}, []string{oldWAN, oldLAN}, []string{oldWAN, oldLAN}, nil},
		{"same box, MAC written in upper case", []string{"52:54:00:AA:00:01", oldLAN}, []string{nic1, oldLAN}, []string{"52:54:00:AA:00:01", oldLAN}, nil},
		{"spare box", []string{oldWAN, oldLAN}, []string{nic1, nic2}, []string{nic1, nic2}, []string{
			"WAN was on NIC 52:54:00:12:34:56, which this box lacks: now on 52:54:00:aa:00:01 (NIC 1)",
			"LAN was on NIC 52:54:00:12:34:57, which this box lacks: now on 52:54:00:aa:00:02 (NIC 2)",
		}},
		{"one NIC kept, the other moved to a free one", []string{oldWAN, oldLAN}, []string{nic1, oldWAN, nic2}, []string{oldWAN, nic1}, []string{
			"LAN was on NIC 52:54:00:12:34:57, which this box lacks: now on 52:54:00:aa:00:01 (NIC 1)",
		}},
		{"NICs given in upper case", []string{oldWAN, oldLAN}, []string{"52:54:00:AA:00:01", "52:54:00:AA:00:02", nic3}, []string{nic1, nic2}, []string{
			"WAN was on NIC 52:54:00:12:34:56, which this box lacks: now on 52:54:00:aa:00:01 (NIC 1)",
			"LAN was on NIC 52:54:00:12:34:57, which this box lacks: now on 52:54:00:aa:00:02 (NIC 2)",
		}},
		{"fewer NICs than roles", []string{oldWAN, oldLAN}, []string{nic1}, []string{nic1, ""}, []string{
			"WAN was on NIC 52:54:00:12:34:56, which this box lacks: now on 52:54:00:aa:00:01 (NIC 1)",
			"LAN was on NIC 52:54:00:12:34:57, which this box lacks, and no NIC is left for it: it is unbound",
		}},
		{"roles by PCI order stay so", []string{"", ""}, []string{nic1, nic2}, []string{"", ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			c.Interfaces[0].MAC, c.Interfaces[1].MAC = tc.macs[0], tc.macs[1]
			before := c.Interfaces[0].MAC
			got, notes := AdaptToHardware(c, tc.nics)
			if diff := cmp.Diff(tc.wantMACs, []string{got.Interfaces[0].MAC, got.Interfaces[1].MAC}); diff != "" {
				t.Errorf("MACs after (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			if c.Interfaces[0].MAC != before {
				t.Error("AdaptToHardware changed its argument")
			}
			if len(tc.nics) >= 2 {
				if errs := got.Validate(); len(errs) > 0 {
					t.Errorf("adapted config does not validate: %v", errs)
				}
			}
		})
	}
}
