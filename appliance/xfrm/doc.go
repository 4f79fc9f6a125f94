// Package xfrm installs the box's XFRM policies, xfrm interfaces and the
// routes to remote networks. charon runs with `policies = no` and a fixed
// reqid per CHILD_SA, so the SAs it negotiates plug into policies that this
// package owns. Because the policies carry a template and exist whether or
// not charon (or an SA) does, traffic for a remote network is dropped while
// no SA exists — never sent in clear (the kernel counts it as
// XfrmOutNoStates).
//
// Ownership conventions, so Apply removes only what it added:
//
//   - XFRM policies: priority in [PriorityMin, PriorityMax] (1000–1999).
//     charon installs none with policies = no, and its own band (PRIO_BASE
//     200000 and up) is far from ours, so a policy in our band is ours. A
//     lower number wins in the kernel, so ours also beat any stray policy.
//   - Routes: table RouteTable (220, as strongSwan's own) with protocol
//     RouteProtocol, reached by one ip rule of priority RulePriority.
//   - xfrm interfaces: named InterfaceName(ifID) ("xfrm" + if_id).
//
// Every function works on a *netlink.Handle so tests can target a network
// namespace.
package xfrm
