package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"clavis.dev/clavis"
)

// The views below are api.md's models key for key: `-o json` prints them as the server sends them
// (lists as arrays, never null), so that output is stable across releases.

type vaultView struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	CreatedBy     string    `json:"created_by"`
	CreatedByType string    `json:"created_by_type"`
	CreatedAt     time.Time `json:"created_at"`
}

func viewVault(v *clavis.Vault) vaultView {
	return vaultView{v.ID, v.Name, v.Description, v.CreatedBy, string(v.CreatedByType), v.CreatedAt}
}

type secretView struct {
	ID         string          `json:"id"`
	Path       string          `json:"path"`
	Type       string          `json:"type"`
	Value      *string         `json:"value,omitempty"`
	Version    int             `json:"version"`
	Metadata   json.RawMessage `json:"metadata"`
	CreatedBy  string          `json:"created_by,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	ExpiresAt  *time.Time      `json:"expires_at,omitempty"`
	IsDisabled *bool           `json:"is_disabled,omitempty"`
}

func viewMeta(m clavis.SecretMeta) secretView {
	md := m.Version.Metadata
	if len(md) == 0 {
		md = json.RawMessage("{}")
	}
	return secretView{ID: m.Secret.ID, Path: m.Secret.Path, Type: m.Version.Type, Version: m.Version.Version,
		Metadata: md, CreatedBy: m.Version.CreatedBy, CreatedAt: m.Version.CreatedAt, ExpiresAt: m.Version.ExpiresAt}
}

type agentView struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Description     string     `json:"description"`
	Scopes          []string   `json:"scopes"`
	IsActive        bool       `json:"is_active"`
	CreatedAt       time.Time  `json:"created_at"`
	TokenTTLSeconds int        `json:"token_ttl_seconds"`
	VaultIDs        []string   `json:"vault_ids"`
	ExpiresAt       *time.Time `json:"expires_at"`
	LastActiveAt    *time.Time `json:"last_active_at"`
}

func viewAgent(g *clavis.Agent) agentView {
	return agentView{g.ID, g.Name, g.Description, nonNil(g.Scopes), g.Active, g.CreatedAt, g.TokenTTL,
		nonNil(g.VaultIDs), g.ExpiresAt, g.LastActiveAt}
}

type policyView struct {
	ID                string          `json:"id"`
	VaultID           string          `json:"vault_id"`
	SecretPathPattern string          `json:"secret_path_pattern"`
	PrincipalType     string          `json:"principal_type"`
	PrincipalID       string          `json:"principal_id"`
	Permissions       []string        `json:"permissions"`
	Conditions        json.RawMessage `json:"conditions"`
	Effect            string          `json:"effect"`
	Priority          int             `json:"priority"`
	RequireApproval   bool            `json:"require_approval"`
	ExpiresAt         *time.Time      `json:"expires_at,omitempty"`
	CreatedBy         string          `json:"created_by"`
	CreatedByType     string          `json:"created_by_type"`
	CreatedAt         time.Time       `json:"created_at"`
}

func viewPolicy(p *clavis.Policy) policyView {
	perms := make([]string, len(p.Permissions))
	for i, x := range p.Permissions {
		perms[i] = string(x)
	}
	c := p.Conditions
	if len(c) == 0 {
		c = json.RawMessage("{}")
	}
	return policyView{p.ID, p.VaultID, p.Pattern, string(p.PrincipalType), p.PrincipalID, perms, c, string(p.Effect),
		p.Priority, p.RequireApproval, p.ExpiresAt, p.CreatedBy, string(p.CreatedByType), p.CreatedAt}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listOf converts a list with f, never returning nil.
func listOf[T, V any](xs []T, f func(T) V) []V {
	out := make([]V, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// format is the output format: -o, else --json, else the profile's, else table.
func (a *app) format(s *session) (string, error) {
	f := a.g.output
	if f == "" && a.g.json {
		f = "json"
	}
	if f == "" && s != nil {
		f = s.Output
	}
	if f == "" {
		f = "table"
	}
	switch f {
	case "table", "json", "yaml":
		return f, nil
	}
	return "", localErr("unknown output format %q (table, json or yaml)", f)
}

// table is what a command prints in table format.
type table struct {
	header []string
	rows   [][]string
}

// emit prints v as JSON or YAML, or t as a table.
func (a *app) emit(s *session, v any, t table) error {
	f, err := a.format(s)
	if err != nil {
		return err
	}
	return writeAs(a.io.Out, f, v, t)
}

func writeAs(w io.Writer, f string, v any, t table) error {
	switch f {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return jsonToYAML(w, b)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(t.header) > 0 {
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func tsp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return ts(*t)
}

// jsonToYAML writes JSON document b as block YAML, keeping the order of object keys.
func jsonToYAML(w io.Writer, b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var buf bytes.Buffer
	if err := yamlValue(&buf, dec, 0, false); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func yamlValue(buf *bytes.Buffer, dec *json.Decoder, indent int, inList bool) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	pad := strings.Repeat("  ", indent)
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			first := true
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				if !(first && inList) {
					buf.WriteString(pad)
				}
				first = false
				buf.WriteString(yamlScalar(k.(string)) + ":")
				if err := yamlChild(buf, dec, indent+1); err != nil {
					return err
				}
			}
			if first {
				buf.WriteString("{}\n")
			}
			_, err = dec.Token()
			return err
		case '[':
			n := 0
			for dec.More() {
				buf.WriteString(pad + "- ")
				if err := yamlValue(buf, dec, indent+1, true); err != nil {
					return err
				}
				n++
			}
			if n == 0 {
				buf.WriteString("[]\n")
			}
			_, err = dec.Token()
			return err
		}
	case string:
		buf.WriteString(yamlScalar(t) + "\n")
	case json.Number:
		buf.WriteString(t.String() + "\n")
	case bool:
		buf.WriteString(strconv.FormatBool(t) + "\n")
	case nil:
		buf.WriteString("null\n")
	}
	return nil
}

// yamlChild writes the value of a mapping key: scalars and empty collections on the same line, others
// on the following lines.
func yamlChild(buf *bytes.Buffer, dec *json.Decoder, indent int) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && len(t) > 2 {
		buf.WriteString("\n")
		sub := json.NewDecoder(bytes.NewReader(t))
		sub.UseNumber()
		if t[0] == '[' {
			indent--
		}
		return yamlValue(buf, sub, indent, false)
	}
	buf.WriteString(" ")
	sub := json.NewDecoder(bytes.NewReader(t))
	sub.UseNumber()
	return yamlValue(buf, sub, indent, false)
}

// yamlScalar quotes s when plain YAML would read it as something else.
func yamlScalar(s string) string {
	if s == "" || strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`\n\t\\") || strings.TrimSpace(s) != s ||
		strings.HasPrefix(s, "-") || strings.HasPrefix(s, "?") {
		b, _ := json.Marshal(s)
		return string(b)
	}
	switch strings.ToLower(s) {
	case "true", "false", "null", "yes", "no", "on", "off", "~":
		return strconv.Quote(s)
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.Quote(s)
	}
	return s
}
