package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"

	"posagent/internal/config"
)

// saveMerged writes c to path changing only the keys whose values differ
// from orig's (the configuration as loaded or last saved): relative paths,
// keys the screen does not show and the file's own mode stay as they were.
// The new file must load (config.Load) before it replaces the old one, so
// nothing is half-saved. It returns the changed top-level keys, sorted;
// none changed writes nothing.
func saveMerged(path string, orig, c *config.Config) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("not saved: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("not saved: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &raw); err != nil {
		return nil, fmt.Errorf("not saved: %s is not a JSON object: %w", path, err)
	}
	o, err := flatten(orig)
	if err != nil {
		return nil, err
	}
	n, err := flatten(c)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(o, n))) {
		if bytes.Equal(o[k], n[k]) {
			continue
		}
		changed = append(changed, k)
		if v, ok := n[k]; ok {
			raw[k] = v
		} else {
			delete(raw, k)
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	out, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("not saved: %w", err)
	}
	return changed, replace(path, append(out, '\n'), info.Mode().Perm())
}

// replace checks that data loads as path would, then writes it over path
// with mode, atomically and durably.
func replace(path string, data []byte, mode os.FileMode) error {
	if _, err := config.Decode(path, data); err != nil {
		return fmt.Errorf("not saved: %w", err)
	}
	if err := config.WriteFileAtomic(path, data, mode); err != nil {
		return fmt.Errorf("not saved: %w", err)
	}
	return nil
}

// flatten is c's top-level keys with their JSON values.
func flatten(c *config.Config) (map[string]json.RawMessage, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("not saved: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not saved: %w", err)
	}
	return m, nil
}

func mergeKeys(a, b map[string]json.RawMessage) map[string]bool {
	all := make(map[string]bool, len(a)+len(b))
	for k := range a {
		all[k] = true
	}
	for k := range b {
		all[k] = true
	}
	return all
}
