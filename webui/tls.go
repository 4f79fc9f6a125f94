package webui

import "crypto/tls"

// modernSuites are the TLS 1.2 cipher suites the web UI accepts: ECDHE key
// exchange (forward secrecy) with an AEAD cipher, for ECDSA keys (the box's
// own certificate) and RSA keys (one an operator uploads). No CBC, no
// SHA-1 MAC, no RSA key exchange. TLS 1.3's suites are all AEAD, and Go
// does not let them be chosen.
var modernSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TLSConfig is the web UI's TLS configuration: TLS 1.2 or later, modern
// suites only; every browser of the last ten years speaks it. Each
// handshake serves the certificate cert returns at the time, so a new one
// takes effect without a restart.
func TLSConfig(cert func() *tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   modernSuites,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert(), nil },
	}
}
