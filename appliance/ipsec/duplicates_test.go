package ipsec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDuplicateSAs(t *testing.T) {
	up := map[string]child{"c": {State: "INSTALLED"}}
	sa := func(uid, state, initiator string, children map[string]child) ikeSA {
		return ikeSA{UniqueID: uid, State: state, Initiator: initiator, Children: children}
	}
	tests := []struct {
		name string
		sas  []ikeSA
		want []string
	}{
		{"one SA", []ikeSA{sa("1", "ESTABLISHED", "yes", up)}, nil},
		{"both initiated: the box closes its own",
			[]ikeSA{sa("1", "ESTABLISHED", "yes", up), sa("2", "ESTABLISHED", "", up)}, []string{"1"}},
		{"the device's pair has no CHILD_SA yet: keep ours",
			[]ikeSA{sa("1", "ESTABLISHED", "yes", up), sa("2", "ESTABLISHED", "", nil)}, nil},
		{"the device's pair still connecting: keep ours",
			[]ikeSA{sa("1", "ESTABLISHED", "yes", up), sa("2", "CONNECTING", "", nil)}, nil},
		{"make-before-break reauthentication by the box",
			[]ikeSA{sa("1", "ESTABLISHED", "yes", up), sa("2", "ESTABLISHED", "yes", up)}, nil},
		{"the device reauthenticates",
			[]ikeSA{sa("1", "ESTABLISHED", "", up), sa("2", "ESTABLISHED", "", up)}, nil},
		{"our old SA already going", []ikeSA{sa("1", "DELETING", "yes", nil), sa("2", "ESTABLISHED", "", up)}, nil},
		{"an IKE rekey of ours in flight", []ikeSA{sa("1", "REKEYING", "yes", up), sa("2", "ESTABLISHED", "", up)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, duplicateSAs(tc.sas)); d != "" {
				t.Errorf("duplicateSAs (-want +got):\n%s", d)
			}
		})
	}
}
