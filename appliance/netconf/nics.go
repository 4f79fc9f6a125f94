package netconf

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// NICs lists the box's physical NICs in bus order, the order roles fall to
// them when no MAC binds one: what a restore from other hardware maps the
// old box's roles onto, before the manager runs.
func NICs(physical PhysicalFunc) ([]NIC, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list network links: %w", err)
	}
	return discover(links, physical), nil
}
