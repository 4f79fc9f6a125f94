// Package diag runs the Diagnostics page's actions from the box itself:
// ping, TCP connect and traceroute from the bridge's inside address
// through one tunnel to a host behind the remote site, a DNS lookup
// through the box's resolver (the router's, on the inside address), and a
// packet capture bounded in time and size, written as a pcap file.
//
// A Request is what a form, the JSON API or the console sends; Runner.Plan
// checks it against the applied config (the tunnel exists, the host is
// behind it, the bounds hold) and returns a Job, or Problems by field.
// Every Job writes its output a line at a time as it runs, so the web UI
// and the console stream it.
//
// Probes leave from the inside address, which lies in every tunnel's local
// networks, so the kernel's XFRM policies (or, in route mode, the routes
// to the tunnel's xfrm interface) carry them through the tunnel, and the
// firewall accepts the answers as replies (established or related in
// appliance/firewall's ipsec_in). The box's own output is not filtered.
//
// Captures read an AF_PACKET socket (golang.org/x/sys/unix; no libpcap,
// no cgo) with a classic BPF filter built here and checked in tests with
// golang.org/x/net/bpf's VM, and write github.com/google/gopacket's pcapgo
// format (link type raw IP). They go to the caller's writer, in RAM: the
// web UI keeps the file in memory and never on /perm.
package diag
