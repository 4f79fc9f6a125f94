package xfrm

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Manager applies Desired to one network namespace.
type Manager struct {
	h *netlink.Handle
	// SkipInterfaces leaves xfrm interfaces alone (kernels without
	// xfrm_interface); route-mode policies and routes are still planned,
	// and routes through a missing interface are reported as errors.
	SkipInterfaces bool
	// ParentLink, if set, is the WAN interface xfrm interfaces are tied to
	// (IFLA_XFRM_LINK); without it they are not tied to any device.
	ParentLink string
}

// New returns a Manager working through h (netlink.NewHandle() for the
// box's own namespace, netlink.NewHandleAt for a test namespace).
func New(h *netlink.Handle) *Manager { return &Manager{h: h} }

// Result says what Apply changed.
type Result struct {
	Added, Deleted             []Policy
	RoutesAdded, RoutesDeleted []netip.Prefix
	LinksAdded, LinksDeleted   []string
}

// Apply makes the kernel hold exactly the desired policies, xfrm
// interfaces and routes among those we own, and leaves everything else
// alone. It does as much as it can and returns all errors joined. Policies
// go in first and come out last, so there is no moment where a route
// sends a remote network's traffic out with no policy to stop it.
func (m *Manager) Apply(d Desired) (Result, error) {
	var res Result
	want, err := Policies(d.Tunnels)
	if err != nil {
		return res, err
	}
	var errs []error
	current, err := m.h.XfrmPolicyList(netlink.FAMILY_ALL)
	if err != nil {
		return res, fmt.Errorf("list xfrm policies: %w", err)
	}
	plan := PlanPolicies(want, current)
	for _, p := range plan.Add {
		if err := m.h.XfrmPolicyUpdate(p.toNetlink()); err != nil {
			errs = append(errs, fmt.Errorf("install policy %s (tunnel %q): %w", p, p.Tunnel, err))
			continue
		}
		res.Added = append(res.Added, p)
	}
	if !m.SkipInterfaces {
		a, del, err := m.applyLinks(d.Tunnels)
		res.LinksAdded, res.LinksDeleted = a, del
		errs = append(errs, err)
	}
	ra, rd, err := m.applyRoutes(d)
	res.RoutesAdded, res.RoutesDeleted = ra, rd
	errs = append(errs, err)
	for _, p := range plan.Delete {
		if err := m.h.XfrmPolicyDel(p.toNetlink()); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("remove policy %s: %w", p, err))
			continue
		}
		res.Deleted = append(res.Deleted, p)
	}
	return res, errors.Join(errs...)
}

// Owned returns the policies of ours the kernel holds now, for status and tests.
func (m *Manager) Owned() ([]Policy, error) {
	current, err := m.h.XfrmPolicyList(netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list xfrm policies: %w", err)
	}
	var out []Policy
	for _, k := range current {
		if p, ok := fromNetlink(k); ok && Owned(k) {
			out = append(out, p)
		}
	}
	sortPolicies(out)
	return out, nil
}

// applyLinks creates an xfrm interface per route-mode tunnel and deletes
// interfaces named like ours that no tunnel wants.
func (m *Manager) applyLinks(ts []Tunnel) (added, deleted []string, err error) {
	want := map[string]uint32{}
	for _, t := range ts {
		if t.Route {
			want[InterfaceName(t.IfID)] = t.IfID
		}
	}
	links, err := m.h.LinkList()
	if err != nil {
		return nil, nil, fmt.Errorf("list links: %w", err)
	}
	var errs []error
	have := map[string]bool{}
	for _, l := range links {
		x, ok := l.(*netlink.Xfrmi)
		if !ok {
			continue
		}
		name := x.Attrs().Name
		if id, ok := want[name]; ok && x.Ifid == id {
			have[name] = true
			if x.Attrs().Flags&net.FlagUp == 0 {
				errs = append(errs, wrap(m.h.LinkSetUp(x), "set %s up", name))
			}
			continue
		}
		if name == InterfaceName(x.Ifid) { // ours by name, unwanted or wrong id
			if err := m.h.LinkDel(x); err != nil && !gone(err) {
				errs = append(errs, fmt.Errorf("delete %s: %w", name, err))
				continue
			}
			deleted = append(deleted, name)
		}
	}
	for name, id := range want {
		if have[name] {
			continue
		}
		l := &netlink.Xfrmi{LinkAttrs: netlink.LinkAttrs{Name: name}, Ifid: id}
		if m.ParentLink != "" {
			parent, err := m.h.LinkByName(m.ParentLink)
			if err != nil {
				errs = append(errs, fmt.Errorf("xfrm interface %s: parent %s: %w", name, m.ParentLink, err))
				continue
			}
			l.ParentIndex = parent.Attrs().Index
		}
		if err := m.h.LinkAdd(l); err != nil {
			errs = append(errs, fmt.Errorf("create xfrm interface %s (if_id %d): %w", name, id, err))
			continue
		}
		errs = append(errs, wrap(m.h.LinkSetUp(l), "set %s up", name))
		added = append(added, name)
	}
	slices.Sort(added)
	slices.Sort(deleted)
	return added, deleted, errors.Join(errs...)
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// gone reports errors that mean "already not there".
func gone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV)
}
