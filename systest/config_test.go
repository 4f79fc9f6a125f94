package systest

// Issue 3 from the outside: the config store, unattended provisioning from
// the ESP, DHCP and a static LAN, the console menu, and power cuts while
// the config is being saved.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunneler/tunneler/scripts/testenv"
	"github.com/tunneler/tunneler/scripts/vmtest"
	"github.com/tunneler/tunneler/webui"
)

// diskWithESPFile makes a disk whose ESP holds name (as an operator would
// put it there before the first boot): a raw copy of the built disk, the
// file added with mtools, and a qcow2 overlay on top for qemu.
func diskWithESPFile(t *testing.T, im *vmtest.Image, name, data string) string {
	t.Helper()
	testenv.RequireCommand(t, "mcopy", "mdir")
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.img")
	run(t, "cp", "--sparse=always", im.Raw(), raw)
	src := filepath.Join(dir, name)
	if err := os.WriteFile(src, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	mtools(t, "mcopy", "-i", fmt.Sprintf("%s@@%d", raw, im.Manifest.ESPOffset), src, "::"+name)
	disk := filepath.Join(dir, "disk.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", raw, disk)
	return disk
}

// espFiles lists the root of the ESP of a VM's disk after qemu ended.
func espFiles(t *testing.T, im *vmtest.Image, disk string) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "export.img")
	run(t, "qemu-img", "convert", "-O", "raw", disk, raw)
	return mtools(t, "mdir", "-b", "-i", fmt.Sprintf("%s@@%d", raw, im.Manifest.ESPOffset), "::/")
}

func mtools(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startDnsmasq serves DHCP on the host's eth0 from 192.168.50.100-150. No
// upstream servers: nothing leaves the lab.
func startDnsmasq(t *testing.T, h *vmtest.Host) {
	t.Helper()
	testenv.RequireCommand(t, "dnsmasq")
	logPath := filepath.Join(vmtest.ArtifactDir(t), "dnsmasq.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.Command("dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--bind-interfaces", "--interface=eth0", "--except-interface=lo", "--port=0",
		"--pid-file=", "--user=root", "--group=root", "--log-dhcp", "--no-ping",
		"--dhcp-leasefile="+filepath.Join(t.TempDir(), "leases"),
		"--dhcp-range=192.168.50.100,192.168.50.150,255.255.255.0,1h")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dnsmasq: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
}

// ping checks from a lab host that the box answers at addr, retrying while
// an address is being applied.
func pingFrom(t *testing.T, h *vmtest.Host, addr string) {
	t.Helper()
	var out []byte
	var err error
	for i := 0; i < 10; i++ {
		out, err = h.Command("ping", "-n", "-c", "1", "-W", "2", addr).CombinedOutput()
		if err == nil {
			return
		}
		time.Sleep(time.Second)
	}
	t.Errorf("the box does not answer ping at %s from the LAN: %v\n%s", addr, err, out)
}

// menuDialog picks a menu entry and answers its questions, waiting for
// each prompt.
func menuDialog(t *testing.T, vm *vmtest.VM, key string, qa ...string) {
	t.Helper()
	menu(t, vm, key, false)
	for i := 0; i+1 < len(qa); i += 2 {
		expect(t, vm, regexp.MustCompile(regexp.QuoteMeta(qa[i])), 20*time.Second)
		vm.Console.SendLine(qa[i+1])
	}
}

const (
	wanMAC = "52:54:00:12:00:01"
	lanMAC = "52:54:00:12:00:02"
)

// One box, provisioned by a tunneler.json with an admin password, lives
// through its LAN taking a DHCP lease, the operator setting a static LAN
// address from the serial console (applied live, kept across a reboot),
// the debug entry, resetting the admin password, and a factory reset.
func TestConsoleMenuLANAddressAndAdminReset(t *testing.T) {
	requireTools(t)
	testenv.RequireCommand(t, "ping")
	im := vmtest.LoadImage(t)
	hash := adminHash(t, "operator-pass-1")
	disk := diskWithESPFile(t, im, "tunneler.json", `{"version": 2, "admin": {"password_hash": "`+hash+`"}}`)

	lab := vmtest.NewLab(t)
	lab.Bridge(t, "wan")
	site := lab.AddHost(t, "lan", "site", "192.168.50.1/24")
	startDnsmasq(t, site)
	opts := vmtest.Options{Firmware: vmtest.Direct, Disk: disk, Lab: lab, Append: "tunneler.debug=testhooks", // the debug entry
		NICs: []vmtest.NIC{{Bridge: "wan", MAC: wanMAC}, {Bridge: "lan", MAC: lanMAC}}}
	vm := vmtest.Start(t, im, opts)

	banner := expectBanner(t, vm, "direct")
	out := vm.Console.Output()
	if !strings.Contains(out, "provisioning: imported tunneler.json from the ESP as config generation 1") {
		t.Errorf("tunneler.json was not imported:\n%s", vm.Console.Tail(60))
	}
	if strings.Contains(out, hash) {
		t.Errorf("the console shows the admin password hash")
	}
	if setupRe.MatchString(banner) || !strings.Contains(banner, "Running.") {
		t.Errorf("a box with an admin password is in setup mode:\n%s", banner)
	}

	// DHCP on LAN: the lease is logged and shows in the status.
	// The lease may come before the banner or after it.
	leaseRe := regexp.MustCompile(`\(lan\): dhcp: lease (192\.168\.50\.1\d\d)`)
	var lease string
	if m := leaseRe.FindStringSubmatch(vm.Console.Output()); m != nil {
		lease = m[1]
	} else {
		lease = expect(t, vm, leaseRe, 60*time.Second)[1]
	}
	menu(t, vm, "1", false)
	expect(t, vm, regexp.MustCompile(`lan\s+`+lanMAC+`\s+up\s+`+regexp.QuoteMeta(lease)+`/24`), 20*time.Second)
	pingFrom(t, site, lease)

	// Static LAN from the console; a bad address first is refused.
	menuDialog(t, vm, "3", "New LAN address", "192.168.50.300/24")
	expect(t, vm, regexp.MustCompile(`is not an address like`), 20*time.Second)
	menuDialog(t, vm, "3", "New LAN address", "192.168.50.2/24")
	expect(t, vm, regexp.MustCompile(`Saved as config generation 2\.`), 30*time.Second)
	expect(t, vm, regexp.MustCompile(`Applied\.`), 30*time.Second)
	pingFrom(t, site, "192.168.50.2")

	// Roles bound by MAC from the menu; ping from the box; the log.
	menuDialog(t, vm, "2", "WAN interface (1-2):", "1", "LAN interface (1-2, or none):", "2")
	expect(t, vm, regexp.MustCompile(`Saved as config generation 3\.`), 30*time.Second)
	menuDialog(t, vm, "6", "Address to ping:", "192.168.50.1")
	expect(t, vm, regexp.MustCompile(`reply from 192\.168\.50\.1: seq=1`), 30*time.Second)
	expect(t, vm, regexp.MustCompile(`192\.168\.50\.1: 4 sent, [1-4] received`), 30*time.Second)
	menu(t, vm, "7", false)
	expect(t, vm, regexp.MustCompile(`(?s)--- last \d+ log lines ---.*console menu: LAN address set to 192\.168\.50\.2/24.*--- end of log ---`), 30*time.Second)

	// The debug entry checks the admin password (not echoed) and says no
	// shell is installed.
	menuDialog(t, vm, "11", "Admin password:", "operator-pass-1")
	expect(t, vm, regexp.MustCompile(`Password accepted, but this image has no shell installed`), 30*time.Second)
	// It then offers the test hooks; Enter goes back to the menu.
	expect(t, vm, regexp.MustCompile(`or Enter to go back:`), 20*time.Second)
	vm.Console.SendLine("")

	menu(t, vm, "9", true)
	expect(t, vm, regexp.MustCompile(`/perm unmounted cleanly`), shutdownTimeout)
	expectBanner(t, vm, "direct")
	if !strings.Contains(vm.Console.Tail(200), "loaded config generation 3") {
		t.Errorf("the second boot did not load generation 3:\n%s", vm.Console.Tail(60))
	}
	menu(t, vm, "1", false)
	expect(t, vm, regexp.MustCompile(`lan\s+`+lanMAC+`\s+up\s+192\.168\.50\.2/24`), 30*time.Second)
	expect(t, vm, regexp.MustCompile(`lan\s+static 192\.168\.50\.2/24 \(MAC `+lanMAC+`\)`), 10*time.Second)
	pingFrom(t, site, "192.168.50.2")

	// Reset the admin password: back to setup mode, with a code shown.
	menu(t, vm, "5", true)
	code := expect(t, vm, regexp.MustCompile(`SETUP MODE\. Setup code: (\d{4}-\d{4})`), 60*time.Second)[1]
	menu(t, vm, "4", false)
	expect(t, vm, regexp.MustCompile(`Setup code: `+code), 20*time.Second)
	menuDialog(t, vm, "11")
	expect(t, vm, regexp.MustCompile(`No admin password is set`), 20*time.Second)

	// Factory reset: the store is wiped and the box comes back as new,
	// with nothing left on the ESP to import again.
	menu(t, vm, "10", true)
	expect(t, vm, regexp.MustCompile(`Config erased\. Rebooting into setup mode\.`), 20*time.Second)
	expect(t, vm, regexp.MustCompile(`/perm unmounted cleanly`), shutdownTimeout)
	banner = expectBanner(t, vm, "direct")
	if !setupRe.MatchString(banner) || !strings.Contains(vm.Console.Tail(200), "config: none saved yet") {
		t.Errorf("after a factory reset the box is not new:\n%s", vm.Console.Tail(80))
	}
	all := vm.Console.Output()
	if strings.Contains(all[strings.LastIndex(all, "Config erased."):], "provisioning: imported") {
		t.Errorf("tunneler.json was imported again after the factory reset")
	}

	menu(t, vm, "0", true)
	if err := vm.Wait(shutdownTimeout); err != nil {
		t.Fatal(err)
	}
	vmtest.CheckPermClean(t, vm.PermImage(t))
	if files := espFiles(t, im, vm.Disk); strings.Contains(strings.ToLower(files), "tunneler.json") {
		t.Errorf("tunneler.json is still on the ESP:\n%s", files)
	}
}

// envPSK is the PSK of envFile: registered as a secret where a test uses it.
const envPSK = "q7Vd-2mXz-Lp9R-wT4k-Hs8N-bY3c"

const envFile = `# from our vnf-ipsec deployment
IPSEC_LOCALIP=%any
IPSEC_REMOTEIP=203.0.113.5
IPSEC_REMOTENET=10.1.0.0/16,10.2.0.0/16
IPSEC_PSK='` + envPSK + `'
IPSEC_KEYEXCHANGE=ikev2
IPSEC_ESPCIPHER=aes256gcm16-ecp384
IPSEC_FORCEUDP=yes
`

// A vnf-ipsec variables file on the ESP is imported on first boot and gone
// from the ESP afterwards. The box then saves its config in a loop
// (tunneler.debug=saveloop) and qemu is killed mid-loop: the next boot has
// the old or the new version, whole, and says which.
func TestESPVariablesFileAndPowerCutWhileSaving(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	disk := diskWithESPFile(t, im, "tunneler.env", envFile)
	vmtest.RegisterSecret(envPSK)
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, Append: "tunneler.debug=saveloop"})
	expectBanner(t, vm, "direct")
	out := vm.Console.Output()
	for _, want := range []string{
		"provisioning: imported tunneler.env from the ESP as config generation 1",
		"provisioning: tunneler.env erased and removed from the ESP",
		"(hostname tunneler, 1 tunnels)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, vm.Console.Tail(60))
		}
	}
	if strings.Contains(out, "q7Vd-2mXz") {
		t.Errorf("the console shows the PSK")
	}
	// Let the loop run a while, then cut the power at an odd moment.
	var last int
	for i := 0; i < 3; i++ {
		m := expect(t, vm, regexp.MustCompile(`saveloop: saved config generation (\d+)\D`), 60*time.Second)
		last, _ = strconv.Atoi(m[1])
	}
	time.Sleep(time.Duration(time.Now().UnixNano()%400) * time.Millisecond)
	vm.Kill()
	t.Logf("power cut after generation %d was reported saved", last)

	if files := espFiles(t, im, disk); strings.Contains(strings.ToLower(files), "tunneler.env") {
		t.Errorf("tunneler.env is still on the ESP:\n%s", files)
	}

	// The next boot runs as its own subtest, so its console log is kept
	// apart from the first one's.
	t.Run("next boot", func(t *testing.T) {
		vm2 := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk})
		banner := expectBanner(t, vm2, "direct")
		out2 := vm2.Console.Output()
		m := regexp.MustCompile(`config: loaded config generation (\d+)([^\n]*)\(hostname (saveloop-[ab]), 1 tunnels\)`).FindStringSubmatch(out2)
		if m == nil {
			t.Fatalf("the box after the power cut does not say which config it loaded:\n%s", vm2.Console.Tail(80))
		}
		gen, _ := strconv.Atoi(m[1])
		t.Logf("after the power cut: generation %d, %s%s", gen, m[3], m[2])
		if gen < last {
			t.Errorf("loaded generation %d, older than %d which was saved before the cut", gen, last)
		}
		if strings.Contains(m[2], "newer generations were unreadable") && !strings.Contains(banner, "PROBLEM:    config:") {
			t.Errorf("the box fell back to an older generation without saying so in the banner:\n%s", banner)
		}
		if strings.Contains(out2, "no generation is readable") || strings.Contains(out2, "provisioning: imported") {
			t.Errorf("the config was lost:\n%s", vm2.Console.Tail(60))
		}
		menu(t, vm2, "0", true)
		if err := vm2.Wait(shutdownTimeout); err != nil {
			t.Fatal(err)
		}
		vmtest.CheckPermClean(t, vm2.PermImage(t))
	})
}

// An invalid variables file is not imported: it stays on the ESP renamed,
// and the console and the status note say what is wrong, line by line.
func TestInvalidESPFileKeptAndReported(t *testing.T) {
	requireTools(t)
	im := vmtest.LoadImage(t)
	bad := "IPSEC_REMOTEIP=203.0.113.5\nIPSEC_REMOTENET=10.1.0.0/33\nIPSEC_PSK='" + vmtest.RegisterSecret(envPSK) + "'\nIPSEC_VTI_IPADDR_LOCAL=10.9.9.1/30\n"
	disk := diskWithESPFile(t, im, "tunneler.env", bad)
	// A LAN host reads the setup wizard: the web UI must say it too.
	lab := vmtest.NewLab(t)
	lan := lab.AddHost(t, "lan", "lanhost", "192.168.77.2/24")
	vm := vmtest.Start(t, im, vmtest.Options{Firmware: vmtest.Direct, Disk: disk, MemoryMiB: 768, Lab: lab,
		NICs: []vmtest.NIC{{Bridge: "wan", MAC: boxWANMAC}, {Bridge: "lan", MAC: boxLANMAC}}})
	banner := expectBanner(t, vm, "direct")
	out := vm.Console.Output()
	for _, want := range []string{
		"provisioning: tunneler.env NOT imported",
		"kept on the ESP as tunneler.env.invalid",
		"line 2: IPSEC_REMOTENET",
		"line 4: IPSEC_VTI_IPADDR_LOCAL",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, vm.Console.Tail(60))
		}
	}
	if !strings.Contains(banner, "PROBLEM:    provisioning: tunneler.env on the ESP was NOT imported") || !setupRe.MatchString(banner) {
		t.Errorf("banner does not report the file or is not in setup mode:\n%s", banner)
	}
	if m := setupRe.FindStringSubmatch(banner); m != nil {
		checkWizardReportsFile(t, vm, lan, m[1], "q7Vd-2mXz-Lp9R-wT4k-Hs8N-bY3c")
	}
	// The operator may reboot before opening the web UI: the file is
	// gone from the ESP's root by then, and the box must still say why
	// it has no config.
	menu(t, vm, "9", true) // Reboot
	banner = expectBanner(t, vm, "direct")
	if !strings.Contains(banner, "PROBLEM:    provisioning: tunneler.env on the ESP was NOT imported") {
		t.Errorf("banner after a reboot does not report the rejected file:\n%s", banner)
	}
	if m := setupRe.FindStringSubmatch(banner); m != nil {
		checkWizardReportsFile(t, vm, lan, m[1], "q7Vd-2mXz-Lp9R-wT4k-Hs8N-bY3c")
	} else {
		t.Errorf("not in setup mode after a reboot:\n%s", banner)
	}
	menu(t, vm, "0", true)
	if err := vm.Wait(shutdownTimeout); err != nil {
		t.Fatal(err)
	}
	files := strings.ToLower(espFiles(t, im, vm.Disk))
	if !strings.Contains(files, "tunneler.env.invalid") {
		t.Errorf("the invalid file is not kept as tunneler.env.invalid on the ESP:\n%s", files)
	}
	note := vmtest.ReadPermFile(t, vm.PermImage(t), "/state/provisioning.txt")
	if !strings.Contains(note, "line 2: IPSEC_REMOTENET") {
		t.Errorf("status note for the web UI = %q", note)
	}
}

// checkWizardReportsFile opens the setup wizard from the LAN with the
// console's setup code and checks that its first step (JSON and HTML)
// says which file was not imported, as what, and why, line by line,
// without the key.
func checkWizardReportsFile(t *testing.T, vm *vmtest.VM, lan *vmtest.Host, code, psk string) {
	t.Helper()
	c := vmtest.RecordHTTP(t, lan.HTTPClient())
	jar, _ := cookiejar.New(nil)
	c.Jar = jar
	base := "https://" + boxLAN
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/setup", strings.NewReader(url.Values{"code": {code}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if resp, err = c.Do(req); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no web UI at %s from the LAN: %v\n%s", base, err, vm.Console.Tail(30))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/setup with the console's code: %s", resp.Status)
	}
	get := func(path string, json bool) string {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if json {
			req.Header.Set("Accept", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
		}
		if strings.Contains(string(body), psk) {
			t.Errorf("GET %s shows the pre-shared key of the rejected file", path)
		}
		return string(body)
	}
	var ans struct {
		Problems []webui.BootProblem `json:"problems"`
	}
	body := get("/api/setup/password", true)
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatalf("GET /api/setup/password: %v\n%s", err, body)
	}
	var prov *webui.BootProblem
	for i, p := range ans.Problems {
		if p.Area == "provisioning" {
			prov = &ans.Problems[i]
		}
	}
	if prov == nil {
		t.Fatalf("the setup wizard's JSON reports no provisioning problem: %s", body)
	}
	details := strings.Join(prov.Details, "\n")
	if !strings.Contains(prov.Text, "tunneler.env on the boot partition was not imported") || prov.KeptAs != "tunneler.env.invalid" ||
		!strings.Contains(details, "line 2: IPSEC_REMOTENET") || !strings.Contains(details, "line 4: IPSEC_VTI_IPADDR_LOCAL") {
		t.Errorf("the setup wizard's provisioning problem = %+v", *prov)
	}
	page := get("/setup/password", false)
	for _, want := range []string{"The provisioning file tunneler.env on the boot partition was not imported",
		"line 2: IPSEC_REMOTENET", "<code>tunneler.env.invalid</code>", `id="f-password"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the setup wizard's password step lacks %q", want)
		}
	}
}
