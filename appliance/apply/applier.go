package apply

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/google/nftables"
	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/firewall"
	"github.com/tunneler/tunneler/appliance/netconf"
)

// Network is the part of netconf.Manager the apply step uses.
type Network interface {
	Apply(ctx context.Context, spec netconf.Spec) error
	Status() (netconf.Status, error)
}

// Firewall installs a ruleset (NFTables in the box).
type Firewall interface {
	Apply(spec firewall.Spec) error
}

// NFTables installs rulesets in the kernel, one netlink transaction each.
type NFTables struct{}

func (NFTables) Apply(spec firewall.Spec) error {
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("firewall: netlink: %w", err)
	}
	return firewall.Apply(conn, spec)
}

// Applier applies configs to the drivers, one at a time. It remembers the
// last config so Refresh can redo the parts that depend on what the
// drivers learnt later (NICs bound to roles, DNS to resolve peer names).
type Applier struct {
	Net      Network
	Firewall Firewall
	Resolver Resolver
	// Logf reports what was applied and problems that did not stop it.
	Logf func(format string, args ...any)

	mu      sync.Mutex
	cfg     config.Config
	have    bool
	fw      firewall.Spec
	fwSet   bool
	lastErr map[string]bool // resolve errors already reported
}

func (a *Applier) logf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

// Apply makes c the box's state: network first (which binds NICs to
// roles), then the firewall built from the roles and the peers. A network
// spec the drivers refuse leaves the previous network as it was; the
// firewall is still installed, so the box never runs on default deny
// alone once it has a config.
func (a *Applier) Apply(ctx context.Context, c config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg, a.have = c, true
	var errs []error
	if a.Net != nil {
		spec, err := NetSpec(c)
		if err == nil {
			err = a.Net.Apply(ctx, spec)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("network: %w", err))
		}
	}
	if err := a.applyFirewall(ctx, true); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Refresh rebuilds the firewall from the last config and the network's
// present status, and installs it if it changed. Call it when netconf
// binds a NIC or learns DNS servers.
func (a *Applier) Refresh(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.have {
		return nil
	}
	return a.applyFirewall(ctx, false)
}

// Config returns the config applied last.
func (a *Applier) Config() (config.Config, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg, a.have
}

// FirewallSpec returns the ruleset's spec installed last.
func (a *Applier) FirewallSpec() (firewall.Spec, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fw, a.fwSet
}

func (a *Applier) applyFirewall(ctx context.Context, always bool) error {
	if a.Firewall == nil {
		return nil
	}
	var st netconf.Status
	if a.Net != nil {
		var err error
		if st, err = a.Net.Status(); err != nil {
			return fmt.Errorf("firewall: read network status: %w", err)
		}
	}
	peers, rerrs := ResolvePeers(ctx, a.Resolver, a.cfg)
	if a.lastErr == nil {
		a.lastErr = map[string]bool{}
	}
	seen := map[string]bool{}
	for _, e := range rerrs {
		seen[e.Error()] = true
		if !a.lastErr[e.Error()] {
			a.logf("firewall: %v (IKE from it is refused until it resolves)", e)
		}
	}
	a.lastErr = seen
	spec := FirewallSpec(a.cfg, st, peers)
	if !always && a.fwSet && reflect.DeepEqual(spec, a.fw) {
		return nil
	}
	if err := a.Firewall.Apply(spec); err != nil {
		return fmt.Errorf("firewall: %w", err)
	}
	a.fw, a.fwSet = spec, true
	a.logf("firewall: ruleset installed (wan %v, lan %v, %d peers, %d remote networks)",
		spec.WAN, spec.LAN, len(spec.Peers), len(spec.RemoteNetworks))
	return nil
}
