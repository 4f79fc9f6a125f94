// Package entropy carries randomness across reboots: a seed saved on /perm is
// mixed into the kernel's pool early at boot and replaced at once, so no two
// boots start from the same seed, and saved again at shutdown.
package entropy

import (
	"crypto/rand"
	"fmt"
	"os"

	"github.com/tunneler/tunneler/appliance/atomicfile"
)

const seedSize = 512

// Restore mixes the saved seed (if any) into the kernel's pool through
// urandom, then writes a fresh seed in its place. It reports whether a seed
// was found.
func Restore(seedPath, urandom string) (bool, error) {
	seed, err := os.ReadFile(seedPath)
	found := err == nil && len(seed) > 0
	if found {
		if err := os.WriteFile(urandom, seed, 0); err != nil {
			return found, fmt.Errorf("mix seed into %s: %w", urandom, err)
		}
	}
	return found, Save(seedPath)
}

// Save writes a new seed from the kernel's generator, atomically, mode 0600.
func Save(seedPath string) error {
	seed := make([]byte, seedSize)
	if _, err := rand.Read(seed); err != nil {
		return fmt.Errorf("read random seed: %w", err)
	}
	if err := atomicfile.Write(seedPath, seed, 0o600); err != nil {
		return fmt.Errorf("save random seed: %w", err)
	}
	return nil
}
