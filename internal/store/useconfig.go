package store

import (
	"encoding/json"

	"clavis.dev/clavis"
)

// useConfigDoc is the stored form of a destination config's rules (one JSON column in both stores).
type useConfigDoc struct {
	AllowedHosts        []string `json:"allowed_hosts"`
	AllowedMethods      []string `json:"allowed_methods"`
	AllowedPathPrefixes []string `json:"allowed_path_prefixes"`
	As                  string   `json:"as"`
	Name                string   `json:"name,omitempty"`
	Prefix              string   `json:"prefix,omitempty"`
	Username            *string  `json:"username,omitempty"`
	Password            *string  `json:"password,omitempty"`
	AllowHTTP           bool     `json:"allow_http"`
}

// EncodeUseConfig returns the stored form of c's rules (everything but the keys and the timestamps).
func EncodeUseConfig(c *clavis.UseConfig) (string, error) {
	// #nosec G117 -- Password is the fixed half of a Basic slot that the config shows (use.md §2), not the secret
	b, err := json.Marshal(useConfigDoc{AllowedHosts: c.AllowedHosts, AllowedMethods: c.AllowedMethods,
		AllowedPathPrefixes: c.AllowedPathPrefixes, As: c.Inject.As, Name: c.Inject.Name, Prefix: c.Inject.Prefix,
		Username: c.Inject.Username, Password: c.Inject.Password, AllowHTTP: c.AllowHTTP})
	return string(b), err
}

// DecodeUseConfig sets c's rules from their stored form.
func DecodeUseConfig(s string, c *clavis.UseConfig) error {
	var d useConfigDoc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return err
	}
	c.AllowedHosts, c.AllowedMethods, c.AllowedPathPrefixes, c.AllowHTTP = d.AllowedHosts, d.AllowedMethods, d.AllowedPathPrefixes, d.AllowHTTP
	c.Inject = clavis.UseInject{As: d.As, Name: d.Name, Prefix: d.Prefix, Username: d.Username, Password: d.Password}
	return nil
}
