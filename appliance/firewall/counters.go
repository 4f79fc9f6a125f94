package firewall

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Counter is what one counter has seen.
type Counter struct {
	Packets uint64
	Bytes   uint64
}

// Counters reads every named counter of our table (see Ruleset.Counters
// for the names), and one counter per router intercept, named
// "intercept <tuple>". The values are cumulative across Apply.
func Counters(conn *nftables.Conn) (map[string]Counter, error) {
	return readCounters(conn, true)
}

func readCounters(conn *nftables.Conn, withIntercepts bool) (map[string]Counter, error) {
	objs, err := conn.GetNamedObjects(ourTable())
	if err != nil {
		return nil, fmt.Errorf("read counters of table inet %s: %w", TableName, err)
	}
	out := map[string]Counter{}
	for _, o := range objs {
		if no, ok := o.(*nftables.NamedObj); ok {
			if no.Table != nil && no.Table.Name != TableName {
				continue
			}
			if c, ok := no.Obj.(*expr.Counter); ok {
				out[no.Name] = Counter{Packets: c.Packets, Bytes: c.Bytes}
			}
			continue
		}
		if c, ok := o.(*nftables.CounterObj); ok {
			out[c.Name] = Counter{Packets: c.Packets, Bytes: c.Bytes}
		}
	}
	if !withIntercepts {
		return out, nil
	}
	rules, err := interceptRules(conn)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		ic, ok := parseInterceptComment(commentFromUserdata(r.UserData))
		if !ok {
			continue
		}
		for _, e := range r.Exprs {
			if c, ok := e.(*expr.Counter); ok {
				out["intercept "+ic.key()] = Counter{Packets: c.Packets, Bytes: c.Bytes}
			}
		}
	}
	return out, nil
}
