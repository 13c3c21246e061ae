package client

import "log/slog"

// Secret-bearing types redact themselves in slog output, also under a JSON handler (which would otherwise
// marshal the struct and reveal the value). In fmt output their clavis.Sensitive fields redact themselves.

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
