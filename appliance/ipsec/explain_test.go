package ipsec

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strongswan/govici/vici"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/ipsec/explain"
)

// fileLogRe splits charon's filelog line into the IKE_SA's name, its
// unique id and the message, as a VICI log event carries them.
var fileLogRe = regexp.MustCompile(`^\d+\[[A-Z]+\] <(?:([^|>]*)\|)?(\d+)> (.*)$`)

// replay feeds a real charon log to the client as VICI log events.
func replay(t *testing.T, c *Client, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		m := fileLogRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		name := m[1]
		if name == "" {
			name = "(unnamed)"
		}
		c.handleEvent(vici.Event{Name: "log", Timestamp: time.Now(),
			Message: msg("group", "IKE", "level", "1", "ikesa-name", name, "ikesa-uniqueid", m[2], "msg", m[3])})
	}
}

// The known wrong-side blame of issue 16: an IKEv1 device offers only
// SHA-1 ESP to a box that responds. The box's charon refuses it, and the
// status must say so, with both lists; the lines before the IKE_SA has a
// name reach the tunnel by the device's address.
func TestExplainOnStatusNamesOurSide(t *testing.T) {
	c, _ := fakeClient(t)
	c.Apply([]config.Tunnel{tunnel(func(t *config.Tunnel) {
		t.PeerAddress = "192.0.2.2"
		t.Initiation = config.Responder
	})})
	replay(t, c, "explain/testdata/v1-esp-resp.log")
	st, _ := c.Tunnel("site-a")
	e := st.Explained
	if e == nil || e.Kind != explain.ESPProposals || e.Side != explain.Ours {
		t.Fatalf("explained %+v, want ESP proposals refused by this box", e)
	}
	if !strings.Contains(st.Reason, "this box accepts none") || strings.Contains(st.Reason, "the remote device accepts none") {
		t.Errorf("reason %q blames the wrong side", st.Reason)
	}
	if len(e.Offered) != 1 || !strings.Contains(e.Offered[0], "HMAC_SHA1_96") || len(e.Accepted) != 3 {
		t.Errorf("offered %v accepted %v", e.Offered, e.Accepted)
	}
	if len(st.VendorIDs) == 0 || st.VendorIDs[0] != "XAuth" || len(st.NATSeen) != 1 {
		t.Errorf("vendor IDs %v, NAT %v", st.VendorIDs, st.NATSeen)
	}

	// An IKE proposal refusal before any name: found by address too.
	c2, _ := fakeClient(t)
	c2.Apply([]config.Tunnel{tunnel(func(t *config.Tunnel) { t.PeerAddress = "192.0.2.2" })})
	replay(t, c2, "explain/testdata/ike-resp.log")
	if st, _ := c2.Tunnel("site-a"); st.Explained == nil || st.Explained.Kind != explain.IKEProposals || !strings.Contains(st.Reason, "MODP_1024") {
		t.Errorf("IKE refusal: %q %+v", st.Reason, st.Explained)
	}
	// Another address's IKE_SA is not this tunnel's.
	c3, _ := fakeClient(t)
	c3.Apply([]config.Tunnel{tunnel()})
	replay(t, c3, "explain/testdata/ike-resp.log")
	if st, _ := c3.Tunnel("site-a"); st.Explained != nil {
		t.Errorf("a stranger's refusal explained site-a: %+v", st.Explained)
	}
}

// A later reason the log does not explain (the device stopped answering)
// replaces the explanation of an earlier mismatch.
func TestExplanationGivesWayToNewerReason(t *testing.T) {
	c, _ := fakeClient(t)
	c.Apply([]config.Tunnel{tunnel(func(t *config.Tunnel) { t.PeerAddress = "192.0.2.2" })})
	replay(t, c, "explain/testdata/ike-resp.log")
	if st, _ := c.Tunnel("site-a"); st.Explained == nil {
		t.Fatal("no explanation after a refused offer")
	}
	c.handleEvent(vici.Event{Name: "log", Timestamp: time.Now(),
		Message: msg("group", "IKE", "level", "1", "ikesa-name", "site-a", "ikesa-uniqueid", "7", "msg", "giving up after 3 retransmits")})
	st, _ := c.Tunnel("site-a")
	if st.Explained != nil || !strings.Contains(st.Reason, "does not answer") {
		t.Errorf("after the device went silent: %q %+v", st.Reason, st.Explained)
	}
	if len(st.NATSeen) != 1 {
		t.Errorf("NAT facts lost: %v", st.NATSeen)
	}
}
