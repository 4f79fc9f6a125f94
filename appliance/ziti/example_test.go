package ziti_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/tunneler/tunneler/appliance/config"
	"github.com/tunneler/tunneler/appliance/supervise"
	"github.com/tunneler/tunneler/appliance/ziti"
)

// How init wires the router (DESIGN.md boot step 10). The image carries
// image/ziti's ziti-router at ziti.DefaultBinary (/usr/bin/ziti-router)
// and init's own binary answers as /bin/tunneler-diverter. Identity and
// rendered config live under config.Router.IdentityPath's directory on
// /perm (/perm/ziti/). The firewall (with its intercept chain) and
// firewall.EnsureTProxyRoute come first, in step 8.
func Example() {
	reaper := supervise.NewReaper(func(supervise.ExitStatus) {})
	sup, err := supervise.New(supervise.Options{Reaper: reaper, LogDir: "/perm/log"})
	if err != nil {
		log.Fatal(err)
	}
	var cfg config.Config // loaded from /perm; WithDefaults fills Router

	// Enrollment runs through the reaper: PID 1 waits for every child.
	router := ziti.New(cfg.Router, reaper.Run)

	path, args := router.Command() // ziti-router run /perm/ziti/router.yml
	unit, err := sup.Add(supervise.Service{
		Name:    "ziti-router",
		Path:    path,
		Args:    args,
		Prepare: router.Prepare, // render config, inside address on lo, flush intercepts
		Probe:   router.Probe,   // nil while connected to the controller
		// A lost controller is not cured by a restart: the router
		// reconnects by itself, so no ProbeFailuresToRestart.
		ProbeInterval: 5 * time.Second,
		StopGrace:     5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	router.Tidy() // finish an enrollment a power cut interrupted
	if _, err := router.Enrolled(); err == nil {
		unit.Start() // step 10: only once enrolled
	}

	// The web UI's or console's "enroll" action, with the pasted or
	// uploaded token. Check it first to answer at once; Enroll checks
	// again, runs the enrollment, and deletes the token either way.
	jwt := []byte("eyJ...")
	if _, err := ziti.ParseToken(jwt, time.Now()); err != nil {
		log.Printf("enrollment token: %v", err) // plain words for the page
		return
	}
	ctx := context.Background()
	router.Progress = func(step string) { log.Printf("enrollment: %s", step) } // or to the page
	unit.Stop(ctx)                                                             // re-enrolling: the old identity stops working anyway
	if e, err := router.Enroll(ctx, jwt); err != nil {
		// ErrRefused (used token, unreachable controller) and the token
		// errors leave the box as it was: restart the old identity.
		if errors.Is(err, ziti.ErrRefused) {
			log.Printf("enrollment: %v", err)
		}
	} else {
		log.Printf("enrolled as router %s with %v", e.RouterID, e.Controllers)
	}
	if _, err := router.Enrolled(); err == nil {
		unit.Start()
	}

	// Status page and banner: connected to the controller or not.
	st := unit.Status()
	if st.Healthy {
		log.Printf("router: connected to its controller")
	} else {
		log.Printf("router: %s %s", st.State, st.ProbeError)
	}

	// Un-enroll: stop, then remove the identity.
	unit.Stop(ctx)
	if err := router.Unenroll(); err != nil {
		log.Print(err)
	}

	// A changed Router section (intercept range, link listener) applies
	// at the next start, when Prepare renders the config again.
	router.SetSettings(ziti.Settings{Router: cfg.Router})
	unit.Restart(ctx)
}
