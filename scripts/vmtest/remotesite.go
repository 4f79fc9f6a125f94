package vmtest

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// RemoteSite is a remote site's VPN device as a test lab has it: stock
// strongSwan (charon, configured with swanctl the way a site's administrator
// would) in a namespace on the WAN bridge, and a host behind it on the
// site's own network. This host's kernel has no ESP, so the device's charon
// uses kernel-libipsec, which always encapsulates ESP in UDP 4500.
type RemoteSite struct {
	Peer   *Host // the VPN device, on the WAN bridge
	Inside *Host // a host behind the device, on the site's network
	Opts   RemoteSiteOptions
	dir    string
	charon *exec.Cmd
	done   chan struct{}
}

// RemoteSiteOptions describe the site and how it peers with the box.
type RemoteSiteOptions struct {
	Name       string // e.g. "site1"
	WANAddr    string // the device's WAN address with prefix, e.g. 192.0.2.2/24
	BoxAddr    string // the box's WAN address, e.g. 192.0.2.10
	SiteNet    string // the site's network, e.g. 10.9.0.0/24 (device .1, inside host .2)
	BoxNets    string // what the site routes to the box (default 100.64.0.0/10)
	PSK        string
	IKEVersion int    // 2 by default
	Proposals  string // IKE proposals (default: strongSwan's defaults)
	ESP        string // ESP proposals (default: strongSwan's defaults)
	// Start makes the device initiate; otherwise it only answers.
	Start bool
	// SpoofNet, when set, is another network the device claims as its own
	// (a careless or hostile site admin): it is added to local_ts, and the
	// child gets the fixed reqid SpoofReqID (1000 when zero), so the trap
	// policy for SpoofNet and the SA the box narrows to SiteNet share it,
	// and kernel-libipsec sends SpoofNet's packets through that SA.
	SpoofNet   string
	SpoofReqID int
	// More are further connections of the same device to the box, one
	// per network behind it, each with its own IKE identity and key (as
	// a head-end's site device carries many tunnels). The box must name
	// the main connection's identity too (its remote_id: the device's
	// WAN address), so the device can tell the box's conns apart.
	More []SiteConn
	// Certs, when set, makes the device authenticate with certificates
	// instead of the PSK (see UseCerts).
	Certs *SiteCerts
}

// SiteConn is one more connection of a remote site's device.
type SiteConn struct {
	Name string // the connection's and its child's name on the device
	ID   string // the device's IKE identity for it, e.g. an FQDN
	Net  string // the network it carries (the device takes its .1)
	PSK  string
}

// SiteCerts are a device's certificate and key (PEM; the key PKCS#8 or
// SEC 1) and the CA it trusts for the box's certificate.
type SiteCerts struct {
	Cert, Key, CA []byte
}

var siteSeq atomic.Int32

// NewRemoteSite builds the site in the lab on bridge wanBridge and starts
// its charon with the connection loaded.
func NewRemoteSite(t testing.TB, lab *Lab, wanBridge string, o RemoteSiteOptions) *RemoteSite {
	t.Helper()
	testenv.RequireCommand(t, "swanctl", "unshare")
	if _, err := os.Stat("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"); err != nil {
		testenv.Skip(t, "remote site needs strongSwan's kernel-libipsec (Debian package libcharon-extra-plugins)")
	}
	if o.BoxNets == "" {
		o.BoxNets = "100.64.0.0/10"
	}
	if o.IKEVersion == 0 {
		o.IKEVersion = 2
	}
	RegisterSecret(o.PSK) // the box gets it too
	s := &RemoteSite{Opts: o, dir: t.TempDir()}
	s.Peer = lab.AddHost(t, wanBridge, o.Name+"dev", o.WANAddr)
	// The site's own network: a veth from the device to the inside host.
	s.Inside = &Host{Netns: testenv.NewNetns(t, o.Name+"in")}
	n := siteSeq.Add(1)
	devSide := fmt.Sprintf("site%d", n)
	testenv.Run(t, "ip", "link", "add", devSide, "type", "veth", "peer", "name", "eth0", "netns", s.Inside.Name)
	testenv.Run(t, "ip", "link", "set", devSide, "netns", s.Peer.Name)
	gw, host := siteAddr(o.SiteNet, 1), siteAddr(o.SiteNet, 2)
	s.Peer.Run(t, "ip", "addr", "add", gw, "dev", devSide)
	if o.SpoofNet != "" {
		// kernel-libipsec routes a policy's traffic with a source
		// address from its local_ts: without one in SpoofNet, charon
		// fails to install the traps.
		spoofGW, _, _ := strings.Cut(siteAddr(o.SpoofNet, 1), "/")
		s.Peer.Run(t, "ip", "addr", "add", spoofGW+"/32", "dev", devSide)
	}
	// kernel-libipsec routes each SA's traffic from an address in its
	// local_ts: the device owns the .1 of every network it carries.
	for _, c := range o.More {
		RegisterSecret(c.PSK)
		s.Peer.Run(t, "ip", "addr", "add", siteAddr(c.Net, 1), "dev", devSide)
	}
	s.Peer.Run(t, "ip", "link", "set", devSide, "up")
	s.Peer.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	s.Inside.Run(t, "ip", "addr", "add", host, "dev", "eth0")
	s.Inside.Run(t, "ip", "link", "set", "eth0", "up")
	s.Inside.Run(t, "ip", "route", "add", "default", "via", strings.Split(gw, "/")[0])
	s.Inside.Addr = host

	write(t, filepath.Join(s.dir, "strongswan.conf"), s.strongswanConf())
	write(t, filepath.Join(s.dir, "swanctl.conf"), s.swanctlConf())
	s.start(t)
	t.Cleanup(s.stop)
	s.Load(t)
	return s
}

// siteAddr returns the n-th address of a /24-or-larger IPv4 network, with
// the network's prefix length.
func siteAddr(cidr string, n int) string {
	ip, bits, _ := strings.Cut(cidr, "/")
	parts := strings.Split(ip, ".")
	parts[3] = fmt.Sprint(n)
	return strings.Join(parts, ".") + "/" + bits
}

func (s *RemoteSite) socket() string { return filepath.Join(s.dir, "charon.vici") }

// Socket and Conf are the device's VICI socket and strongswan.conf, for a
// test that runs swanctl itself (and may expect it to fail).
func (s *RemoteSite) Socket() string { return s.socket() }
func (s *RemoteSite) Conf() string   { return filepath.Join(s.dir, "strongswan.conf") }

// Log returns what the device's charon logged.
func (s *RemoteSite) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "charon.log"))
	return string(b)
}

func (s *RemoteSite) strongswanConf() string {
	return fmt.Sprintf(`charon {
	load = random nonce openssl kdf pem pkcs1 pkcs8 x509 kernel-libipsec kernel-netlink socket-default vici
	# A head-end opens many IKE_SAs from one address at once (Opts.More):
	# charon's defaults drop a peer's half-open SAs past 5 and ask for
	# cookies past 10, as a site's administrator would raise here.
	block_threshold = 1000
	cookie_threshold = 1000
	plugins {
		vici {
			socket = unix://%s
		}
	}
	filelog {
		stderr {
			default = 1
			ike = 2
		}
	}
}
`, s.socket())
}

// swanctlConf is what a remote site's administrator writes for the box.
func (s *RemoteSite) swanctlConf() string {
	o := s.Opts
	local := strings.Split(o.WANAddr, "/")[0]
	opt := func(k, v string) string {
		if v == "" {
			return ""
		}
		return fmt.Sprintf("\t\t%s = %s\n", k, v)
	}
	start := "trap"
	if o.Start {
		start = "start"
	}
	localTS, reqid := o.SiteNet, ""
	if o.SpoofNet != "" {
		localTS += "," + o.SpoofNet
		reqid = fmt.Sprint(cmp.Or(o.SpoofReqID, 1000))
	}
	conns, secrets := s.moreConns()
	auth := fmt.Sprintf(`		local {
			auth = psk
			id = %s
		}
		remote {
			auth = psk
			id = %s
		}`, local, o.BoxAddr)
	if o.Certs != nil {
		// As an administrator writes it: the device's certificate, and
		// any certificate of its CA for the box.
		auth = `		local {
			auth = pubkey
			certs = site.pem
		}
		remote {
			auth = pubkey
			cacerts = ca.pem
		}`
	}
	return fmt.Sprintf(`connections {
	tunneler {
		version = %d
		local_addrs = %s
		remote_addrs = %s
%s%s
		children {
			tunneler {
				local_ts = %s
				remote_ts = %s
%s%s				start_action = %s
				dpd_action = restart
			}
		}
		dpd_delay = 5s
	}
%s}
secrets {
	ike-tunneler {
		id-box = %s
		id-me = %s
		secret = "%s"
	}
%s}
`, o.IKEVersion, local, o.BoxAddr, opt("proposals", o.Proposals), auth,
		localTS, o.BoxNets, opt("\tesp_proposals", o.ESP), opt("\treqid", reqid), start, conns, o.BoxAddr, local, o.PSK, secrets)
}

// moreConns are the swanctl.conf connections and secrets of Opts.More.
// They only answer (start_action none): the box initiates, and a trap of
// each would route the same box networks a hundred times over.
func (s *RemoteSite) moreConns() (conns, secrets string) {
	o := s.Opts
	local := strings.Split(o.WANAddr, "/")[0]
	var c, k strings.Builder
	for _, m := range o.More {
		fmt.Fprintf(&c, `	%s {
		version = %d
		local_addrs = %s
		remote_addrs = %s
		local {
			auth = psk
			id = %s
		}
		remote {
			auth = psk
			id = %s
		}
		children {
			%s {
				local_ts = %s
				remote_ts = %s
				start_action = none
				dpd_action = restart
			}
		}
		dpd_delay = 5s
	}
`, m.Name, o.IKEVersion, local, o.BoxAddr, m.ID, o.BoxAddr, m.Name, m.Net, o.BoxNets)
		fmt.Fprintf(&k, `	ike-%s {
		id-box = %s
		id-me = %s
		secret = "%s"
	}
`, m.Name, o.BoxAddr, m.ID, m.PSK)
	}
	return c.String(), k.String()
}

func (s *RemoteSite) start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, "charon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// charon's pid file is fixed at /var/run/charon.pid: a private /run.
	s.charon = s.Peer.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		"mount -t tmpfs tmpfs /run && exec /usr/lib/ipsec/charon")
	s.charon.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(s.dir, "strongswan.conf"))
	s.charon.Stdout, s.charon.Stderr = logf, logf
	if err := s.charon.Start(); err != nil {
		t.Fatalf("start the remote site's charon: %v", err)
	}
	s.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(s.charon, s.done)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(s.socket()); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the remote site's charon made no vici socket:\n%s", s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *RemoteSite) stop() {
	if s.charon == nil || s.charon.Process == nil {
		return
	}
	s.charon.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.charon.Process.Kill()
		<-s.done
	}
}

// Load (re)loads swanctl.conf into the device's charon.
func (s *RemoteSite) Load(t testing.TB) {
	t.Helper()
	s.Swanctl(t, "--load-all", "--noprompt", "--clear", "--file", filepath.Join(s.dir, "swanctl.conf"))
}

// UseCerts switches the device to certificate authentication with c
// (or to another certificate) and loads it: swanctl reads x509/site.pem,
// private/site.key and x509ca/ca.pem from beside swanctl.conf.
func (s *RemoteSite) UseCerts(t testing.TB, c SiteCerts) {
	t.Helper()
	s.Opts.Certs = &c
	for _, d := range []string{"x509", "private", "x509ca"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(s.dir, "x509", "site.pem"), string(c.Cert))
	write(t, filepath.Join(s.dir, "private", "site.key"), string(c.Key))
	write(t, filepath.Join(s.dir, "x509ca", "ca.pem"), string(c.CA))
	write(t, filepath.Join(s.dir, "swanctl.conf"), s.swanctlConf())
	s.Load(t)
}

// Swanctl runs swanctl against the device's charon and returns its output.
func (s *RemoteSite) Swanctl(t testing.TB, args ...string) string {
	t.Helper()
	cmd := s.Peer.Command("swanctl", append(args, "--uri", "unix://"+s.socket())...)
	cmd.Env = append(os.Environ(), "STRONGSWAN_CONF="+filepath.Join(s.dir, "strongswan.conf"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("swanctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Initiate asks the device to bring the tunnel up now.
func (s *RemoteSite) Initiate(t testing.TB) string {
	t.Helper()
	return s.Swanctl(t, "--initiate", "--child", "tunneler", "--timeout", "20")
}

func write(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
