// Package apply is the apply step of DESIGN.md: it turns the one document,
// config.Config, into the desired state of each driver (netconf.Spec,
// firewall.Spec) and hands each part over. Boot step 8 calls it, and so
// does every change of the config (console menu, web UI).
//
// The translation is pure (NetSpec, FirewallSpec) and table-tested; the
// Applier around it talks to the drivers through small interfaces, so it is
// tested without root too.
package apply
