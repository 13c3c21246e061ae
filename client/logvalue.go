package client

import (
	"fmt"
	"log/slog"
)

// Secret-bearing types redact themselves in slog output, also under a JSON handler (which would otherwise
// marshal the struct). In fmt and JSON output their clavis.Sensitive fields redact themselves.

// LogValue logs the secret's identity and version, never its value.
func (s Secret) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", s.ID),
		slog.String("path", s.Path),
		slog.String("type", s.Type),
		slog.Int("version", s.Version),
		slog.Any("value", s.Value),
		slog.String("created_by", s.CreatedBy),
		slog.Time("created_at", s.CreatedAt),
	)
}

// LogValue logs the token's type and lifetime, never the token itself.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("access_token", t.AccessToken),
		slog.String("token_type", t.TokenType),
		slog.Int("expires_in", t.ExpiresIn),
		slog.String("agent_id", t.AgentID),
		slog.Bool("mfa_required", t.MFARequired),
	)
}

// LogValue logs the input's type, never its value.
func (in PutSecretInput) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("value", in.Value), slog.String("type", in.Type))
}

// Format prints the secret with its value redacted, as fmt prints the struct (see clavis.Token.Format
// for why a struct whose Sensitive fields redact themselves still needs one).
func (s Secret) Format(f fmt.State, verb rune) {
	type fields = Secret
	type Secret fields
	fmt.Fprintf(f, fmt.FormatString(f, verb), Secret(s))
}

// Format prints the token with its credentials redacted.
func (t Token) Format(f fmt.State, verb rune) {
	type fields = Token
	type Token fields
	fmt.Fprintf(f, fmt.FormatString(f, verb), Token(t))
}

// Format prints the input with its value redacted.
func (in PutSecretInput) Format(f fmt.State, verb rune) {
	type fields = PutSecretInput
	type PutSecretInput fields
	fmt.Fprintf(f, fmt.FormatString(f, verb), PutSecretInput(in))
}
