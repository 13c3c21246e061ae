package web

import (
	"strings"
	"time"

	"clavis.dev/clavis"
)

// The use-without-read destination config of a secret path (docs/use.md §2 and §5), shown and edited
// on the secret's detail page. The engine validates it (hosts, prefixes, the slot, the value's length).

// useForm is the config as the form shows it.
type useForm struct {
	Set      bool // a config exists
	Hosts    string
	Methods  map[string]bool
	Prefixes string
	As       string
	Name     string
	Prefix   string
	// BasicSlot is where the value goes in a basic slot ("password" or "username"); BasicOther is the
	// configured other half.
	BasicSlot  string
	BasicOther string
	AllowHTTP  bool
	UpdatedAt  time.Time
}

// useMethods are the methods the form offers.
var useMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}

func useFormOf(c *clavis.UseConfig) *useForm {
	f := &useForm{Methods: map[string]bool{"GET": true, "POST": true}, As: clavis.InjectBearer}
	if c == nil {
		return f
	}
	f.Set, f.Hosts, f.Prefixes, f.AllowHTTP = true, strings.Join(c.AllowedHosts, ", "), strings.Join(c.AllowedPathPrefixes, ", "), c.AllowHTTP
	f.Methods = map[string]bool{}
	for _, m := range c.AllowedMethods {
		f.Methods[m] = true
	}
	f.As, f.Name, f.Prefix = c.Inject.As, c.Inject.Name, c.Inject.Prefix
	f.BasicSlot, f.UpdatedAt = "password", c.UpdatedAt
	if c.Inject.Username != nil {
		f.BasicOther = *c.Inject.Username
	}
	if c.Inject.Password != nil {
		f.BasicSlot, f.BasicOther = "username", *c.Inject.Password
	}
	return f
}

// putUseConfig saves the destination config from the form.
func putUseConfig(h *Handler, q *req) error {
	vault, path := q.r.PathValue("vault"), q.r.PostFormValue("path")
	f := q.r.PostForm
	in := clavis.UseConfigInput{AllowedHosts: fields(f.Get("allowed_hosts")), AllowedMethods: f["allowed_methods"],
		AllowedPathPrefixes: fields(f.Get("allowed_path_prefixes")), AllowHTTP: f.Get("allow_http") == "on",
		Inject: clavis.UseInject{As: f.Get("inject_as")}}
	switch in.Inject.As {
	case clavis.InjectHeader:
		in.Inject.Name, in.Inject.Prefix = strings.TrimSpace(f.Get("inject_name")), f.Get("inject_prefix")
	case clavis.InjectQuery:
		in.Inject.Name = strings.TrimSpace(f.Get("inject_name"))
	case clavis.InjectBasic:
		if f.Get("basic_slot") == "username" { // the value is the username; the form gives the password
			p := f.Get("basic_other")
			in.Inject.Password = &p
		} else {
			u := f.Get("basic_other")
			in.Inject.Username = &u
		}
	}
	if _, err := q.svc.PutUseConfig(q.r.Context(), vault, path, in); err != nil {
		return again(secretView, err)
	}
	return redirect(q, secretURL(vault, path), "use-saved")
}

func deleteUseConfig(h *Handler, q *req) error {
	vault, path := q.r.PathValue("vault"), q.r.PostFormValue("path")
	if err := q.svc.DeleteUseConfig(q.r.Context(), vault, path); err != nil {
		return again(secretView, err)
	}
	return redirect(q, secretURL(vault, path), "use-deleted")
}
