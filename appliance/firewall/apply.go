package firewall

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/nftables"
	"github.com/tunneler/tunneler/appliance/firewall/internal/nftxfrm"
	"golang.org/x/sys/unix"
)

// LockPath serialises changes to our table between the processes that make
// them: init applying the ruleset and the router's diverter calls. Both
// read the table before they write it (Apply keeps the intercepts, the
// diverter keeps one rule per tuple), so without the lock a diverter call
// landing between Apply's read and its commit would be lost.
const LockPath = "/run/tunneler/firewall.lock"

// elemChunk bounds the set elements sent in one netlink message.
const elemChunk = 1024

func ourTable() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

func lock() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(LockPath), 0o755); err != nil {
		return nil, fmt.Errorf("firewall lock: %w", err)
	}
	f, err := os.OpenFile(LockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("firewall lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("firewall lock %s: %w", LockPath, err)
	}
	return func() { f.Close() }, nil
}

// Apply builds spec's ruleset and installs it in place of our table.
func Apply(conn *nftables.Conn, spec Spec) error {
	rs, err := Build(spec)
	if err != nil {
		return err
	}
	return Install(conn, rs)
}

// DefaultDeny installs DefaultDenyRuleset. Boot calls it before any link
// is up.
func DefaultDeny(conn *nftables.Conn) error {
	return Install(conn, DefaultDenyRuleset())
}

// Install replaces our table with rs in one netlink transaction: the batch
// creates the table if it is missing (so that the delete cannot fail),
// deletes it with everything in it, and builds it again. The kernel
// applies the batch whole or not at all, so no packet ever meets a
// half-built ruleset, and no other table is touched.
//
// Two things survive the replace. The router's intercepts are read back
// from the kernel and re-added in the same batch: they come from the
// diverter, not from the spec, and the router does not repeat them. Named
// counters keep counting from where they were, so a config change does
// not reset the status page.
func Install(conn *nftables.Conn, rs *Ruleset) error {
	unlock, err := lock()
	if err != nil {
		return err
	}
	defer unlock()

	exists, err := tableExists(conn)
	if err != nil {
		return err
	}
	var intercepts []Intercept
	old := map[string]Counter{}
	if exists {
		if intercepts, err = listIntercepts(conn); err != nil {
			return err
		}
		if old, err = readCounters(conn, false); err != nil {
			return err
		}
	}

	// The batch goes through a Conn of nftxfrm, the only one that can
	// send the xfrm expression (ipsec in reqid); queued on it, an abandoned
	// batch is simply never sent.
	batch, closeBatch, err := nftxfrm.Conn(conn.NetNS)
	if err != nil {
		return fmt.Errorf("replace table inet %s: %w", TableName, err)
	}
	defer closeBatch()
	t := ourTable()
	batch.AddTable(t)
	batch.DelTable(t)
	batch.AddTable(t)
	for _, name := range rs.counters {
		c := old[name]
		batch.AddObj(&nftables.CounterObj{Table: t, Name: name, Packets: c.Packets, Bytes: c.Bytes})
	}
	for i := range rs.sets {
		s := rs.sets[i].set // copy: a Ruleset may be installed again
		s.Table = t
		if err := batch.AddSet(&s, nil); err != nil {
			return fmt.Errorf("add set %s: %w", s.Name, err)
		}
		elems := rs.sets[i].elems
		for len(elems) > 0 {
			n := min(len(elems), elemChunk)
			if err := batch.SetAddElements(&s, elems[:n]); err != nil {
				return fmt.Errorf("add elements to set %s: %w", s.Name, err)
			}
			elems = elems[n:]
		}
	}
	chains := map[string]*nftables.Chain{}
	for _, cd := range rs.chains {
		c := &nftables.Chain{Name: cd.name, Table: t, Hooknum: cd.hook, Priority: cd.prio, Policy: cd.policy}
		if cd.hook != nil {
			c.Type = nftables.ChainTypeFilter
		}
		chains[cd.name] = batch.AddChain(c)
	}
	for _, r := range rs.rules {
		batch.AddRule(r.nftRule(t, chains))
	}
	// Only the boot ruleset lacks the chain; the router is not running
	// then, and its intercepts come back with its next start.
	if _, ok := chains[chainIntercepts]; ok {
		for _, ic := range intercepts {
			batch.AddRule(interceptRule(ic).nftRule(t, chains))
		}
	}
	if err := batch.Flush(); err != nil {
		return fmt.Errorf("replace table inet %s: %w", TableName, err)
	}
	return nil
}

func tableExists(conn *nftables.Conn) (bool, error) {
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, fmt.Errorf("list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == TableName {
			return true, nil
		}
	}
	return false, nil
}

// isNotExist reports whether err says a table, chain or object is missing.
func isNotExist(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, os.ErrNotExist)
}

// abort throws away a batch half queued on conn. The library has no way to
// drop queued messages but sending them, so it sends them followed by one
// the kernel must refuse (deleting a table that cannot exist): the kernel
// then rejects the whole batch, and nothing of it takes effect. Without
// this, the next Flush on conn would commit the half batch: our table
// deleted and rebuilt without its rules.
func abort(conn *nftables.Conn) {
	conn.DelTable(&nftables.Table{Name: TableName + "-abort-never-exists", Family: nftables.TableFamilyINet})
	_ = conn.Flush()
}
