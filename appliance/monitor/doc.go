// Package monitor probes a remote site through an IPsec tunnel (ICMP echo
// or a TCP connect, from a chosen source address such as the router's
// inside address, so the probe only succeeds through the tunnel) and
// reports up/down transitions after a number of failed probes in a row,
// as 128T's tunnel monitors do. It knows nothing about failover: the
// failover package consumes its events.
package monitor
