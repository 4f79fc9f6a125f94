package configdrive

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/provision"
)

const psk = "q7Vd-2mXz-Lp9R-wT4k-Hs8N-bY3c"

const goodJSON = `{"version": 2, "system": {"hostname": "branch-7"},
 "tunnels": [{"name": "hq", "peer_address": "203.0.113.5", "psk": "` + psk + `", "remote_networks": ["10.1.0.0/16"]}]}`

const goodEnv = "IPSEC_REMOTEIP=203.0.113.5\nIPSEC_REMOTENET=10.1.0.0/16\nIPSEC_PSK='" + psk + "'\n"

// dirMounter stands in for the kernel: a volume's files live in a
// folder; mounting copies them to dir, unmounting a writable mount copies
// them back. It records every writable mount.
type dirMounter struct {
	t        *testing.T
	src      map[string]string // volume name → its files
	fail     map[string]bool   // volumes that do not mount
	writable []string
	mounted  string
	rw       bool
}

func (m *dirMounter) Mount(v Volume, dir string, writable bool) error {
	if m.fail[v.Name] {
		return errors.New("wrong fs type, bad superblock")
	}
	if writable {
		m.writable = append(m.writable, v.Name)
	}
	m.mounted, m.rw = v.Name, writable
	return copyTree(m.src[v.Name], dir)
}

func (m *dirMounter) Unmount(dir string) error {
	if m.rw {
		os.RemoveAll(m.src[m.mounted])
		if err := copyTree(dir, m.src[m.mounted]); err != nil {
			return err
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
	return nil
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
}

func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			data, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(data))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func openStore(t *testing.T) *config.Store {
	t.Helper()
	s, err := config.OpenStore(filepath.Join(t.TempDir(), "config"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	cidataISO = Volume{Name: "sr0", Device: "/dev/sr0", FSType: ISO9660, Label: "cidata", ReadOnly: true}
	cidataFAT = Volume{Name: "vdb", Device: "/dev/vdb", FSType: VFAT, Label: "CIDATA"}
	config2   = Volume{Name: "sr1", Device: "/dev/sr1", FSType: ISO9660, Label: "config-2", ReadOnly: true}
	plainFAT  = Volume{Name: "sdb1", Device: "/dev/sdb1", FSType: VFAT}
)

var userDataWriteFiles = `#cloud-config
hostname: ignored-by-tunneler
write_files:
  - path: /etc/motd
    content: hello
  - path: /etc/tunneler/tunneler.json
    content: |
      ` + strings.ReplaceAll(goodJSON, "\n", "\n      ") + `
`

const userDataKey = `#cloud-config
tunneler:
  version: 2
  system: {hostname: branch-7}
  tunnels:
    - name: hq
      peer_address: 203.0.113.5
      psk: "` + psk + `"
      remote_networks: [10.1.0.0/16]
`

func TestRun(t *testing.T) {
	type volume struct {
		v     Volume
		files map[string]string
	}
	for _, tc := range []struct {
		name     string
		vols     []volume
		failing  []string
		imported bool
		file     string
		from     string
		removed  bool
		lines    []string // each in the report
		left     map[string][]string
	}{
		{name: "cidata ISO with tunneler.json", vols: []volume{{cidataISO, map[string]string{"tunneler.json": goodJSON}}},
			imported: true, file: "tunneler.json", from: "the config drive cidata (sr0)",
			lines: []string{"provisioning: imported tunneler.json from the config drive cidata (sr0) as config generation 1",
				"provisioning: tunneler.json: left as it is on the config drive cidata (sr0), with its secrets: detach the drive"},
			left: map[string][]string{"sr0": {"tunneler.json=" + goodJSON}}},
		{name: "erasure asked on a writable FAT drive", vols: []volume{{cidataFAT, map[string]string{"TUNNELER.ENV": goodEnv, "tunneler.erase": "", "meta-data": "x"}}},
			imported: true, file: "TUNNELER.ENV", from: "the config drive CIDATA (vdb)", removed: true,
			lines: []string{"provisioning: TUNNELER.ENV erased and removed from the config drive CIDATA (vdb)"},
			left:  map[string][]string{"vdb": {"meta-data=x"}}},
		{name: "erasure asked on an ISO", vols: []volume{{cidataISO, map[string]string{"tunneler.json": goodJSON, "tunneler.erase": ""}}},
			imported: true, file: "tunneler.json", from: "the config drive cidata (sr0)",
			lines: []string{"tunneler.erase asks for erasure, but the config drive cidata (sr0) is read-only"},
			left:  map[string][]string{"sr0": {"tunneler.erase=", "tunneler.json=" + goodJSON}}},
		{name: "invalid file reported, left alone", vols: []volume{{cidataFAT, map[string]string{"tunneler.json": `{"version": 2, "tunnels": [{"name": "Bad Name!", "peer_address": "203.0.113.5", "remote_networks": ["10.1.0.0/16"]}]}`}}},
			file: "tunneler.json", from: "the config drive CIDATA (vdb)",
			lines: []string{"provisioning: tunneler.json on the config drive CIDATA (vdb) NOT imported: 2 problem(s)",
				"provisioning: tunneler.json: tunnels[0].name", "provisioning: tunneler.json: tunnels[0].psk"}},
		{name: "any FAT volume holding the file", vols: []volume{{plainFAT, map[string]string{"tunneler.env": goodEnv}}},
			imported: true, file: "tunneler.env", from: "the vfat volume sdb1"},
		{name: "user-data is read on labelled drives only", vols: []volume{{plainFAT, map[string]string{"user-data": userDataKey}}}},
		{name: "NoCloud write_files", vols: []volume{{cidataISO, map[string]string{"user-data": userDataWriteFiles, "meta-data": "instance-id: x"}}},
			imported: true, file: "user-data", from: "the config drive cidata (sr0)",
			lines: []string{"the config is the user-data's write_files[1] /etc/tunneler/tunneler.json"}},
		{name: "NoCloud tunneler key", vols: []volume{{cidataISO, map[string]string{"user-data": userDataKey}}},
			imported: true, file: "user-data", from: "the config drive cidata (sr0)",
			lines: []string{"the config is the user-data's key tunneler"}},
		{name: "config-2 user_data", vols: []volume{{config2, map[string]string{"openstack/latest/user_data": userDataKey}}},
			imported: true, file: "openstack/latest/user_data", from: "the config drive config-2 (sr1)"},
		{name: "user-data for other guests", vols: []volume{{cidataISO, map[string]string{"user-data": "#cloud-config\nhostname: vm1\n"}}}},
		{name: "a script as user-data", vols: []volume{{cidataISO, map[string]string{"user-data": "#!/bin/sh\necho hi\n"}}}},
		{name: "user-data that is not YAML", vols: []volume{{cidataISO, map[string]string{"user-data": "#cloud-config\ntunneler: [unclosed\n"}}},
			file: "user-data", from: "the config drive cidata (sr0)",
			lines: []string{"provisioning: user-data on the config drive cidata (sr0) NOT imported: 1 problem(s)", "read #cloud-config: yaml:"}},
		{name: "tunneler.json wins over the user-data", vols: []volume{{cidataISO, map[string]string{"tunneler.json": goodJSON, "user-data": "#cloud-config\ntunneler: [unclosed\n"}}},
			imported: true, file: "tunneler.json", from: "the config drive cidata (sr0)"},
		{name: "first volume empty, second holds it", vols: []volume{{cidataISO, map[string]string{"meta-data": "x"}}, {plainFAT, map[string]string{"tunneler.json": goodJSON}}},
			imported: true, file: "tunneler.json", from: "the vfat volume sdb1"},
		{name: "an unlabelled volume that does not mount is skipped", failing: []string{"sdb1"},
			vols:     []volume{{plainFAT, nil}, {Volume{Name: "sdc", Device: "/dev/sdc", FSType: VFAT}, map[string]string{"tunneler.json": goodJSON}}},
			imported: true, file: "tunneler.json", from: "the vfat volume sdc"},
		{name: "a labelled volume that does not mount is reported", failing: []string{"sr0"},
			vols: []volume{{cidataISO, nil}}, file: "sr0", from: "the config drive cidata (sr0)",
			lines: []string{"provisioning: sr0: mount: wrong fs type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &dirMounter{t: t, src: map[string]string{}, fail: map[string]bool{}}
			for _, f := range tc.failing {
				m.fail[f] = true
			}
			var vols []Volume
			for _, v := range tc.vols {
				dir := t.TempDir()
				for name, data := range v.files {
					put(t, dir, name, data)
				}
				m.src[v.v.Name] = dir
				vols = append(vols, v.v)
			}
			store := openStore(t)
			r := Run(vols, m, filepath.Join(t.TempDir(), "mnt"), store)
			report := strings.Join(r.Lines(), "\n")
			if r.Imported != tc.imported || r.File != tc.file || r.From != tc.from || r.Removed != tc.removed {
				t.Errorf("Run = %+v\n%s", r, report)
			}
			for _, want := range tc.lines {
				if !strings.Contains(report, want) {
					t.Errorf("report lacks %q:\n%s", want, report)
				}
			}
			if strings.Contains(report, psk) {
				t.Errorf("the report shows the key:\n%s", report)
			}
			_, _, err := store.Load()
			if tc.imported != (err == nil) {
				t.Errorf("imported %v, but the store says %v", tc.imported, err)
			}
			if tc.imported {
				c, _, _ := store.Load()
				if len(c.Tunnels) != 1 || c.Tunnels[0].PSK.Reveal() != psk {
					t.Errorf("stored config = %+v", c)
				}
			}
			// The box writes only where erasure was asked and possible.
			if (len(m.writable) > 0) != tc.removed {
				t.Errorf("mounted writable: %v", m.writable)
			}
			for name, want := range tc.left {
				if got := listTree(t, m.src[name]); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s holds %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestFromUserData(t *testing.T) {
	const envB64 = "SVBTRUNfUkVNT1RFSVA9MjAzLjAuMTEzLjUK" // IPSEC_REMOTEIP=203.0.113.5
	// gzip of the same line, then base64 (printf ... | gzip -n | base64)
	const envGzB64 = "H4sIAAAAAAAAA/MMCHZ1jg9y9fUPcfUMsDUyMNYz0DM0NNYz5QIA9M74qRsAAAA="
	for _, tc := range []struct {
		name, data string
		kind, body string
		ok         bool
		err        string
		warn       string
	}{
		{name: "not cloud-config", data: "#!/bin/sh\n"},
		{name: "nothing for the box", data: "#cloud-config\nusers: [default]\n"},
		{name: "plain content", data: "#cloud-config\nwrite_files:\n- path: /etc/tunneler/tunneler.json\n  content: '{\"version\": 2}'\n",
			kind: provision.JSONName, body: `{"version": 2}`, ok: true},
		{name: "b64 env", data: "#cloud-config\nwrite_files:\n- path: /x/TUNNELER.ENV\n  encoding: b64\n  content: " + envB64 + "\n",
			kind: "TUNNELER.ENV", body: "IPSEC_REMOTEIP=203.0.113.5\n", ok: true},
		{name: "gz+b64 env", data: "#cloud-config\nwrite_files:\n- path: /etc/tunneler/tunneler.env\n  encoding: gz+b64\n  content: " + envGzB64 + "\n",
			kind: provision.EnvName, body: "IPSEC_REMOTEIP=203.0.113.5\n", ok: true},
		{name: "unknown encoding", data: "#cloud-config\nwrite_files:\n- path: /etc/tunneler/tunneler.env\n  encoding: rot13\n  content: x\n",
			err: `write_files[0] /etc/tunneler/tunneler.env: encoding "rot13"`},
		{name: "key as JSON text", data: "#cloud-config\ntunneler: |\n  {\"version\": 2}\n",
			kind: provision.JSONName, body: "{\"version\": 2}\n", ok: true},
		{name: "key as a list", data: "#cloud-config\ntunneler: [1, 2]\n", err: "key tunneler: line 2"},
		{name: "key and write_files", data: "#cloud-config\ntunneler: {version: 2}\nwrite_files:\n- path: /etc/tunneler/tunneler.json\n  content: '{}'\n",
			kind: provision.JSONName, body: `{"version":2}`, ok: true, warn: "write_files[0] /etc/tunneler/tunneler.json was not read: key tunneler comes first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, warns, ok, err := fromUserData([]byte(tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || ok != tc.ok || f.kind != tc.kind || string(f.body) != tc.body {
				t.Errorf("fromUserData = %q %q %v %v; want %q %q %v", f.kind, f.body, ok, err, tc.kind, tc.body, tc.ok)
			}
			if got := strings.Join(warns, "\n"); !strings.Contains(got, tc.warn) || tc.warn == "" && got != "" {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}
