package clavis

import (
	"fmt"
	"log/slog"
)

// Secret-bearing types log their identity, never the secret, also under slog's JSON handler (which would
// otherwise marshal the whole struct). Their Sensitive fields redact themselves in fmt and JSON output.
//
// They also implement fmt.Formatter. Their Sensitive fields would redact themselves anyway, except where
// fmt reaches them through a pointer under a verb that does not suit pointers (%s, %q, %d on a struct
// holding a *Token): fmt then prints the pointee as a bad-verb diagnostic without calling any method of
// its fields. A Format on the pointee's type is called before that happens.
//
// Each Format prints the value as fmt would print the same struct without methods: a local type with
// the same name and fields, whose Sensitive fields still redact themselves.

// LogValue logs the token's lifetime and agent, never the access or MFA token.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("access_token", t.AccessToken),
		slog.Int("expires_in", t.ExpiresIn),
		slog.String("agent_id", t.AgentID),
		slog.String("email", t.Email),
		slog.Any("mfa_token", t.MFAToken),
	)
}

// LogValue logs the account's email and display name, never its password.
func (in SignupInput) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("email", in.Email),
		slog.Any("password", in.Password),
		slog.String("display_name", in.DisplayName),
	)
}

// LogValue logs the new version's type and limits, never its value.
func (in SecretInput) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Any("value", in.Value), slog.String("type", in.Type)}
	if in.MaxAccessCount != nil {
		attrs = append(attrs, slog.Int("max_access_count", *in.MaxAccessCount))
	}
	return slog.GroupValue(attrs...)
}

// LogValue logs which version of which secret this is, never its value.
func (v SecretValue) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 6)
	if s := v.Secret; s != nil {
		attrs = append(attrs, slog.String("secret_id", s.ID), slog.String("vault_id", s.VaultID), slog.String("path", s.Path))
	}
	if ver := v.Version; ver != nil {
		attrs = append(attrs, slog.Int("version", ver.Version), slog.String("type", ver.Type))
	}
	return slog.GroupValue(append(attrs, slog.Any("value", v.Value))...)
}

// LogValue logs the agent's id and name, never its key.
func (k AgentKey) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 3)
	if a := k.Agent; a != nil {
		attrs = append(attrs, slog.String("agent_id", a.ID), slog.String("name", a.Name))
	}
	return slog.GroupValue(append(attrs, slog.Any("key", k.Key))...)
}

// Format prints the token with its credentials redacted.
func (t Token) Format(f fmt.State, verb rune) {
	type fields = Token
	type Token fields
	fmt.Fprintf(f, fmt.FormatString(f, verb), Token(t))
}

// Format prints the input with its password redacted.
func (in SignupInput) Format(f fmt.State, verb rune) {
	type fields = SignupInput
	type SignupInput fields
	fmt.Fprintf(f, fmt.FormatString(f, verb), SignupInput(in))
}

// Format prints the input with its value redacted.
func (in SecretInput) Format(f fmt.State, verb rune) {
	type fields = SecretInput
	type SecretInput fields
	fmt.Fprintf(f, fmt.FormatString(f, verb), SecretInput(in))
}

// Format prints the secret version with its value redacted.
func (v SecretValue) Format(f fmt.State, verb rune) {
	type fields = SecretValue
	type SecretValue fields
	fmt.Fprintf(f, fmt.FormatString(f, verb), SecretValue(v))
}

// Format prints the agent with its key redacted.
func (k AgentKey) Format(f fmt.State, verb rune) {
	type fields = AgentKey
	type AgentKey fields
	fmt.Fprintf(f, fmt.FormatString(f, verb), AgentKey(k))
}
