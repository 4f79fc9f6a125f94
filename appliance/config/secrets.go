package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// String prints the document as compact JSON with every secret shown as
// "(hidden)", so a Config can go into a log line or an error as it is.
func (c Config) String() string {
	b, err := json.Marshal(c)
	if err != nil {
		return "config.Config(unprintable: " + err.Error() + ")"
	}
	return string(b)
}

// KeepSecrets replaces "(hidden)" placeholders in c with the secrets of
// stored, matching tunnels by name. A page or API client that got the
// document with secrets hidden can send it back and change other fields
// without knowing (or resetting) the keys. Placeholders with nothing to
// keep stay, and Validate reports them.
func (c Config) KeepSecrets(stored Config) Config {
	c = c.clone()
	if c.Admin.PasswordHash.IsHidden() {
		c.Admin.PasswordHash = stored.Admin.PasswordHash
	}
	if c.Certificates.Key.IsHidden() {
		c.Certificates.Key = stored.Certificates.Key
	}
	for i := range c.Tunnels {
		t := &c.Tunnels[i]
		if !t.PSK.IsHidden() {
			continue
		}
		for _, old := range stored.Tunnels {
			if old.Name == t.Name {
				t.PSK = old.PSK
			}
		}
	}
	for i := range c.Profiles {
		pr := &c.Profiles[i]
		if !pr.PSK.IsHidden() {
			continue
		}
		if old, ok := stored.Profile(pr.Name); ok {
			pr.PSK = old.PSK
		}
	}
	return c
}

// EncodeWithSecrets returns c as a stored generation is made of: the
// document, secrets as "(hidden)", and the secrets file that fills them
// in and carries the document's SHA-256. These are the only bytes with
// secrets in clear that leave this package: the Store writes them to
// 0600 files, a backup encrypts them. Version is set to CurrentVersion.
func EncodeWithSecrets(c Config) (doc, secrets []byte, err error) {
	c.Version = CurrentVersion
	d, sec := splitSecrets(c)
	doc, err = json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("encode config: %w", err)
	}
	doc = append(doc, '\n')
	sum := sha256.Sum256(doc)
	sec.Config = hex.EncodeToString(sum[:])
	secrets, err = json.MarshalIndent(sec, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("encode config secrets: %w", err)
	}
	return doc, secrets, nil
}

// DecodeWithSecrets is the reverse of EncodeWithSecrets: it decodes doc
// (strictly, migrating older versions; a *DecodeError on failure) and
// fills its placeholders from secrets, which must belong to this doc. It
// does not validate. Errors never quote the secrets.
func DecodeWithSecrets(doc, secrets []byte) (Config, error) {
	return decodeWithSecrets(doc, secrets, "config", "secrets")
}

func decodeWithSecrets(docJSON, secJSON []byte, docLabel, secLabel string) (Config, error) {
	c, err := Decode(docJSON)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", docLabel, err)
	}
	var sec secretsFile
	if err := json.Unmarshal(secJSON, &sec); err != nil {
		// Do not wrap: a syntax error could quote part of a key.
		return Config{}, fmt.Errorf("%s is not valid JSON", secLabel)
	}
	sum := sha256.Sum256(docJSON)
	if sec.Config != hex.EncodeToString(sum[:]) {
		return Config{}, fmt.Errorf("%s belongs to another save of %s", secLabel, docLabel)
	}
	return joinSecrets(c, sec), nil
}

// secretsFile is the shape of the 0600 file beside each stored document
// (and of the secrets in a backup). Its fields are plain strings on
// purpose: EncodeWithSecrets is the one place secrets are written out,
// and nothing else uses this type.
type secretsFile struct {
	// Config is the SHA-256 of the main document this file belongs to, so
	// a main document is never paired with another save's secrets.
	Config            string            `json:"config_sha256"`
	AdminPasswordHash string            `json:"admin_password_hash,omitempty"`
	TunnelPSKs        map[string]string `json:"tunnel_psks,omitempty"`
	ProfilePSKs       map[string]string `json:"profile_psks,omitempty"`
	// CertKey is the box's private key (Certificates.Key), PEM.
	CertKey string `json:"cert_key,omitempty"`
}

// splitSecrets returns c with its secrets replaced by placeholders, and
// the secrets themselves.
func splitSecrets(c Config) (Config, secretsFile) {
	c = c.clone()
	var s secretsFile
	s.AdminPasswordHash = hide(&c.Admin.PasswordHash)
	s.CertKey = hide(&c.Certificates.Key)
	s.TunnelPSKs = hidePSKs(c.Tunnels, tunnelPSK)
	s.ProfilePSKs = hidePSKs(c.Profiles, profilePSK)
	return c, s
}

// hide replaces x by the placeholder and returns its value ("" for none).
func hide(x *Secret) string {
	v := x.Reveal()
	if !x.IsZero() {
		*x = Secret{hidden: true}
	}
	return v
}

// tunnelPSK and profilePSK name an item's key, for hidePSKs and revealPSKs.
func tunnelPSK(t *Tunnel) (string, *Secret)   { return t.Name, &t.PSK }
func profilePSK(p *Profile) (string, *Secret) { return p.Name, &p.PSK }

// hidePSKs hides the keys of items and returns them by the items' names;
// nil if none has a key.
func hidePSKs[T any](items []T, psk func(*T) (string, *Secret)) map[string]string {
	var out map[string]string
	for i := range items {
		name, x := psk(&items[i])
		if x.IsZero() {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = hide(x)
	}
	return out
}

// revealPSKs puts the keys of byName back into the items whose key is
// the placeholder.
func revealPSKs[T any](items []T, psk func(*T) (string, *Secret), byName map[string]string) {
	for i := range items {
		name, x := psk(&items[i])
		if v, ok := byName[name]; ok && x.IsHidden() {
			*x = NewSecret(v)
		}
	}
}

// joinSecrets fills the placeholders of a stored document from its
// secrets file.
func joinSecrets(c Config, s secretsFile) Config {
	if c.Admin.PasswordHash.IsHidden() && s.AdminPasswordHash != "" {
		c.Admin.PasswordHash = NewSecret(s.AdminPasswordHash)
	}
	if c.Certificates.Key.IsHidden() && s.CertKey != "" {
		c.Certificates.Key = NewSecret(s.CertKey)
	}
	revealPSKs(c.Tunnels, tunnelPSK, s.TunnelPSKs)
	revealPSKs(c.Profiles, profilePSK, s.ProfilePSKs)
	return c
}

// SecretValues lists the clear values of c's secrets (the admin password
// hash, tunnels' and profiles' PSKs, the box's private key): what no log line may carry. Hidden
// placeholders and empty secrets are left out.
func (c Config) SecretValues() []string {
	var out []string
	add := func(s Secret) {
		if !s.IsZero() && !s.IsHidden() {
			out = append(out, s.Reveal())
		}
	}
	add(c.Admin.PasswordHash)
	add(c.Certificates.Key)
	for _, t := range c.Tunnels {
		add(t.PSK)
	}
	for _, p := range c.Profiles {
		add(p.PSK)
	}
	return out
}
