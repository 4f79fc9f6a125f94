// Package failover decides which remote of a site carries the site's
// remote networks, as 128T's ipsec-client does with up to four remotes.
//
// Machine is pure logic: inputs (tunnel up/down from charon, monitor
// up/down) and the time go in, actions (restart a remote, activate a
// remote) and timestamped events come out. Runner drives a Machine with a
// clock and performs its actions through two small interfaces the lead
// implements with xfrm and ipsec (see example_test.go).
//
// # Policy
//
//   - The active remote fails when its monitor reports down (after its
//     retries) or charon reports its tunnel down (DPD, delete, ...).
//   - First its tunnel is restarted (terminate + initiate). If it is not
//     healthy again within the site's restart grace, the site fails over to
//     the first healthy remote in preference order. With none, the site is
//     down and stays on the failed remote (its policies keep dropping the
//     traffic: never clear text) until any remote is healthy again.
//   - A remote that failed is suspect until charon shows a tunnel to it
//     that was established after the failure: a stale "up" from before a
//     link was cut never counts.
//   - The site returns to a more preferred remote once that remote has been
//     healthy for the hold-down. A remote that fails again within its
//     hold-down of being activated doubles its hold-down (up to 16x), so a
//     remote that keeps failing stops pulling the site back (flap
//     suppression); a remote that stayed active longer starts afresh.
//
// # Moving the traffic without clear text
//
// Standby remotes keep their IKE and CHILD SAs up (charon loads every
// remote: config.AllTunnels), but only the active remote has XFRM
// policies (config.Expand). Activating remote X re-applies the policies
// for Expand(active with X): the in/out/fwd policies keep their selectors
// (local x remote networks) and get X's reqid and peer in the template.
// xfrm.Apply installs them with XFRM_MSG_UPDPOLICY, which replaces each
// policy in place, so at every instant the remote networks are covered by
// a policy: the old remote's or X's. A packet matching X's policy before
// X's SA exists is dropped by the kernel, never sent in clear. Firewall
// peers are every remote's address (standbys keep IKE up), so nothing
// moves in the firewall; an implementation that admits only the active
// peer must add X's peer before the policies move and remove the old one
// after.
package failover
