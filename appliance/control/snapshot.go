package control

import (
	"time"

	"github.com/tunneler/tunneler/appliance/ipsec/explain"
)

// The snapshot types: what the owner reports of the running box. The web
// UI, /metrics, the console menu and the banner all render these, so they
// never disagree (webui aliases them).

// ApplyEvent is one step of applying a saved config, for the live
// progress view of the setup wizard and of tunnel edits.
type ApplyEvent struct {
	Seq     int       `json:"seq"`
	Time    time.Time `json:"time"`
	Step    string    `json:"step"`    // "firewall", "network", "ipsec", "tunnel web-a", ...
	State   string    `json:"state"`   // "running", "ok", "failed"
	Message string    `json:"message"` // plain words, e.g. "peer did not answer on UDP 500"
	// Done marks the last event of an apply: every tunnel is up, or Message
	// says in plain words why one is not.
	Done bool `json:"done,omitempty"`
}

// Colours of a tunnel on the overview.
const (
	Green  = "green"  // IKE SA and every CHILD SA established
	Orange = "orange" // connecting, rekeying, or some CHILD SAs missing
	Gray   = "gray"   // down (Reason says why) or not started
)

// Status is the snapshot the Overview, IPsec and Metrics pages show.
type Status struct {
	Time    time.Time      `json:"time"`
	Tunnels []TunnelStatus `json:"tunnels"`
	Router  RouterStatus   `json:"router"`
	System  SystemStatus   `json:"system"`
	// Firewall holds the firewall's counters per rule, drops first;
	// FirewallError says why they could not be read.
	Firewall      []FirewallCounter `json:"firewall"`
	FirewallError string            `json:"firewall_error,omitempty"`
	// Problems are what the box found wrong at boot (the console banner's
	// PROBLEM lines), e.g. a provisioning file that was not imported.
	Problems []BootProblem `json:"problems,omitempty"`
	// Sites with several remotes, and the alarms raised when a remote or
	// a site goes down (webui/sites.go).
	Sites  []SiteStatus `json:"sites,omitempty"`
	Alarms []Alarm      `json:"alarms"`
	// Trial is the change on trial, nil when none runs.
	Trial        *TrialStatus  `json:"trial,omitempty"`
	AlarmHistory []AlarmChange `json:"alarm_history,omitempty"`
	// Interfaces are the NICs with a role and their addresses, IPv4 and
	// IPv6 (link-local left out), as netconf reports them.
	Interfaces []InterfaceStatus `json:"interfaces,omitempty"`
	// CharonConns are the connections charon itself reports loaded
	// (VICI get-conns, read every few seconds), sorted: once a change is
	// applied, exactly the tunnels of the config and the sites' remotes.
	CharonConns []string `json:"charon_conns"`
	// Certificates are the box's and the imported ones, with their expiry
	// (certs.go).
	Certificates CertsStatus `json:"certificates"`
}

// InterfaceStatus is one NIC with a role: its addresses and how it takes
// them.
type InterfaceStatus struct {
	Role      string   `json:"role"`
	Name      string   `json:"name"`
	State     string   `json:"state"` // up, down, no-carrier
	Addresses []string `json:"addresses"`
	// How says how the addresses come, e.g. "dhcp, gw 192.0.2.1, IPv6
	// slaac" (netconf's summary).
	How string `json:"how"`
}

// Actions of a firewall rule.
const (
	FirewallDrop   = "drop"
	FirewallAccept = "accept"
)

// FirewallCounter is what one firewall rule has counted since boot.
type FirewallCounter struct {
	Rule    string `json:"rule"`   // the counter's name, e.g. "in_drop"
	Action  string `json:"action"` // FirewallDrop, FirewallAccept, "clamp" or ""
	What    string `json:"what"`   // what the rule matches, in plain words
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// BootProblem is one thing the box found wrong at boot. It names files,
// fields and reasons, never a secret's value.
type BootProblem struct {
	Area string `json:"area"` // "provisioning", "/perm", "config", "firewall", ...
	Text string `json:"text"` // the problem in plain words
	// Details are one line each, e.g. every problem of a provisioning
	// file, each naming its line and variable or field.
	Details []string `json:"details,omitempty"`
	File    string   `json:"file,omitempty"`    // a provisioning file: its name on the boot partition
	KeptAs  string   `json:"kept_as,omitempty"` // the name the rejected file was renamed to
}

// TunnelStatus is one tunnel's state.
type TunnelStatus struct {
	Name   string `json:"name"`
	Colour string `json:"colour"` // Green, Orange or Gray
	// Site names the site when this tunnel is one of its remotes.
	Site           string   `json:"site,omitempty"`
	PeerAddress    string   `json:"peer_address"`
	RemoteNetworks []string `json:"remote_networks"`
	// LastHeartbeat is when an inbound ESP packet last arrived (kernel
	// counters, sampled; appliance/liveness), zero when none was seen.
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
	// ESPSilent: IKE is up and packets go out, but no ESP has come in
	// for the alarm's time (liveness.SilentMessage).
	ESPSilent  bool      `json:"esp_silent,omitempty"`
	BytesIn    uint64    `json:"bytes_in"`
	BytesOut   uint64    `json:"bytes_out"`
	PacketsIn  uint64    `json:"packets_in"`
	PacketsOut uint64    `json:"packets_out"`
	IKE        IKESA     `json:"ike"`
	Children   []ChildSA `json:"children,omitempty"`
	// Reason says in plain words why the tunnel is not up ("" when up),
	// e.g. "the peer rejected our pre-shared key (AUTHENTICATION_FAILED)".
	Reason string `json:"reason,omitempty"`
	// Mismatch names both sides of what keeps the tunnel down, when
	// charon's log shows it: the proposals offered and accepted (and the
	// preset that would match), networks, IDs, a wrong key.
	Mismatch *explain.Explanation `json:"mismatch,omitempty"`
	// WeakCrypto: the tunnel takes the legacy preset's weaker algorithms
	// (config.IKESettings.WeakCrypto); every surface marks it "weak crypto".
	WeakCrypto bool `json:"weak_crypto,omitempty"`
	// NAT and VendorIDs are what the latest negotiation said of NAT and
	// of the remote device's vendor IDs.
	NAT       []string `json:"nat,omitempty"`
	VendorIDs []string `json:"vendor_ids,omitempty"`
}

// IKESA is the state of a tunnel's IKE SA.
type IKESA struct {
	State       string    `json:"state"` // charon's: ESTABLISHED, CONNECTING, ... or "" when none
	Established time.Time `json:"established,omitzero"`
	Version     int       `json:"version,omitempty"`
	LocalAddr   string    `json:"local_addr,omitempty"`
	RemoteAddr  string    `json:"remote_addr,omitempty"`
	Encryption  string    `json:"encryption,omitempty"` // e.g. AES_GCM_16-256
	Integrity   string    `json:"integrity,omitempty"`
	PRF         string    `json:"prf,omitempty"`
	DHGroup     string    `json:"dh_group,omitempty"`
	NATLocal    bool      `json:"nat_local,omitempty"`  // the box is behind NAT
	NATRemote   bool      `json:"nat_remote,omitempty"` // the peer is behind NAT
	RekeyAt     time.Time `json:"rekey_at,omitzero"`
}

// ChildSA is one CHILD SA (ESP) of a tunnel.
type ChildSA struct {
	Name       string   `json:"name"`
	State      string   `json:"state"` // INSTALLED, REKEYING, ...
	SPIIn      string   `json:"spi_in"`
	SPIOut     string   `json:"spi_out"`
	LocalTS    []string `json:"local_ts"`
	RemoteTS   []string `json:"remote_ts"`
	Encryption string   `json:"encryption,omitempty"`
	Integrity  string   `json:"integrity,omitempty"`
	DHGroup    string   `json:"dh_group,omitempty"`
	Encap      bool     `json:"udp_encap,omitempty"` // ESP in UDP 4500 (NAT-T)
	BytesIn    uint64   `json:"bytes_in"`
	BytesOut   uint64   `json:"bytes_out"`
	PacketsIn  uint64   `json:"packets_in"`
	PacketsOut uint64   `json:"packets_out"`
	// LastInbound is when this CHILD_SA's inbound counter was last seen
	// to grow (zero: no packet yet).
	LastInbound time.Time `json:"last_inbound,omitzero"`
	Installed   time.Time `json:"installed,omitzero"`
	RekeyAt     time.Time `json:"rekey_at,omitzero"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
}

// RouterStatus is the OpenZiti router's state.
type RouterStatus struct {
	State    string `json:"state"` // "not enrolled", "running", "unhealthy", "stopped", ...
	Enrolled bool   `json:"enrolled"`
	Detail   string `json:"detail,omitempty"`
}

// SystemStatus describes the box.
type SystemStatus struct {
	Hostname   string        `json:"hostname"`
	Version    string        `json:"version"`
	Uptime     time.Duration `json:"uptime_ns"`
	CPUPercent float64       `json:"cpu_percent"` // all cores, 0..100
	MemUsed    uint64        `json:"mem_used"`
	MemTotal   uint64        `json:"mem_total"`
	// CharonRSS is the IKE daemon's resident memory in bytes (0 while
	// it is not running): with a thousand tunnels it is the box's
	// largest process.
	CharonRSS uint64 `json:"charon_rss,omitempty"`
}

// Log kinds.
const (
	KindCharon = "charon"
	KindRouter = "router"
	KindSystem = "system"
)

// LogQuery selects log lines. Zero fields select everything.
type LogQuery struct {
	Kinds []string  // empty: all kinds
	Since time.Time // lines strictly after Since
	Until time.Time // lines at or before Until
	Limit int       // newest Limit lines; 0: the web UI's default
}

// LogLine is one line of a log.
type LogLine struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	Text string    `json:"text"`
}

// Action kinds for Owner.Do. Deleting a tunnel is a Save of the document
// without it, so it is validated and applied like any other change.
const (
	ActReconnect     = "reconnect"      // Tunnel names the tunnel
	ActRestartCharon = "restart-charon" // restart the IKE daemon
	ActReboot        = "reboot"
	ActFactoryReset  = "factory-reset" // wipe /perm config and secrets, reboot into setup
	ActConfirmTrial  = "confirm-trial" // keep the change on trial
	ActRevertTrial   = "revert-trial"  // go back from it now
)

// Action is one operator action.
type Action struct {
	Kind   string `json:"kind"`
	Tunnel string `json:"tunnel,omitempty"`
	// Source says who asked (the trial's log names it).
	Source Source `json:"-"`
}

// SiteStatus is a site with several remotes (config.Site): which remote
// carries its networks, and each remote's health.
type SiteStatus struct {
	Name           string         `json:"name"`
	Active         int            `json:"active"` // 1-based, as operators count
	Down           bool           `json:"down"`   // no remote is healthy
	RemoteNetworks []string       `json:"remote_networks"`
	Remotes        []RemoteStatus `json:"remotes"`
}

// RemoteStatus is one remote of a site.
type RemoteStatus struct {
	Index       int    `json:"index"`  // 1-based
	Tunnel      string `json:"tunnel"` // charon's name, e.g. hq-r1
	PeerAddress string `json:"peer_address"`
	Active      bool   `json:"active"`
	Healthy     bool   `json:"healthy"`
	// Suspect: it failed and waits for a tunnel made after the failure.
	Suspect  bool   `json:"suspect,omitempty"`
	TunnelUp bool   `json:"tunnel_up"`
	Colour   string `json:"colour"` // charon's view: Green, Orange or Gray
	Reason   string `json:"reason,omitempty"`
	// Monitor is the tunnel monitor's last word on it: "up", "down", or
	// "" (not probed: a standby, or no monitor target).
	Monitor       string        `json:"monitor,omitempty"`
	MonitorTarget string        `json:"monitor_target,omitempty"`
	HealthySince  time.Time     `json:"healthy_since,omitzero"`
	HoldDown      time.Duration `json:"hold_down_ns"`
}

// Alarm is a raised alarm: a remote or a site that is down.
type Alarm struct {
	Key      string    `json:"key"` // "site:hq", "remote:hq-r1"
	Severity string    `json:"severity"`
	Raised   time.Time `json:"raised"`
	Reason   string    `json:"reason"`
}

// AlarmChange is one entry of the alarm history.
type AlarmChange struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"` // "raised", "cleared", "info"
	Key      string    `json:"key"`
	Severity string    `json:"severity"`
	Reason   string    `json:"reason"`
}

// ActRestartRemote restarts one remote of a site, as 128T's `restart
// ipsec remote`: Action.Tunnel names the remote's tunnel (e.g. hq-r2).
const ActRestartRemote = "restart-remote"
