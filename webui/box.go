package webui

import (
	"context"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
)

// Box is everything the web UI needs from the rest of the appliance. init
// implements it on top of the config store, the apply step, ipsec status,
// the supervisor's log rings and the power surface; tests use a fake.
//
// Secrets: Config returns the document with every Secret as the "(hidden)"
// placeholder (config.Secret.IsHidden), and Save must put the stored values
// back (config.Config.KeepSecrets) before validating, so a page can send a
// document back without knowing the keys. AdminHash is the one secret the
// web UI reads, to check a login.
type Box interface {
	// Config returns the saved document with secrets hidden, or the zero
	// Config (and false) when nothing was saved yet.
	Config() (config.Config, bool)
	// AdminHash is the crypt-style admin password hash, "" in setup mode.
	AdminHash() string
	// Save validates c (after KeepSecrets with the stored document), saves
	// it and starts applying it. Field errors mean nothing was saved; err is
	// for a failure to write. Progress of the apply is read with Progress.
	Save(ctx context.Context, c config.Config) (config.FieldErrors, error)
	// Progress returns the events of the latest apply with Seq > after,
	// oldest first. Seq grows across applies, so a page polling with the
	// last Seq it saw never misses or repeats an event.
	Progress(after int) []ApplyEvent
	// Status is a snapshot of tunnels, router and the box itself.
	Status() Status
	// Logs returns lines matching q, oldest first.
	Logs(q LogQuery) []LogLine
	// Do runs an operator action (reconnect a tunnel, restart charon,
	// reboot, factory reset). It returns once the action has started.
	Do(ctx context.Context, a Action) error
	// CheckSetupCode reports whether code is the one-time setup code shown
	// on the console (constant-time; false once setup is done). code comes
	// normalised (NormalizeSetupCode): compare it with the printed code
	// normalised the same way.
	CheckSetupCode(code string) bool
}

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
	Sites        []SiteStatus  `json:"sites,omitempty"`
	Alarms       []Alarm       `json:"alarms"`
	AlarmHistory []AlarmChange `json:"alarm_history,omitempty"`
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
	Name           string    `json:"name"`
	Colour         string    `json:"colour"` // Green, Orange or Gray
	PeerAddress    string    `json:"peer_address"`
	RemoteNetworks []string  `json:"remote_networks"`
	LastHeartbeat  time.Time `json:"last_heartbeat,omitzero"` // last DPD/liveness answer
	BytesIn        uint64    `json:"bytes_in"`
	BytesOut       uint64    `json:"bytes_out"`
	IKE            IKESA     `json:"ike"`
	Children       []ChildSA `json:"children,omitempty"`
	// Reason says in plain words why the tunnel is not up ("" when up),
	// e.g. "the peer rejected our pre-shared key (AUTHENTICATION_FAILED)".
	Reason string `json:"reason,omitempty"`
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
	Name       string    `json:"name"`
	State      string    `json:"state"` // INSTALLED, REKEYING, ...
	SPIIn      string    `json:"spi_in"`
	SPIOut     string    `json:"spi_out"`
	LocalTS    []string  `json:"local_ts"`
	RemoteTS   []string  `json:"remote_ts"`
	Encryption string    `json:"encryption,omitempty"`
	Integrity  string    `json:"integrity,omitempty"`
	DHGroup    string    `json:"dh_group,omitempty"`
	Encap      bool      `json:"udp_encap,omitempty"` // ESP in UDP 4500 (NAT-T)
	BytesIn    uint64    `json:"bytes_in"`
	BytesOut   uint64    `json:"bytes_out"`
	Installed  time.Time `json:"installed,omitzero"`
	RekeyAt    time.Time `json:"rekey_at,omitzero"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
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
}

// Log kinds.
const (
	KindCharon = "charon"
	KindRouter = "router"
	KindSystem = "system"
)

// LogKinds lists the kinds the Logs page filters on.
var logKinds = []string{KindCharon, KindRouter, KindSystem}

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

// Action kinds for Box.Do. Deleting a tunnel is a Save of the document
// without it, so it is validated and applied like any other change.
const (
	ActReconnect     = "reconnect"      // Tunnel names the tunnel
	ActRestartCharon = "restart-charon" // restart the IKE daemon
	ActReboot        = "reboot"
	ActFactoryReset  = "factory-reset" // wipe /perm config and secrets, reboot into setup
)

// Action is one operator action.
type Action struct {
	Kind   string `json:"kind"`
	Tunnel string `json:"tunnel,omitempty"`
}
