package vmtest

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
)

// Remote is a remote site's VPN device in a VM of its own: Debian's kernel
// with real ESP, stock strongSwan and libreswan (one of them running at a
// time, as on a real device), one NIC on the lab's WAN bridge and one on
// the site's own network, where Inside, a host behind the device, sits.
// The test drives it over its serial console as its administrator would
// over SSH.
type Remote struct {
	Opts    RemoteOptions
	Inside  *Host
	Console *Console
	// WANTap is the device's port on the WAN bridge (in the lab
	// namespace): capture there to see what it sends and receives.
	WANTap string
	cmd    *exec.Cmd
	exited chan struct{}
	seq    atomic.Int32
	daemon string // "charon", "pluto" or ""
}

// RemoteOptions place the device in the lab.
type RemoteOptions struct {
	Name      string // e.g. "rvm"; names the inside bridge and namespace
	WANBridge string // the lab's WAN bridge
	WANAddr   string // the device's WAN address with prefix, e.g. 192.0.2.3/24
	Gateway   string // its default route on the WAN (a NAT router's address); none when empty
	SiteNet   string // the site's network, e.g. 10.8.0.0/24: the device is .1, Inside .2
}

// StartRemote boots the remote device and waits until its shell answers.
func StartRemote(t testing.TB, lab *Lab, im *RemoteImage, o RemoteOptions) *Remote {
	t.Helper()
	testenv.RequireCommand(t, "qemu-system-x86_64")
	insideBridge := lab.Bridge(t, o.Name+"in")
	r := &Remote{Opts: o, exited: make(chan struct{})}
	wanTap, inTap := lab.addTap(t, o.WANBridge), lab.addTap(t, insideBridge)
	r.WANTap = wanTap
	args := []string{"netns", "exec", lab.NS.Name, "qemu-system-x86_64",
		"-machine", "pc", "-smp", "1", "-m", "256", "-display", "none", "-vga", "none",
		"-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-kernel", im.Kernel, "-initrd", im.Initrd,
		"-append", "console=ttyS0 quiet loglevel=3 panic=-1",
		"-netdev", "tap,id=wan,ifname=" + wanTap + ",script=no,downscript=no", "-device", "virtio-net-pci,netdev=wan,mac=52:54:00:00:0b:01",
		"-netdev", "tap,id=in,ifname=" + inTap + ",script=no,downscript=no", "-device", "virtio-net-pci,netdev=in,mac=52:54:00:00:0b:02",
	}
	if os.Getenv("TUNNELER_KVM") != "" {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		args = append(args, "-accel", "tcg", "-cpu", "max")
	}
	r.cmd = exec.Command("ip", args...)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = r.cmd.Stdout
	stdin, err := r.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(ArtifactDir(t), o.Name+"-console.log")
	r.Console = newConsole(stdout, stdin, logPath)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start the remote device's qemu: %v", err)
	}
	go func() { r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("remote device %s's console (last lines; all in %s):\n%s", o.Name, logPath, r.Console.Tail(40))
		}
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
		}
	})
	if err := r.Console.ExpectString("remote: ready", 2*time.Minute); err != nil {
		t.Fatalf("the remote device did not boot: %v", err)
	}
	// No echo: the console then carries only what commands print.
	r.Console.SendLine("stty -echo; PS1=''")
	r.Sh(t, "true")
	gw, host := siteAddr(o.SiteNet, 1), siteAddr(o.SiteNet, 2)
	r.Sh(t, fmt.Sprintf("ip link set eth0 up && ip addr add %s dev eth0 && ip link set eth1 up && ip addr add %s dev eth1 && sysctl -qw net.ipv4.ip_forward=1", o.WANAddr, gw))
	if o.Gateway != "" {
		r.Sh(t, "ip route add default via "+o.Gateway)
	}
	r.Inside = lab.AddHost(t, insideBridge, o.Name+"in", host)
	r.Inside.Run(t, "ip", "route", "add", "default", "via", strings.Split(gw, "/")[0])
	return r
}

// WANIP is the device's WAN address without its prefix.
func (r *Remote) WANIP() string { return strings.Split(r.Opts.WANAddr, "/")[0] }

var shEndRe = regexp.MustCompile(`(?s)__B(\d+)__\r?\n(.*?)__E(\d+)_(\d+)__`)

// ShRC runs a shell command on the device and returns what it printed and
// its exit status.
func (r *Remote) ShRC(cmd string, timeout time.Duration) (string, int, error) {
	n := r.seq.Add(1)
	// The markers are split in the command line ("__B""1__") so a line the
	// console echoes cannot match them.
	line := fmt.Sprintf(`echo __B""%d__; ( %s ) 2>&1; echo __E""%d_$?__`, n, cmd, n)
	if err := r.Console.SendLine(line); err != nil {
		return "", -1, err
	}
	re := regexp.MustCompile(fmt.Sprintf(`(?s)__B%d__\r?\n(.*?)__E%d_(\d+)__`, n, n))
	m, err := r.Console.Expect(re, timeout)
	if err != nil {
		return "", -1, fmt.Errorf("run %q on the remote device: %w", cmd, err)
	}
	rc, _ := strconv.Atoi(m[2])
	return strings.ReplaceAll(m[1], "\r\n", "\n"), rc, nil
}

// Sh runs a shell command on the device and fails the test unless it
// succeeds; it returns the output.
func (r *Remote) Sh(t testing.TB, cmd string) string {
	t.Helper()
	out, rc, err := r.ShRC(cmd, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rc != 0 {
		t.Fatalf("on the remote device, %s: exit status %d\n%s", cmd, rc, out)
	}
	return out
}

// WriteFile puts a file on the device (base64 over the console, in lines
// short enough for the terminal's line discipline).
func (r *Remote) WriteFile(t testing.TB, path, body string, mode os.FileMode) {
	t.Helper()
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	r.Sh(t, fmt.Sprintf("mkdir -p %s && : > /tmp/upload.b64", filepath.Dir(path)))
	for len(enc) > 0 {
		chunk := enc[:min(len(enc), 768)]
		enc = enc[len(chunk):]
		r.Sh(t, "echo "+chunk+" >> /tmp/upload.b64")
	}
	r.Sh(t, fmt.Sprintf("base64 -d /tmp/upload.b64 > %s && chmod %o %s", path, mode, path))
}

// ReadFile returns a file of the device ("" if it is missing).
func (r *Remote) ReadFile(t testing.TB, path string) string {
	t.Helper()
	out, _, err := r.ShRC("cat "+path, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// remoteStrongswanConf is a stock strongswan.conf with an explicit plugin
// list (the image carries only these) and charon's log in a file.
func remoteStrongswanConf() string {
	return fmt.Sprintf(`charon {
	load = %s
	filelog {
		charon {
			path = /var/log/charon.log
			default = 1
			ike = 2
			time_format = %%T
		}
	}
}
swanctl {
	load = random openssl pem pkcs1 x509
}
`, strings.Join(remoteCharonPlugins, " "))
}

// StartStrongswan stops any daemon and starts charon with swanctl.conf
// (as the site's administrator wrote it) loaded.
func (r *Remote) StartStrongswan(t testing.TB, swanctlConf string) {
	t.Helper()
	r.StopDaemon(t)
	r.WriteFile(t, "/etc/strongswan.conf", remoteStrongswanConf(), 0o644)
	r.WriteFile(t, "/etc/swanctl/swanctl.conf", swanctlConf, 0o600)
	r.Sh(t, ": > /var/log/charon.log; rm -f /run/charon.vici /run/charon.pid; /usr/lib/ipsec/charon >/dev/null 2>&1 &")
	r.Sh(t, "for i in $(seq 100); do [ -S /run/charon.vici ] && exit 0; sleep 0.1; done; exit 1")
	r.daemon = "charon"
	r.Swanctl(t, "--load-all", "--noprompt")
}

// Swanctl runs swanctl on the device and returns its output.
func (r *Remote) Swanctl(t testing.TB, args ...string) string {
	t.Helper()
	return r.Sh(t, "swanctl "+strings.Join(args, " "))
}

// StartLibreswan stops any daemon and starts pluto with ipsec.conf and
// ipsec.secrets, adding (and starting) the conns ipsec.conf names.
func (r *Remote) StartLibreswan(t testing.TB, ipsecConf, ipsecSecrets string) {
	t.Helper()
	r.StopDaemon(t)
	r.WriteFile(t, "/etc/ipsec.conf", ipsecConf, 0o644)
	r.WriteFile(t, "/etc/ipsec.secrets", ipsecSecrets, 0o600)
	r.Sh(t, ": > /var/log/pluto.log; rm -f /run/pluto/pluto.ctl /run/pluto/pluto.pid; pluto --config /etc/ipsec.conf --logfile /var/log/pluto.log")
	r.Sh(t, "for i in $(seq 100); do [ -S /run/pluto/pluto.ctl ] && exit 0; sleep 0.1; done; exit 1")
	r.daemon = "pluto"
	r.Sh(t, "whack --listen && whack --rereadsecrets && addconn --config /etc/ipsec.conf --autoall")
}

// StopDaemon ends charon or pluto, whichever runs, and clears the kernel's
// SAs and policies, as a reboot of the device would.
func (r *Remote) StopDaemon(t testing.TB) {
	t.Helper()
	switch r.daemon {
	case "charon":
		r.Sh(t, "kill $(cat /run/charon.pid) 2>/dev/null; for i in $(seq 50); do [ -e /run/charon.pid ] || break; sleep 0.1; done; true")
	case "pluto":
		r.Sh(t, "whack --shutdown >/dev/null 2>&1; for i in $(seq 50); do [ -e /run/pluto/pluto.pid ] || break; sleep 0.1; done; true")
	}
	r.daemon = ""
	r.Sh(t, iproute2+" xfrm state flush; "+iproute2+" xfrm policy flush")
}

// Log returns the running (or last) daemon's log.
func (r *Remote) Log(t testing.TB) string {
	t.Helper()
	if r.daemon == "pluto" {
		return r.ReadFile(t, "/var/log/pluto.log")
	}
	return r.ReadFile(t, "/var/log/charon.log")
}

// XfrmStates returns the kernel's ESP SAs on the device (ip xfrm state).
func (r *Remote) XfrmStates(t testing.TB) string {
	t.Helper()
	return r.Sh(t, iproute2+" xfrm state")
}

// iproute2 is iproute2's ip on the device. Debian's busybox runs its own
// applets before anything on PATH, and its ip has no xfrm.
const iproute2 = "/usr/local/sbin/ip"
