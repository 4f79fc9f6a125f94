package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxDocumentBytes bounds what Decode reads: a head-end's document with
// the most tunnels and sites the limits allow (1,024 each, sites of four
// remotes) takes about 0.7 MB; the rest is room for long names, comments
// of indentation and extra networks, without letting a file dropped on
// the ESP take the small box's memory.
const MaxDocumentBytes = 4 << 20

// DecodeError says where in a document decoding failed, so the console and
// the web UI can point at the line an operator has to fix.
type DecodeError struct {
	Line, Column int    // 1-based; 0 when not known
	Field        string // JSON path like tunnels[0].psk; "" for the whole document
	Message      string
}

func (e *DecodeError) Error() string {
	var b bytes.Buffer
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Decode reads a document of any version this firmware knows, strictly:
// unknown fields, fields written twice, a value of the wrong JSON type and
// trailing data are errors (a *DecodeError naming field, line and column).
// Older versions are migrated to CurrentVersion. Decode does not apply
// defaults and does not validate values; see WithDefaults and Validate.
func Decode(data []byte) (Config, error) {
	if len(data) > MaxDocumentBytes {
		return Config{}, &DecodeError{Message: fmt.Sprintf("the document is %d bytes; at most %d are accepted", len(data), MaxDocumentBytes)}
	}
	if err := checkSyntax(data); err != nil {
		return Config{}, err
	}
	version, err := probeVersion(data)
	if err != nil {
		return Config{}, err
	}
	switch version {
	case 1:
		var v1 configV1
		if err := decodeStrict(data, &v1); err != nil {
			return Config{}, err
		}
		return migrateV1(v1), nil
	case 2:
		return decodeV2(data)
	case CurrentVersion:
		var c Config
		if err := decodeStrict(data, &c); err != nil {
			return Config{}, err
		}
		return c, nil
	}
	if version > CurrentVersion {
		return Config{}, &DecodeError{Field: "version", Message: fmt.Sprintf("is %d, written by newer firmware; this firmware reads versions 1 to %d", version, CurrentVersion)}
	}
	return Config{}, &DecodeError{Field: "version", Message: fmt.Sprintf("is %d; this firmware reads versions 1 to %d", version, CurrentVersion)}
}

// DecodeReader is Decode for a file or a request body.
func DecodeReader(r io.Reader) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("read config document: %w", err)
	}
	return Decode(data)
}

// checkSyntax reports the first JSON syntax error with its position, and
// rejects anything but one object.
func checkSyntax(data []byte) error {
	var raw json.RawMessage
	err := json.Unmarshal(data, &raw)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		line, col := position(data, se.Offset-1) // Offset counts the bad byte
		msg := se.Error()
		if se.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))) {
			msg = "the document ends early (a missing } or ], or an unfinished value)"
		}
		return &DecodeError{Line: line, Column: col, Message: "not valid JSON: " + trimJSONPrefix(msg)}
	case err != nil:
		return &DecodeError{Message: "not valid JSON: " + trimJSONPrefix(err.Error())}
	}
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return &DecodeError{Line: 1, Column: 1, Message: "the document must be a JSON object ({ ... })"}
	}
	return nil
}

func trimJSONPrefix(s string) string {
	return string(bytes.TrimPrefix([]byte(s), []byte("json: ")))
}

// probeVersion reads only the version field.
func probeVersion(data []byte) (int, error) {
	var probe struct {
		Version json.RawMessage `json:"version"`
	}
	// Not strict: the full decode below is.
	if err := json.Unmarshal(data, &probe); err != nil {
		return 0, &DecodeError{Message: "not valid JSON: " + trimJSONPrefix(err.Error())}
	}
	if probe.Version == nil || string(probe.Version) == "null" {
		return 0, &DecodeError{Field: "version", Message: fmt.Sprintf("is missing; add \"version\": %d for this firmware's format", CurrentVersion)}
	}
	var v int
	if err := json.Unmarshal(probe.Version, &v); err != nil {
		off := bytes.Index(data, probe.Version)
		line, col := position(data, int64(off))
		return 0, &DecodeError{Line: line, Column: col, Field: "version", Message: fmt.Sprintf("is %s; it must be a whole number like %d", probe.Version, CurrentVersion)}
	}
	return v, nil
}

// decodeStrict checks the document's shape against v's type (see
// checkShape) and then decodes it.
func decodeStrict(data []byte, v any) error {
	if err := checkShape(data, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// checkShape should have caught it; still say where.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			line, col := position(data, te.Offset)
			return &DecodeError{Line: line, Column: col, Field: te.Field, Message: trimJSONPrefix(err.Error())}
		}
		return &DecodeError{Message: trimJSONPrefix(err.Error())}
	}
	return nil
}

// position turns a byte offset into a 1-based line and column (in bytes).
func position(data []byte, offset int64) (line, col int) {
	if offset < 0 {
		offset = 0
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
