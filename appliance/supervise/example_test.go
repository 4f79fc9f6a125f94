package supervise_test

import (
	"context"
	"log"
	"time"

	"github.com/tunneler/tunneler/appliance/supervise"
)

// How init wires supervision: one Reaper for the whole process, a
// Supervisor on it, and the hardware watchdog fed only while supervision
// is healthy.
func Example() {
	reaper := supervise.NewReaper(func(st supervise.ExitStatus) {
		log.Printf("reaped orphan pid %d: %s", st.Pid, st)
	})
	sup, err := supervise.New(supervise.Options{Reaper: reaper, LogDir: "/perm/log"})
	if err != nil {
		log.Fatal(err)
	}
	charon, err := sup.Add(supervise.Service{
		Name:      "charon",
		Path:      "/usr/lib/ipsec/charon",
		StopGrace: 5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	sup.StartAll()

	feed := func() {} // write to /dev/watchdog
	for range time.Tick(time.Second) {
		if err := sup.Healthy(); err != nil {
			log.Printf("not feeding the watchdog: %v", err)
			continue
		}
		feed()
		if charon.Status().State == supervise.Failed {
			break
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sup.Close(ctx) // reverse order: router first, then charon
}
