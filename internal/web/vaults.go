package web

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"clavis.dev/clavis"
)

// Vaults, the secrets browser and the secret detail (docs/dashboard.md §2.2–2.4). Values appear only
// in the response of a Reveal, an explicit POST that the engine audits and counts as a read.

type vaultsPage struct {
	Vaults []*clavis.Vault
}

func vaultsView(h *Handler, q *req) (string, any, error) {
	vs, err := q.svc.ListVaults(q.r.Context())
	if err != nil {
		return "", nil, err
	}
	return "vaults", vaultsPage{Vaults: vs}, nil
}

func createVault(h *Handler, q *req) error {
	v, err := q.svc.CreateVault(q.r.Context(), clavis.VaultInput{Name: strings.TrimSpace(q.r.PostFormValue("name")),
		Description: strings.TrimSpace(q.r.PostFormValue("description"))})
	if err != nil {
		return again(vaultsView, err)
	}
	return redirect(q, "/ui/vaults/"+url.PathEscape(v.ID), "vault-created")
}

// deleteVault deletes a vault once its name is typed in confirmation.
func deleteVault(h *Handler, q *req) error {
	ctx := q.r.Context()
	v, err := q.svc.GetVault(ctx, q.r.PathValue("vault"))
	if err != nil {
		return err
	}
	if q.r.PostFormValue("confirm") != v.Name {
		return again(vaultView, clavis.Invalid("confirm", "Type the vault's name exactly to delete it"))
	}
	if err := q.svc.DeleteVault(ctx, v.ID); err != nil {
		return again(vaultView, err)
	}
	return redirect(q, "/ui/vaults", "vault-deleted")
}

type secretRow struct {
	Path      string
	Type      string
	Version   int
	ExpiresAt *time.Time
	ReadsLeft string
	Disabled  bool
}

type vaultPage struct {
	Vault   *clavis.Vault
	Prefix  string
	Parent  string   // the prefix one folder up ("" at the top)
	Folders []string // the folders right under Prefix, as prefixes
	Secrets []secretRow
	Types   []string
}

func row(m clavis.SecretMeta) secretRow {
	r := secretRow{Path: m.Secret.Path, Type: m.Version.Type, Version: m.Version.Version, ExpiresAt: m.Version.ExpiresAt,
		ReadsLeft: "unlimited", Disabled: m.Version.Disabled}
	if n := m.Version.MaxAccessCount; n > 0 {
		r.ReadsLeft = strconv.Itoa(max(n-m.Version.AccessCount, 0)) + " of " + strconv.Itoa(n)
	}
	return r
}

func vaultView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	v, err := q.svc.GetVault(ctx, q.r.PathValue("vault"))
	if err != nil {
		return "", nil, err
	}
	prefix := q.r.URL.Query().Get("prefix")
	ms, err := q.svc.ListSecrets(ctx, v.ID, prefix)
	if err != nil {
		return "", nil, err
	}
	p := vaultPage{Vault: v, Prefix: prefix, Types: clavis.SecretTypes()}
	if i := strings.LastIndex(strings.TrimSuffix(prefix, "/"), "/"); i >= 0 {
		p.Parent = prefix[:i+1]
	}
	seen := map[string]bool{}
	for _, m := range ms {
		p.Secrets = append(p.Secrets, row(m))
		if rest, ok := strings.CutPrefix(m.Secret.Path, prefix); ok {
			if dir, _, ok := strings.Cut(rest, "/"); ok && !seen[dir] {
				seen[dir] = true
				p.Folders = append(p.Folders, prefix+dir+"/")
			}
		}
	}
	sort.Strings(p.Folders)
	return "vault", p, nil
}

type secretPage struct {
	Vault    *clavis.Vault
	Path     string
	Latest   secretRow
	Created  time.Time
	Versions []secretRow
	Types    []string
	// Use is the destination config (nil when the user may not see it); UseMethods the methods offered.
	Use        *useForm
	UseMethods []string
	UseSlots   []string
	// Recipients are the org's members and agents a share may name; ShareExpiry the form's default.
	Recipients  []principalOption
	ShareExpiry string
}

func secretView(h *Handler, q *req) (string, any, error) {
	ctx := q.r.Context()
	v, err := q.svc.GetVault(ctx, q.r.PathValue("vault"))
	if err != nil {
		return "", nil, err
	}
	path := q.r.FormValue("path")
	ms, err := q.svc.ListVersions(ctx, v.ID, path)
	if err != nil {
		return "", nil, err
	}
	p := secretPage{Vault: v, Path: path, Types: clavis.SecretTypes()}
	for _, m := range ms {
		p.Versions = append(p.Versions, row(m))
	}
	if len(ms) > 0 {
		p.Latest, p.Created = row(ms[0]), ms[len(ms)-1].Version.CreatedAt
	}
	switch c, err := q.svc.GetUseConfig(ctx, v.ID, path); {
	case err == nil:
		p.Use = useFormOf(c)
	case clavis.IsKind(err, clavis.KindNotFound):
		p.Use = useFormOf(nil)
	case !clavis.IsKind(err, clavis.KindForbidden):
		return "", nil, err
	}
	p.UseMethods, p.UseSlots = useMethods, []string{clavis.InjectBearer, clavis.InjectBasic, clavis.InjectHeader, clavis.InjectQuery}
	p.Recipients = recipients(q)
	p.ShareExpiry = time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02T15:04")
	return "secret", p, nil
}

// secretURL is the detail page of path in vault.
func secretURL(vault, path string) string {
	return "/ui/vaults/" + url.PathEscape(vault) + "/secret?path=" + url.QueryEscape(path)
}

// formTime reads an optional datetime-local field as UTC.
func formTime(q *req, name string) (*time.Time, error) {
	s := strings.TrimSpace(q.r.PostFormValue(name))
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		return nil, clavis.Invalid(name, "Give the time as YYYY-MM-DDTHH:MM (UTC)")
	}
	return &t, nil
}

// formInt reads an optional integer field.
func formInt(q *req, name string) (*int, error) {
	s := strings.TrimSpace(q.r.PostFormValue(name))
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, clavis.Invalid(name, name+" must be a whole number")
	}
	return &n, nil
}

// putSecret writes a new version from the vault page's add form or the detail page's version form.
func putSecret(h *Handler, q *req) error {
	back := vaultView
	if q.r.PostFormValue("from") == "secret" {
		back = secretView
	}
	vault, path := q.r.PathValue("vault"), strings.TrimSpace(q.r.PostFormValue("path"))
	exp, err := formTime(q, "expires_at")
	if err != nil {
		return again(back, err)
	}
	maxReads, err := formInt(q, "max_access_count")
	if err != nil {
		return again(back, err)
	}
	in := clavis.SecretInput{Value: clavis.Sensitive(q.r.PostFormValue("value")), Type: q.r.PostFormValue("type"),
		ExpiresAt: exp, MaxAccessCount: maxReads}
	if _, err := q.svc.PutSecret(q.r.Context(), vault, path, in); err != nil {
		return again(back, err)
	}
	return redirect(q, secretURL(vault, path), "secret-saved")
}

type revealPage struct {
	Vault   string
	Path    string
	Version int
	Type    string
	Value   string
	Reads   string
}

// reveal reads the value (the latest version, or the one named) and shows it: an audited read that
// counts toward the version's max_access_count.
func reveal(h *Handler, q *req) error {
	ctx := q.r.Context()
	vault, path := q.r.PathValue("vault"), q.r.PostFormValue("path")
	var sv *clavis.SecretValue
	var err error
	if ver := q.r.PostFormValue("version"); ver != "" {
		n, perr := strconv.Atoi(ver)
		if perr != nil {
			return clavis.Invalid("version", "version must be a number")
		}
		sv, err = q.svc.GetVersion(ctx, vault, path, n)
	} else {
		sv, err = q.svc.GetSecret(ctx, vault, path)
	}
	if err != nil {
		return err
	}
	ver := *sv.Version
	ver.AccessCount++ // the metadata is as it was before this read, which counted
	r := row(clavis.SecretMeta{Secret: sv.Secret, Version: &ver})
	h.render(q, 200, "reveal", revealPage{Vault: vault, Path: path, Version: r.Version, Type: r.Type,
		Value: string(sv.Value), Reads: r.ReadsLeft}, "")
	return nil
}

func rotateSecret(h *Handler, q *req) error {
	vault, path := q.r.PathValue("vault"), q.r.PostFormValue("path")
	length, err := formInt(q, "length")
	if err != nil {
		return again(secretView, err)
	}
	if _, err := q.svc.RotateSecret(q.r.Context(), vault, path, clavis.RotateInput{Length: length,
		Charset: q.r.PostFormValue("charset")}); err != nil {
		return again(secretView, err)
	}
	return redirect(q, secretURL(vault, path), "secret-rotated")
}

func deleteSecret(h *Handler, q *req) error {
	vault, path := q.r.PathValue("vault"), q.r.PostFormValue("path")
	if err := q.svc.DeleteSecret(q.r.Context(), vault, path); err != nil {
		return again(secretView, err)
	}
	return redirect(q, "/ui/vaults/"+url.PathEscape(vault), "secret-deleted")
}

// versionAction disables or restores the version named by the form.
func versionAction(restore bool) action {
	return func(h *Handler, q *req) error {
		vault, path := q.r.PathValue("vault"), q.r.PostFormValue("path")
		n, err := strconv.Atoi(q.r.PostFormValue("version"))
		if err != nil {
			return again(secretView, clavis.Invalid("version", "version must be a number"))
		}
		done := "version-disabled"
		if restore {
			done = "version-restored"
			_, err = q.svc.RestoreVersion(q.r.Context(), vault, path, n)
		} else {
			err = q.svc.DisableVersion(q.r.Context(), vault, path, n)
		}
		if err != nil {
			return again(secretView, err)
		}
		return redirect(q, secretURL(vault, path), done)
	}
}
