package webui_test

import (
	"context"
	"log"
	"net"

	"github.com/tunneler/tunneler/webui"
)

// Example shows how init serves the web UI (boot step 11). box is init's
// adapter over the config store (Config with secrets hidden, Save =
// KeepSecrets + Validate + Store.Save + start apply), apply progress,
// ipsec/ziti status, the supervisor's log rings (Unit.Lines), power
// actions and the setup code it printed on the console.
func Example() {
	var box webui.Appliance // init's adapter; nil here, so this example is not run
	ctx := context.Background()

	// First boot makes the certificate on /perm; every boot prints its
	// fingerprint on the console banner so the operator can check the
	// browser's warning against it.
	lanAddr := "192.168.77.1" // the LAN (management) address only, never the WAN
	cert, err := webui.LoadOrCreateCert("/perm/webui", lanAddr)
	if err != nil {
		log.Printf("web UI certificate: %v", err)
		return
	}
	log.Printf("web UI: https://%s/  certificate SHA-256 %s", lanAddr, webui.Fingerprint(cert))

	srv, err := webui.New(webui.Options{
		Appliance:  box,
		MetricsDir: "/perm/metrics", // hourly summary survives reboots
		Version:    "v0.1.0",
	})
	if err != nil {
		log.Printf("web UI: %v", err)
		return
	}
	// Serve also runs the metrics sampler (srv.Run) until ctx ends.
	go func() {
		err := srv.Serve(ctx, cert,
			[]string{net.JoinHostPort(lanAddr, "443")}, // HTTPS: the UI, JSON API and /metrics
			[]string{net.JoinHostPort(lanAddr, "80")},  // HTTP: redirect to HTTPS
		)
		if err != nil {
			log.Printf("web UI stopped: %v", err)
		}
	}()
}
