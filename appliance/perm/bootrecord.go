package perm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tunneler/tunneler/appliance/atomicfile"
	"time"
)

// BootRecord counts boots and remembers whether the last one ended in a
// clean shutdown, so the console can say that the box lost power, crashed
// or was reset by its watchdog.
type BootRecord struct {
	Boots     int       `json:"boots"`
	Clean     bool      `json:"clean_shutdown"`
	LastBoot  time.Time `json:"last_boot"`
	LastClean bool      `json:"-"` // how the previous boot ended, as read at this boot
}

const bootRecordFile = "state/boot.json"

// RecordBoot reads the record under dir (/perm), counts this boot and
// writes it back marked not clean until RecordCleanShutdown.
func RecordBoot(dir string) (BootRecord, error) {
	var r BootRecord
	path := filepath.Join(dir, bootRecordFile)
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &r); err != nil {
			r = BootRecord{} // a torn record costs only the count
		}
	}
	r.LastClean = r.Boots == 0 || r.Clean
	r.Boots++
	r.Clean = false
	r.LastBoot = time.Now().UTC()
	return r, writeRecord(path, r)
}

// RecordCleanShutdown marks the current boot as ended cleanly.
func RecordCleanShutdown(dir string) error {
	path := filepath.Join(dir, bootRecordFile)
	var r BootRecord
	if data, err := os.ReadFile(path); err == nil {
		json.Unmarshal(data, &r)
	}
	r.Clean = true
	return writeRecord(path, r)
}

func writeRecord(path string, r BootRecord) error {
	data, _ := json.Marshal(r)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("boot record: %w", err)
	}
	return nil
}
