package webui

import (
	"fmt"
	"net/http"
	"strings"
)

// prometheus answers /metrics in the Prometheus text format (0.0.4),
// written by hand to keep the binary small. It needs no login, like most
// exporters, and carries no secret; the listener is on the LAN side only.
// Tunnel names and peer addresses do appear as labels.
func (s *Server) prometheus(w http.ResponseWriter, r *http.Request) {
	st := s.box.Status()
	var b strings.Builder
	metric := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric("tunneler_tunnel_up", "gauge", "1 when the tunnel's IKE SA and CHILD SAs are established (green).")
	for _, t := range st.Tunnels {
		fmt.Fprintf(&b, "tunneler_tunnel_up{tunnel=%s,peer=%s} %d\n", q(t.Name), q(t.PeerAddress), b2i(t.Colour == Green))
	}
	metric("tunneler_ike_sa_established", "gauge", "1 when the tunnel's IKE SA is established.")
	for _, t := range st.Tunnels {
		fmt.Fprintf(&b, "tunneler_ike_sa_established{tunnel=%s} %d\n", q(t.Name), b2i(t.IKE.State == "ESTABLISHED"))
	}
	metric("tunneler_child_sas", "gauge", "Number of CHILD SAs of the tunnel.")
	for _, t := range st.Tunnels {
		fmt.Fprintf(&b, "tunneler_child_sas{tunnel=%s} %d\n", q(t.Name), len(t.Children))
	}
	metric("tunneler_tunnel_bytes", "counter", "Bytes through the tunnel's current SAs (resets when SAs are replaced).")
	for _, t := range st.Tunnels {
		fmt.Fprintf(&b, "tunneler_tunnel_bytes{tunnel=%s,direction=\"in\"} %d\n", q(t.Name), t.BytesIn)
		fmt.Fprintf(&b, "tunneler_tunnel_bytes{tunnel=%s,direction=\"out\"} %d\n", q(t.Name), t.BytesOut)
	}
	metric("tunneler_tunnel_packets", "counter", "ESP packets through the tunnel's current SAs (resets when SAs are replaced).")
	for _, t := range st.Tunnels {
		fmt.Fprintf(&b, "tunneler_tunnel_packets{tunnel=%s,direction=\"in\"} %d\n", q(t.Name), t.PacketsIn)
		fmt.Fprintf(&b, "tunneler_tunnel_packets{tunnel=%s,direction=\"out\"} %d\n", q(t.Name), t.PacketsOut)
	}
	metric("tunneler_tunnel_last_heartbeat_seconds", "gauge", "Unix time the last inbound ESP packet arrived (kernel SA counters, sampled every 5 s).")
	for _, t := range st.Tunnels {
		if !t.LastHeartbeat.IsZero() {
			fmt.Fprintf(&b, "tunneler_tunnel_last_heartbeat_seconds{tunnel=%s} %d\n", q(t.Name), t.LastHeartbeat.Unix())
		}
	}
	metric("tunneler_tunnel_esp_silent", "gauge", "1 when IKE is up and packets go out but no ESP has come in for the alarm's time.")
	for _, t := range st.Tunnels {
		fmt.Fprintf(&b, "tunneler_tunnel_esp_silent{tunnel=%s} %d\n", q(t.Name), b2i(t.ESPSilent))
	}
	outs, keys := s.rec.Events(st.Time.AddDate(0, 0, -2))
	metric("tunneler_ike_outages_recent", "gauge", "IKE SA outages seen in the metrics window.")
	count := map[string]int{}
	for _, o := range outs {
		count[o.Tunnel]++
	}
	for _, t := range st.Tunnels {
		fmt.Fprintf(&b, "tunneler_ike_outages_recent{tunnel=%s} %d\n", q(t.Name), count[t.Name])
	}
	metric("tunneler_child_rekeys_recent", "gauge", "CHILD SA rekeys seen in the metrics window.")
	count = map[string]int{}
	for _, k := range keys {
		count[k.Tunnel]++
	}
	for _, t := range st.Tunnels {
		fmt.Fprintf(&b, "tunneler_child_rekeys_recent{tunnel=%s} %d\n", q(t.Name), count[t.Name])
	}
	metric("tunneler_router_up", "gauge", "1 when the OpenZiti router is running and healthy.")
	fmt.Fprintf(&b, "tunneler_router_up %d\n", b2i(st.Router.State == "running"))
	// The firewall's counters per rule (firewall.RuleCounters): packets
	// the WAN refused show as rule="in_drop",action="drop".
	metric("tunneler_firewall_packets_total", "counter", "Packets counted by the firewall rule since boot.")
	for _, c := range st.Firewall {
		fmt.Fprintf(&b, "tunneler_firewall_packets_total{rule=%s,action=%s} %d\n", q(c.Rule), q(c.Action), c.Packets)
	}
	metric("tunneler_firewall_bytes_total", "counter", "Bytes counted by the firewall rule since boot.")
	for _, c := range st.Firewall {
		fmt.Fprintf(&b, "tunneler_firewall_bytes_total{rule=%s,action=%s} %d\n", q(c.Rule), q(c.Action), c.Bytes)
	}
	metric("tunneler_boot_problems", "gauge", "Problems found at boot (the console banner's PROBLEM lines; the overview says what they are).")
	fmt.Fprintf(&b, "tunneler_boot_problems %d\n", len(st.Problems))
	metric("tunneler_cpu_percent", "gauge", "CPU use of the box, all cores, 0-100.")
	fmt.Fprintf(&b, "tunneler_cpu_percent %g\n", st.System.CPUPercent)
	metric("tunneler_memory_used_bytes", "gauge", "Memory in use.")
	fmt.Fprintf(&b, "tunneler_memory_used_bytes %d\n", st.System.MemUsed)
	metric("tunneler_memory_total_bytes", "gauge", "Memory installed.")
	fmt.Fprintf(&b, "tunneler_memory_total_bytes %d\n", st.System.MemTotal)
	metric("tunneler_uptime_seconds", "gauge", "Time since boot.")
	fmt.Fprintf(&b, "tunneler_uptime_seconds %g\n", st.System.Uptime.Seconds())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write([]byte(b.String()))
}

// labelEscaper escapes a label value as the text format wants (made
// once: /metrics quotes several labels per tunnel).
var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

// q quotes a label value.
func q(s string) string { return `"` + labelEscaper.Replace(s) + `"` }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
