// Package adminpw hashes and checks the admin password. Only the hash is
// ever stored (config.Admin.PasswordHash), in the PHC string format that
// config's validation and other tools recognise:
//
//	$argon2id$v=19$m=65536,t=2,p=1$<salt>$<key>   (base64, no padding)
//
// argon2id with 64 MiB and two passes is OWASP's recommended floor and
// takes a fraction of a second on the box; parameters are read back from
// each hash, so hashes made with other parameters still verify.
package adminpw

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters of new hashes.
const (
	memoryKiB = 64 * 1024
	passes    = 2
	threads   = 1
	saltLen   = 16
	keyLen    = 32
)

// Bounds on parameters read back from a stored hash, so a tampered hash
// cannot make Verify allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1024 * 1024
	maxPasses    = 16
	maxThreads   = 16
)

// MinLength is the shortest password Hash accepts.
const MinLength = 8

// ErrMismatch means the password does not match the hash.
var ErrMismatch = errors.New("wrong password")

var b64 = base64.RawStdEncoding

// Hash returns an argon2id hash of password with a fresh random salt.
func Hash(password string) (string, error) {
	if len([]rune(password)) < MinLength {
		return "", fmt.Errorf("password must have at least %d characters", MinLength)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, passes, memoryKiB, threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, passes, threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports nil when password matches hash, ErrMismatch when it does
// not, and another error when hash is not an argon2id hash it can check.
func Verify(hash, password string) error {
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return errors.New("not an argon2id password hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return fmt.Errorf("argon2id hash: unsupported version %q", parts[2])
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return fmt.Errorf("argon2id hash: bad parameters %q", parts[3])
	}
	if m == 0 || m > maxMemoryKiB || t == 0 || t > maxPasses || p == 0 || p > maxThreads {
		return fmt.Errorf("argon2id hash: parameters %q out of range", parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return errors.New("argon2id hash: bad salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return errors.New("argon2id hash: bad key")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}
