// Package ziti runs the box's OpenZiti edge router: it checks an enrollment
// token before use, enrolls the router into a temporary directory and moves
// the identity into place only on success, renders the router's config.yml
// from config.Router, prepares the kernel before each start (the inside
// address on lo, stale intercepts flushed) and reads the router's health
// checks to tell whether it is connected to its controller.
//
// The router itself is image/ziti's ziti-router binary, a separate module:
// this package shells out to it and imports no OpenZiti code, so the main
// module stays free of ziti's dependencies. Child processes are started
// through a Runner the caller passes, because PID 1's reaper owns waiting.
//
// Layout on /perm (IdentityPath defaults to /perm/ziti/router.yml):
//
//	/perm/ziti/router.yml                 rendered before each start (no secrets)
//	/perm/ziti/identity/key.pem           0600, made during enrollment
//	/perm/ziti/identity/cert.pem          0600, client certificate
//	/perm/ziti/identity/server_cert.pem   0600
//	/perm/ziti/identity/ca.pem            0600, the controller's CA bundle
//	/perm/ziti/identity/endpoints.yml     0600, controllers; the router updates it
//	/perm/ziti/identity/enrollment.json   0600, what the token said (controllers, router id)
//	/perm/ziti/identity/db.proto.gzip     the router's cached data model
package ziti
