// Command ziti-router is the OpenZiti edge router the box carries: only
// `run` and `enroll` from github.com/openziti/ziti v1.7.2, wired the way
// `ziti router run` and `ziti router enroll` are (ziti/run/run_router.go,
// ziti/enroll/enroll_edge_router.go), without the controller, the CLI's
// management commands or the release check that phones home. Leaving them
// out is what keeps the binary small.
//
//	ziti-router run CONFIG
//	ziti-router enroll CONFIG --jwt FILE [--keyAlg RSA|EC]
//	ziti-router version
//
// A leading `router` word is accepted too, so scripts written for the full
// CLI (`ziti router run ...`) work unchanged.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/michaelquigley/pfxlog"
	"github.com/openziti/sdk-golang/ziti"
	"github.com/openziti/transport/v2"
	"github.com/openziti/transport/v2/dtls"
	"github.com/openziti/transport/v2/tcp"
	"github.com/openziti/transport/v2/tls"
	"github.com/openziti/transport/v2/transwarp"
	"github.com/openziti/transport/v2/transwarptls"
	"github.com/openziti/transport/v2/udp"
	"github.com/openziti/transport/v2/ws"
	"github.com/openziti/transport/v2/wss"
	"github.com/openziti/ziti/common/build"
	"github.com/openziti/ziti/common/version"
	"github.com/openziti/ziti/router"
	"github.com/openziti/ziti/router/enroll"
	"github.com/openziti/ziti/router/env"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

func init() {
	// Same logging and transports as ziti's own main (ziti/main.go).
	options := pfxlog.DefaultOptions().SetTrimPrefix("github.com/openziti/").NoColor()
	pfxlog.GlobalInit(logrus.InfoLevel, options)

	transport.AddAddressParser(tls.AddressParser{})
	transport.AddAddressParser(dtls.AddressParser{})
	transport.AddAddressParser(tcp.AddressParser{})
	transport.AddAddressParser(transwarp.AddressParser{})
	transport.AddAddressParser(transwarptls.AddressParser{})
	transport.AddAddressParser(ws.AddressParser{})
	transport.AddAddressParser(wss.AddressParser{})
	transport.AddAddressParser(udp.AddressParser{})

	build.InitBuildInfo(version.GetCmdBuildInfo())
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "router" {
		args = args[1:]
	}
	root := rootCmd()
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	var verbose bool
	var logFormatter string
	root := &cobra.Command{
		Use:           "ziti-router",
		Short:         "OpenZiti edge router (run and enroll only)",
		SilenceUsage:  true,
		SilenceErrors: false,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			if verbose {
				logrus.SetLevel(logrus.DebugLevel)
			}
			switch logFormatter {
			case "pfxlog":
				pfxlog.SetFormatter(pfxlog.NewFormatter(pfxlog.DefaultOptions().SetTrimPrefix("github.com/openziti/").StartingToday()))
			case "json":
				pfxlog.SetFormatter(&logrus.JSONFormatter{TimestampFormat: "2006-01-02T15:04:05.000Z"})
			case "text":
				pfxlog.SetFormatter(&logrus.TextFormatter{})
			}
		},
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "Enable verbose logging")
	root.PersistentFlags().StringVar(&logFormatter, "log-formatter", "", "Specify log formatter [json|pfxlog|text]")
	root.AddCommand(runCmd(), enrollCmd(), versionCmd())
	return root
}

func runCmd() *cobra.Command {
	var cliAgent bool
	var agentAddr, agentAlias string
	var extend bool
	cmd := &cobra.Command{
		Use:   "run <config>",
		Short: "Start the router with the given configuration",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := logrus.WithField("version", version.GetVersion()).
				WithField("go-version", version.GetGoVersion()).
				WithField("configFile", args[0])
			cfg, err := env.LoadConfig(args[0])
			if err != nil {
				return fmt.Errorf("load router config %s: %w", args[0], err)
			}
			cfg.Edge.ForceExtendEnrollment = extend
			log.WithField("routerId", cfg.Id.Token).Info("starting ziti router")

			r := router.Create(cfg, version.GetCmdBuildInfo())
			if cliAgent {
				r.RunCliAgent(agentAddr, agentAlias)
			}
			go r.ListenForShutdownSignal()
			if err := r.Run(); err != nil {
				return fmt.Errorf("run router: %w", err)
			}
			return nil
		},
	}
	// The CLI agent is off by default here: the box has no `ziti agent`
	// user, and it would be one more socket to own.
	cmd.Flags().BoolVar(&cliAgent, "cliagent", false, "Enable the CLI agent")
	cmd.Flags().StringVar(&agentAddr, "cli-agent-addr", "", "Where the CLI agent listens (unix:/path or tcp:127.0.0.1:PORT)")
	cmd.Flags().StringVar(&agentAlias, "cli-agent-alias", "", "Alias for ziti agent commands")
	cmd.Flags().BoolVarP(&extend, "extend", "e", false, "Force extension of enrollment certificates on startup")
	return cmd
}

func enrollCmd() *cobra.Command {
	var jwtPath, engine string
	var keyAlg ziti.KeyAlgVar
	if err := keyAlg.Set("RSA"); err != nil {
		panic(err)
	}
	cmd := &cobra.Command{
		Use:   "enroll <config>",
		Short: "Enroll a router as an edge router",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if jwtPath == "" {
				return fmt.Errorf("--jwt FILE is required")
			}
			cfg, err := env.LoadConfigWithOptions(args[0], false)
			if err != nil {
				return fmt.Errorf("load router config %s: %w", args[0], err)
			}
			jwt, err := os.ReadFile(jwtPath)
			if err != nil {
				return fmt.Errorf("read enrollment token: %w", err)
			}
			// The enroller calls logrus Fatal on a token it cannot parse
			// or a controller it cannot fetch CAs from: that exits 1 too.
			if err := enroll.NewRestEnroller(cfg).Enroll([]byte(strings.TrimSpace(string(jwt))), true, engine, keyAlg); err != nil {
				return fmt.Errorf("enrollment failure: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&jwtPath, "jwt", "j", "", "The path to a JWT file")
	cmd.Flags().StringVarP(&engine, "engine", "e", "", "An engine")
	cmd.Flags().VarP(&keyAlg, "keyAlg", "a", "Crypto algorithm to use when generating private key")
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the ziti version this router was built from",
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Println(version.GetVersion())
		},
	}
}
