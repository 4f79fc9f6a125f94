package configdrive

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/tunneler/tunneler/appliance/provision"
	"gopkg.in/yaml.v3"
)

// Where cloud-init's data sources keep the user-data: at the root of a
// NoCloud volume, under openstack/latest on a config-2 drive.
var userDataPaths = []string{"user-data", "openstack/latest/user_data"}

// TunnelerKey is the top-level key of a #cloud-config user-data that
// holds the tunneler.json document, as YAML or as a JSON string.
const TunnelerKey = "tunneler"

// maxUserData bounds what is read of a user-data file.
const maxUserData = 1 << 20

// cloudConfig is the part of a #cloud-config document read here.
type cloudConfig struct {
	Tunneler   yaml.Node   `yaml:"tunneler"`
	WriteFiles []writeFile `yaml:"write_files"`
}

// writeFile is one write_files entry (cloud-init's cc_write_files).
type writeFile struct {
	Path     string `yaml:"path"`
	Content  string `yaml:"content"`
	Encoding string `yaml:"encoding"`
}

// carried is a provisioning file found inside a user-data.
type carried struct {
	kind  string // provision.JSONName or provision.EnvName: how to parse body
	body  []byte
	where string // what in the user-data held it, for the report
}

// fromUserData finds the provisioning file a #cloud-config user-data
// carries: the top-level key `tunneler:`, or else a write_files entry
// whose path ends in /tunneler.json or /tunneler.env (e.g.
// /etc/tunneler/tunneler.json). ok is false when it carries none: a
// hypervisor's user-data written for other guests, or not #cloud-config
// at all (a script). err is a #cloud-config the box cannot read.
func fromUserData(data []byte) (f carried, warns []string, ok bool, err error) {
	if !bytes.HasPrefix(data, []byte("#cloud-config")) {
		return carried{}, nil, false, nil
	}
	var cc cloudConfig
	if err := yaml.Unmarshal(data, &cc); err != nil {
		return carried{}, nil, false, fmt.Errorf("read #cloud-config: %w", err)
	}
	var found []carried
	if !cc.Tunneler.IsZero() {
		body, err := keyDocument(&cc.Tunneler)
		if err != nil {
			return carried{}, nil, false, fmt.Errorf("key %s: %w", TunnelerKey, err)
		}
		found = append(found, carried{kind: provision.JSONName, body: body, where: "key " + TunnelerKey})
	}
	for i, w := range cc.WriteFiles {
		base := path.Base(w.Path)
		if !strings.EqualFold(base, provision.JSONName) && !strings.EqualFold(base, provision.EnvName) {
			continue
		}
		where := fmt.Sprintf("write_files[%d] %s", i, w.Path)
		body, err := decodeContent(w.Content, w.Encoding)
		if err != nil {
			return carried{}, nil, false, fmt.Errorf("%s: %w", where, err)
		}
		found = append(found, carried{kind: base, body: body, where: where})
	}
	if len(found) == 0 {
		return carried{}, nil, false, nil
	}
	for _, other := range found[1:] {
		warns = append(warns, fmt.Sprintf("%s was not read: %s comes first; remove one", other.where, found[0].where))
	}
	return found[0], warns, true, nil
}

// keyDocument turns the tunneler key's value into the tunneler.json
// document: a mapping is the document written as YAML, a string is the
// JSON text itself (a block scalar, `tunneler: |`).
func keyDocument(n *yaml.Node) ([]byte, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return []byte(n.Value), nil
	case yaml.MappingNode:
		var doc map[string]any
		if err := n.Decode(&doc); err != nil {
			return nil, err
		}
		return json.Marshal(doc)
	}
	return nil, fmt.Errorf("line %d: want the tunneler.json document (a mapping) or its JSON text (a string)", n.Line)
}

// decodeContent undoes a write_files encoding, as cloud-init names them.
func decodeContent(content, encoding string) ([]byte, error) {
	enc := strings.ToLower(strings.TrimSpace(encoding))
	data := []byte(content)
	var err error
	switch enc {
	case "", "text/plain":
		return data, nil
	case "b64", "base64", "gz+b64", "gz+base64", "gzip+b64", "gzip+base64":
		if data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(content), "")); err != nil {
			return nil, fmt.Errorf("encoding %s: %w", encoding, err)
		}
	case "gz", "gzip":
	default:
		return nil, fmt.Errorf("encoding %q: want b64, gz+b64 or none", encoding)
	}
	if !strings.HasPrefix(enc, "gz") {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", encoding, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxUserData))
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", encoding, err)
	}
	return out, nil
}
