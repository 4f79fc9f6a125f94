// Package config is the box's one source of truth: a typed, versioned
// document (Config) for everything Tunneler does, how it is checked
// (Validate), filled in (WithDefaults), read from older firmware (migrate),
// imported at first boot (ImportJSON, ImportEnv) and stored on /perm (Store).
//
// Data flows one way: a form or an imported file becomes a Config; Validate
// returns field-level errors; the Store writes it atomically; the apply step
// turns it into desired state for the drivers.
//
// Two rules shape the types:
//
//   - Decode rejects only structure problems (unknown fields, wrong JSON
//     types, syntax). Values that merely do not parse (a bad CIDR, a bad
//     duration) are kept as the operator typed them and reported by
//     Validate, so an operator sees every problem at once, each with its
//     field, instead of fixing one error per save.
//   - Secrets (pre-shared keys, the admin password hash) are of type Secret.
//     Printing or JSON-encoding a Secret yields "(hidden)"; only
//     Secret.Reveal returns the value, and the Store keeps secrets in a
//     separate 0600 file.
package config
