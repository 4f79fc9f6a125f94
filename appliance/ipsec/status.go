package ipsec

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tunneler/tunneler/appliance/ipsec/explain"
)

// Colour is a tunnel's status colour, as the NetFoundry console shows them.
type Colour string

const (
	Green  Colour = "green"  // IKE_SA established and a CHILD_SA installed
	Orange Colour = "orange" // was up since the box started, now down
	Gray   Colour = "gray"   // never connected since the box started
)

// TunnelStatus is what the status page, the console and metrics show for
// one tunnel.
type TunnelStatus struct {
	Name   string
	Colour Colour
	// Reason says in plain words why the tunnel is not up (empty when up).
	Reason string
	// Explained names both sides of the mismatch that keeps the tunnel
	// down, when charon's log shows one (nil when up or unknown).
	Explained *explain.Explanation
	// NATSeen and VendorIDs are what charon's log said of NAT and of the
	// remote device's vendor IDs in the latest negotiation.
	NATSeen, VendorIDs []string
	// IKEState is charon's IKE_SA state (ESTABLISHED, CONNECTING, ...), or
	// "" when charon holds no IKE_SA for the tunnel.
	IKEState string
	// Established is when the current IKE_SA came up (zero when down);
	// FirstUp is when the tunnel first came up since the box started and
	// LastUp when a CHILD_SA last came up (bench: time to tunnel up).
	Established, FirstUp, LastUp time.Time
	// LastDown is when it last went down.
	LastDown time.Time

	IKEVersion              int
	LocalHost, RemoteHost   string // address:port
	LocalID, RemoteID       string
	Initiator               bool
	NATLocal, NATRemote     bool // NAT-T: which side is behind NAT
	Encap                   bool // ESP in UDP (NAT-T or forced)
	IKEAlgorithms           Algorithms
	IKERekeyIn, IKEReauthIn time.Duration
	Children                []ChildStatus
}

// Algorithms negotiated for an SA, in charon's names.
type Algorithms struct {
	Encryption string // e.g. AES_GCM_16-256
	Integrity  string // empty for AEAD
	PRF        string // IKE only
	DHGroup    string
}

func (a Algorithms) String() string {
	var parts []string
	for _, s := range []string{a.Encryption, a.Integrity, a.PRF, a.DHGroup} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

// ChildStatus is one CHILD_SA.
type ChildStatus struct {
	Name                  string
	UniqueID              string
	ReqID                 uint32
	State                 string // INSTALLED, REKEYING, ...
	SPIIn, SPIOut         string // hex, as charon prints them
	Algorithms            Algorithms
	LocalTS, RemoteTS     []string
	BytesIn, BytesOut     uint64
	PacketsIn, PacketsOut uint64
	Installed             time.Time
	RekeyIn, LifetimeLeft time.Duration
}

// Up reports whether the tunnel carries traffic.
func (s TunnelStatus) Up() bool { return s.Colour == Green }

// reasons maps fragments of charon's log lines to what an operator can act
// on. First match wins, so the specific ones come first.
var reasons = []struct {
	re   *regexp.Regexp
	text string
}{
	{regexp.MustCompile(`AUTHENTICATION_FAILED|MAC mismatched|verification of .*AUTH.* failed|authentication of .* failed`),
		"authentication failed: the pre-shared key (or the IDs) do not match the remote device's"},
	{regexp.MustCompile(`no shared key found`),
		"authentication failed: no pre-shared key for these IDs; check the local and remote IDs"},
	{regexp.MustCompile(`no matching peer config found|looking for peer configs matching .* found none|no peer config found`),
		"the remote device's identity matches no tunnel here; check the local and remote IDs on both sides"},
	// This box refused the device's offer: "sending NO_PROPOSAL_CHOSEN"
	// is ours, "received NO_PROPOSAL_CHOSEN" theirs.
	{regexp.MustCompile(`no IKE config found for`),
		"a remote device connected from an address no tunnel here names"},
	{regexp.MustCompile(`sending NO_PROPOSAL_CHOSEN|received proposals unacceptable|^no proposal found|no matching proposal found|^no acceptable proposal found`),
		reasonOurIKEProposals},
	{regexp.MustCompile(`NO_PROPOSAL_CHOSEN.*(CHILD|no CHILD_SA built)|no acceptable proposal found.*CHILD|CHILD_SA.*no acceptable proposal`),
		reasonESPProposals},
	{regexp.MustCompile(`NO_PROPOSAL_CHOSEN|no acceptable proposal found|no proposal chosen`),
		reasonIKEProposals},
	{regexp.MustCompile(`TS_UNACCEPTABLE|traffic selectors .* unacceptable|no acceptable traffic selectors`),
		"the networks do not match: the remote device does not accept the local/remote networks configured here"},
	{regexp.MustCompile(`INVALID_ID_INFORMATION`),
		"the remote device rejected our identity (INVALID_ID_INFORMATION); check the local ID"},
	{regexp.MustCompile(`giving up after \d+ retransmits|peer not responding|retransmit .* timed out`),
		"the remote device does not answer: retransmits timed out (check its address, that it is up, and that UDP 500/4500 reach it)"},
	{regexp.MustCompile(`unable to resolve|resolving .* failed`),
		"the remote device's name does not resolve"},
	{regexp.MustCompile(`received DELETE for IKE_SA|deleting IKE_SA .* received DELETE`),
		"closed by the remote device"},
	{regexp.MustCompile(`unable to install inbound and outbound IPsec SA|unable to add SAD entry`),
		"the kernel refused the negotiated SAs (missing crypto modules?)"},
}

const (
	reasonOurIKEProposals = "IKE (phase 1) proposals do not match: this box accepts none of the algorithms the remote device offered"
	reasonOurESPProposals = "ESP (phase 2) proposals do not match: this box accepts none of the encryption settings the remote device offered"
	reasonIKEProposals    = "IKE (phase 1) proposals do not match: the remote device accepts none of the algorithms offered"
	reasonESPProposals    = "ESP (phase 2) proposals do not match: the remote device accepts none of the encryption settings offered for traffic"
)

// ReasonFromLog maps one charon log line to a plain-words reason, or "".
func ReasonFromLog(msg string) string {
	for _, r := range reasons {
		if r.re.MatchString(msg) {
			return r.text
		}
	}
	return ""
}

// colour decides a tunnel's colour, for every surface: the web UI, the
// JSON API, /metrics, the console and the banner all show this one
// (appliance/control copies it into its snapshot).
func colour(ikeUp, childUp, everUp bool) Colour {
	switch {
	case ikeUp && childUp:
		return Green
	case everUp:
		return Orange
	default:
		return Gray
	}
}

// fallbackReason is shown when the tunnel is down and charon's log said
// nothing we recognise.
func fallbackReason(st TunnelStatus, responder bool) string {
	switch {
	case st.IKEState == "ESTABLISHED":
		return "IKE is up but no CHILD_SA (traffic SA) is installed"
	case st.IKEState == "CONNECTING":
		return "connecting to the remote device"
	case st.IKEState != "":
		return fmt.Sprintf("IKE_SA is %s", strings.ToLower(st.IKEState))
	case responder:
		return "waiting for the remote device to connect"
	default:
		return "not connected; charon will keep retrying"
	}
}
