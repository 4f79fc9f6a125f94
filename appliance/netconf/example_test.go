package netconf_test

import (
	"context"
	"log"
	"time"

	"github.com/tunneler/tunneler/appliance/netconf"
)

// How init brings the network up at boot and prints the console banner.
func Example() {
	m, err := netconf.New(netconf.Options{
		OnEvent: func(e netconf.Event) { log.Print(e) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close() // on reboot/poweroff: releases DHCP leases

	spec := netconf.DefaultSpec() // or the apply step's translation of config.Config
	if err := m.Apply(context.Background(), spec); err != nil {
		log.Print(err) // the box still runs with whatever could be applied
	}
	time.Sleep(netconf.DefaultFallbackAfter) // DHCP or the fallback address by now
	st, err := m.Status()
	if err != nil {
		log.Print(err)
	}
	for _, i := range st.Interfaces {
		log.Print(i) // "wan  enp0s3  52:54:00:12:34:56  up  10.0.2.15/24 (dhcp, gw 10.0.2.2)"
	}
}
