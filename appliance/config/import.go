package config

import (
	"fmt"
	"io"
)

// ImportJSON reads a tunneler.json placed on the ESP for unattended
// provisioning: the same schema as the stored document, decoded strictly
// and validated. On error the returned error is a *DecodeError (the file
// does not parse) or a FieldErrors (it parses, but values are wrong). The
// Config is returned as written; WithDefaults fills the rest.
func ImportJSON(r io.Reader) (Config, error) {
	c, err := DecodeReader(r)
	if err != nil {
		return Config{}, fmt.Errorf("import tunneler.json: %w", err)
	}
	for i := range c.Tunnels {
		// An imported file has no stored value to keep; say so plainly
		// rather than with the API's placeholder wording.
		if c.Tunnels[i].PSK.IsHidden() {
			c.Tunnels[i].PSK = Secret{}
		}
	}
	for i := range c.Profiles {
		if c.Profiles[i].PSK.IsHidden() {
			c.Profiles[i].PSK = Secret{}
		}
	}
	if errs := c.Validate(); len(errs) > 0 {
		return c, fmt.Errorf("import tunneler.json: %w", errs)
	}
	return c, nil
}
