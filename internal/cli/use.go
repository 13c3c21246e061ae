package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"clavis.dev/clavis"
)

// Use without read (spec use.md §5): `secret use` and `secret use-config`. The value never reaches the
// CLI: the server injects it and redacts the answer.

// useInjectView is the inject object of a destination config, as the API writes it.
type useInjectView struct {
	As       string  `json:"as"`
	Name     *string `json:"name,omitempty"`
	Prefix   *string `json:"prefix,omitempty"`
	Username *string `json:"username,omitempty"`
	Password *string `json:"password,omitempty"`
}

// useConfigView is a destination config as the API writes it (UseConfig).
type useConfigView struct {
	AllowedHosts        []string      `json:"allowed_hosts"`
	AllowedMethods      []string      `json:"allowed_methods,omitempty"`
	AllowedPathPrefixes []string      `json:"allowed_path_prefixes"`
	Inject              useInjectView `json:"inject"`
	AllowHTTP           bool          `json:"allow_http"`
	CreatedBy           string        `json:"created_by,omitempty"`
	CreatedByType       string        `json:"created_by_type,omitempty"`
	CreatedAt           *time.Time    `json:"created_at,omitempty"`
	UpdatedAt           *time.Time    `json:"updated_at,omitempty"`
}

func viewUseConfig(c *clavis.UseConfig) useConfigView {
	v := useConfigView{AllowedHosts: c.AllowedHosts, AllowedMethods: c.AllowedMethods, AllowedPathPrefixes: c.AllowedPathPrefixes,
		AllowHTTP: c.AllowHTTP, CreatedBy: c.CreatedBy, CreatedByType: string(c.CreatedByType), CreatedAt: &c.CreatedAt,
		UpdatedAt: &c.UpdatedAt, Inject: useInjectView{As: c.Inject.As, Username: c.Inject.Username, Password: c.Inject.Password}}
	switch c.Inject.As {
	case clavis.InjectHeader:
		v.Inject.Name, v.Inject.Prefix = &c.Inject.Name, &c.Inject.Prefix
	case clavis.InjectQuery:
		v.Inject.Name = &c.Inject.Name
	}
	return v
}

func useConfigTable(v useConfigView) table {
	return table{header: []string{"HOSTS", "METHODS", "PATH PREFIXES", "INJECT", "HTTP"}, rows: [][]string{{
		strings.Join(v.AllowedHosts, ","), strings.Join(v.AllowedMethods, ","), strings.Join(v.AllowedPathPrefixes, ","),
		v.Inject.As, fmt.Sprint(v.AllowHTTP)}}}
}

// useResultView is a UseResult as the API writes it.
type useResultView struct {
	Status       int                 `json:"status"`
	Headers      map[string][]string `json:"headers"`
	Body         string              `json:"body"`
	BodyEncoding string              `json:"body_encoding"`
	Truncated    bool                `json:"truncated"`
	Redactions   int                 `json:"redactions"`
}

func (a *app) secretUse() *cobra.Command {
	var rawURL, method, data string
	var headers []string
	var fail, include bool
	c := &cobra.Command{Use: "use PATH --url URL", Short: "call an API with the secret injected by the server; you never see the value",
		Long: `Ask the server to make an HTTP request with the secret at PATH injected into the slot its destination
config names, and print the answer's body with every form of the value redacted (use without read).
-i prints the status line and headers first; -o json prints the whole result. --fail exits 2 when the
upstream answers 400 or more. -d @FILE reads the body from a file, -d @- from stdin.`,
		Example: "  clavis secret use api/openai --url https://api.openai.com/v1/models\n" +
			"  clavis secret use api/openai -X POST --url https://api.openai.com/v1/chat/completions -H 'Content-Type: application/json' -d @req.json",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			req := clavis.UseRequest{Method: method, URL: rawURL, Headers: map[string]string{}}
			for _, h := range headers {
				k, val, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return localErr("-H %q: want 'Name: value'", h)
				}
				req.Headers[strings.TrimSpace(k)] = strings.TrimSpace(val)
			}
			if req.Body, err = a.useBody(data); err != nil {
				return err
			}
			res, err := s.C.UseSecret(c.Context(), v, args[0], req)
			if err != nil {
				return err
			}
			if err := a.printUse(s, res, include); err != nil {
				return err
			}
			if fail && res.Status >= 400 {
				return &exitError{code: ExitServer, err: fmt.Errorf("upstream answered %d", res.Status)}
			}
			return nil
		}}
	f := c.Flags()
	f.StringVar(&rawURL, "url", "", "the absolute URL to call (required)")
	f.StringVarP(&method, "request", "X", "GET", "HTTP method")
	f.StringArrayVarP(&headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.StringVarP(&data, "data", "d", "", "request body; @FILE reads a file, @- stdin")
	f.BoolVar(&fail, "fail", false, "exit 2 when the upstream status is 400 or more")
	f.BoolVarP(&include, "include", "i", false, "print the status line and headers before the body")
	_ = c.MarkFlagRequired("url")
	return c
}

// useBody reads the body of `secret use -d`.
func (a *app) useBody(data string) ([]byte, error) {
	switch {
	case data == "@-":
		b, err := io.ReadAll(a.io.In)
		if err != nil {
			return nil, localErr("reading the body from stdin: %v", err)
		}
		return b, nil
	case strings.HasPrefix(data, "@"):
		b, err := os.ReadFile(data[1:]) // #nosec G304 -- the file the user named with -d @FILE
		if err != nil {
			return nil, localErr("%v", err)
		}
		return b, nil
	}
	return []byte(data), nil
}

// printUse prints a use's answer: JSON or YAML as the API's UseResult, else the body (with -i the status
// line and headers first; a binary body as "[base64] …"; "[truncated]" on stderr when cut).
func (a *app) printUse(s *session, res *clavis.UseResult, include bool) error {
	f, err := a.format(s)
	if err != nil {
		return err
	}
	view := useResultView{Status: res.Status, Headers: res.Headers, Body: string(res.Body), BodyEncoding: "utf8",
		Truncated: res.Truncated, Redactions: res.Redactions}
	if !utf8.Valid(res.Body) {
		view.Body, view.BodyEncoding = base64.StdEncoding.EncodeToString(res.Body), "base64"
	}
	if f != "table" {
		return writeAs(a.io.Out, f, view, table{})
	}
	var b bytes.Buffer
	if include {
		fmt.Fprintf(&b, "HTTP %d\n", res.Status)
		names := make([]string, 0, len(res.Headers))
		for n := range res.Headers {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, v := range res.Headers[n] {
				fmt.Fprintf(&b, "%s: %s\n", n, v)
			}
		}
		b.WriteString("\n")
	}
	if view.BodyEncoding == "base64" {
		b.WriteString("[base64] " + view.Body + "\n")
	} else {
		b.WriteString(view.Body)
	}
	if _, err := a.io.Out.Write(b.Bytes()); err != nil {
		return err
	}
	if res.Truncated {
		a.msg("[truncated]")
	}
	return nil
}

func (a *app) secretUseConfig() *cobra.Command {
	c := &cobra.Command{Use: "use-config", Short: "manage a secret's destination config (where use may send it)",
		Example: "  clavis secret use-config get api/openai\n  clavis secret use-config set api/openai --from-file dest.json"}
	get := &cobra.Command{Use: "get PATH", Short: "print the destination config", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			cfg, err := s.C.GetUseConfig(c.Context(), v, args[0])
			if err != nil {
				return err
			}
			view := viewUseConfig(cfg)
			return a.emit(s, view, useConfigTable(view))
		}}
	var fromFile string
	set := &cobra.Command{Use: "set PATH", Short: "set the destination config from JSON (a file, or stdin)",
		Long: `Set the destination config of PATH from a JSON object of the API's UseConfig fields (allowed_hosts,
allowed_methods, allowed_path_prefixes, inject, allow_http), read from --from-file or stdin.`,
		Example: `  echo '{"allowed_hosts":["api.openai.com"],"allowed_path_prefixes":["/v1"],"inject":{"as":"bearer"}}' | clavis secret use-config set api/openai`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			var raw []byte
			if fromFile != "" {
				raw, err = os.ReadFile(fromFile) // #nosec G304 -- the file the user named with --from-file
			} else {
				raw, err = io.ReadAll(a.io.In)
			}
			if err != nil {
				return localErr("reading the config: %v", err)
			}
			var in useConfigView
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				return localErr("the config is not a UseConfig JSON object: %v", err)
			}
			inj := clavis.UseInject{As: in.Inject.As, Username: in.Inject.Username, Password: in.Inject.Password}
			if in.Inject.Name != nil {
				inj.Name = *in.Inject.Name
			}
			if in.Inject.Prefix != nil {
				inj.Prefix = *in.Inject.Prefix
			}
			cfg, err := s.C.PutUseConfig(c.Context(), v, args[0], clavis.UseConfigInput{AllowedHosts: in.AllowedHosts,
				AllowedMethods: in.AllowedMethods, AllowedPathPrefixes: in.AllowedPathPrefixes, Inject: inj, AllowHTTP: in.AllowHTTP})
			if err != nil {
				return err
			}
			view := viewUseConfig(cfg)
			return a.emit(s, view, useConfigTable(view))
		}}
	set.Flags().StringVar(&fromFile, "from-file", "", "read the JSON config from this file")
	del := &cobra.Command{Use: "delete PATH", Short: "delete the destination config (the secret can no longer be used)", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, v, err := a.withVault()
			if err != nil {
				return err
			}
			if err := s.C.DeleteUseConfig(c.Context(), v, args[0]); err != nil {
				return err
			}
			a.msg("deleted the destination config of %s", args[0])
			return nil
		}}
	c.AddCommand(get, set, del)
	return c
}
