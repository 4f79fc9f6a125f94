// Package ipsec drives strongSwan's charon over VICI: it renders the box's
// strongswan.conf, loads connections and secrets made from config.Tunnel
// (reloading only what changed), initiates, terminates and rekeys, follows
// charon's events, and keeps a status per tunnel with a colour and, when a
// tunnel is down, the reason in plain words taken from charon's log.
//
// charon runs with `policies = no` and a fixed reqid per CHILD_SA (ReqIDs);
// package xfrm installs the matching policies, which stay in place while
// charon is down so nothing leaks in clear.
//
// Uses govici v0.7.0 on purpose: v0.8.0 drops events during streamed calls
// and closes the session on any call longer than 5 s.
package ipsec
