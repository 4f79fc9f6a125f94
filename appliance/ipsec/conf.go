package ipsec

import (
	"fmt"
	"strings"
	"time"
)

// Paths on the box.
const (
	CharonPath = "/usr/lib/ipsec/charon"
	// ConfPath is where Runner writes strongswan.conf; charon reads it via
	// STRONGSWAN_CONF, so the image needs no /etc/strongswan.conf.
	ConfPath = "/run/strongswan/strongswan.conf"
	// SocketPath is charon's VICI socket. /run is a tmpfs, so a stale
	// socket never survives a reboot.
	SocketPath = "/run/charon.vici"
	// PidFile is compiled into Debian's charon; a second charon on one
	// host needs its own mount namespace with its own /run.
	PidFile = "/var/run/charon.pid"
)

// Plugins is the exact `load` list for Debian's charon 5.9.8, in load order.
//
//   - openssl (libstrongswan-standard-plugins): AES-CBC/GCM, SHA-2, HMAC,
//     MODP, ECP and X25519, and the random number generators.
//   - kdf: the IKE PRF+/KDF; with openssl alone, 5.9.8 fails key derivation.
//   - nonce: IKE nonces.
//   - kernel-netlink: installs SAs (and would install policies; we say
//     policies = no) and watches addresses.
//   - socket-default: UDP 500/4500.
//   - vici: the control socket this package talks to.
//   - x509, pem, pkcs1, pkcs8: certificate authentication. x509 parses
//     certificates, pem unwraps them (and passes DER on), pkcs1 reads
//     the public keys inside them, pkcs8 private keys in PKCS#8. Loaded
//     always, so choosing certificates needs no restart of charon.
//
// No updown (the box routes itself), no resolve/attr (no virtual IPs or
// DNS from the peer), no revocation (no CRL or OCSP fetching: the box
// talks only to its peers and the controller).
var Plugins = []string{"openssl", "kdf", "nonce", "x509", "pem", "pkcs1", "pkcs8", "kernel-netlink", "socket-default", "vici"}

// LibipsecPlugin is strongSwan's userspace ESP, for kernels without ESP
// (this build host, and namespace tests). It must come before
// kernel-netlink, and it always encapsulates ESP in UDP 4500.
const LibipsecPlugin = "kernel-libipsec"

// ConfOptions say how to render strongswan.conf.
type ConfOptions struct {
	// Socket is the VICI socket path; "" means SocketPath.
	Socket string
	// KernelLibipsec loads kernel-libipsec before kernel-netlink.
	KernelLibipsec bool
	// Retransmission: charon gives up on a request after
	// RetransmitTimeout * (1 + Base + Base^2 + ... + Base^Tries). The
	// defaults (2 s, 1.5, 3 tries) give up after 16.25 s, so with the 30 s
	// DPD delay a dead peer is noticed within about 46 s.
	RetransmitTimeout time.Duration
	RetransmitBase    float64
	RetransmitTries   int
	// LogLevel is charon's log level for stderr (default 1: control).
	LogLevel int
}

// Defaults for ConfOptions' zero values.
const (
	DefaultRetransmitTimeout = 2 * time.Second
	DefaultRetransmitBase    = 1.5
	DefaultRetransmitTries   = 3
)

func (o ConfOptions) withDefaults() ConfOptions {
	if o.Socket == "" {
		o.Socket = SocketPath
	}
	if o.RetransmitTimeout <= 0 {
		o.RetransmitTimeout = DefaultRetransmitTimeout
	}
	if o.RetransmitBase <= 0 {
		o.RetransmitBase = DefaultRetransmitBase
	}
	if o.RetransmitTries <= 0 {
		o.RetransmitTries = DefaultRetransmitTries
	}
	if o.LogLevel == 0 {
		o.LogLevel = 1
	}
	return o
}

// GiveUpAfter is how long charon retransmits one request before it
// declares the peer dead.
func (o ConfOptions) GiveUpAfter() time.Duration {
	o = o.withDefaults()
	total, step := 0.0, o.RetransmitTimeout.Seconds()
	for i := 0; i <= o.RetransmitTries; i++ {
		total += step
		step *= o.RetransmitBase
	}
	return time.Duration(total * float64(time.Second))
}

// LoadList returns the plugin list in load order.
func (o ConfOptions) LoadList() []string {
	if !o.KernelLibipsec {
		return append([]string(nil), Plugins...)
	}
	var out []string
	for _, p := range Plugins {
		if p == "kernel-netlink" {
			out = append(out, LibipsecPlugin)
		}
		out = append(out, p)
	}
	return out
}

// RenderConf returns strongswan.conf for the box.
func RenderConf(o ConfOptions) []byte {
	o = o.withDefaults()
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Written by tunneler; changes are overwritten at every start of charon.")
	w("charon {")
	w("\tload = %s", strings.Join(o.LoadList(), " "))
	w("\t# The box installs XFRM policies and routes itself (package xfrm).")
	w("\tinstall_routes = no")
	w("\tinstall_virtual_ip = no")
	w("\t# Reauthentication builds the new IKE_SA before deleting the old one.")
	w("\tmake_before_break = yes")
	w("\t# Give up on an unanswered request after %s.", o.GiveUpAfter())
	w("\tretransmit_timeout = %s", trimFloat(o.RetransmitTimeout.Seconds()))
	w("\tretransmit_base = %s", trimFloat(o.RetransmitBase))
	w("\tretransmit_tries = %d", o.RetransmitTries)
	w("\tretry_initiate_interval = 5")
	w("\t# One IKE_SA per peer identity: a peer that reconnects replaces its old SA.")
	w("\tuniqueids = yes")
	w("\tplugins {")
	w("\t\tvici {")
	w("\t\t\tsocket = unix://%s", o.Socket)
	w("\t\t}")
	w("\t}")
	w("\t# Logs go to stderr, which the supervisor keeps; there is no syslog.")
	w("\tfilelog {")
	w("\t\tstderr {")
	w("\t\t\tdefault = %d", o.LogLevel)
	w("\t\t\tike_name = yes")
	w("\t\t\tflush_line = yes")
	w("\t\t}")
	w("\t}")
	w("\tsyslog {")
	w("\t\tdaemon {")
	w("\t\t\tdefault = -1")
	w("\t\t}")
	w("\t}")
	w("}")
	return []byte(b.String())
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", f), "0"), ".")
}
