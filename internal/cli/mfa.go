package cli

import (
	"fmt"
	"strings"

	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"
)

// otpauthQR renders uri as a QR code of half-block characters (two modules per character row), dark on
// a light terminal background, for an authenticator app to scan; "" if it cannot be encoded.
func otpauthQR(uri string) string {
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		return ""
	}
	return q.ToSmallString(false)
}

// mfaCmd: mfa status|enable|disable for the logged-in user (TOTP). enable prints the otpauth URI, a
// terminal QR code of it and the secret, reads a code (prompt or stdin) and prints the recovery codes once; disable takes the password
// or a code from a hidden prompt or stdin.
func (a *app) mfaCmd() *cobra.Command {
	c := &cobra.Command{Use: "mfa", Short: "two-factor authentication (TOTP) of your account", Example: "  clavis mfa status\n  clavis mfa enable"}
	status := &cobra.Command{Use: "status", Short: "show whether MFA is enabled", Example: "  clavis mfa status -o json", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			on, err := s.C.MFAStatus(c.Context())
			if err != nil {
				return err
			}
			word := map[bool]string{true: "enabled", false: "disabled"}[on]
			return a.emit(s, struct {
				Enabled bool `json:"enabled"`
			}{on}, table{rows: [][]string{{"mfa:", word}}})
		}}
	enable := &cobra.Command{Use: "enable", Short: "enrol an authenticator app and turn MFA on", Long: "Enrol an authenticator app: prints the otpauth URI, a QR code of it for the app to scan, and the\nsecret; then asks for a code from the app and prints the recovery codes once.", Example: "  clavis mfa enable", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			uri, secret, err := s.C.MFASetup(c.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "otpauth URI: %s\n%ssecret: %s\n", uri, otpauthQR(uri), string(secret))
			code, err := a.readLine("Code from the app: ", false)
			if err != nil {
				return err
			}
			rec, err := s.C.MFAVerifySetup(c.Context(), strings.TrimSpace(code))
			if err != nil {
				return err
			}
			a.msg("MFA is on. Recovery codes (shown only now; keep them safe):")
			for _, r := range rec {
				fmt.Fprintln(a.io.Out, string(r))
			}
			return nil
		}}
	var useCode bool
	disable := &cobra.Command{Use: "disable", Short: "turn MFA off, proven by your password (or --code)", Example: "  clavis mfa disable\n  clavis mfa disable --code", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := a.resolve(true)
			if err != nil {
				return err
			}
			if useCode {
				code, err := a.readLine("Code: ", true)
				if err != nil {
					return err
				}
				err = s.C.MFADisable(c.Context(), strings.TrimSpace(code), "")
				if err != nil {
					return err
				}
			} else {
				pw, err := a.readLine("Password: ", true)
				if err != nil {
					return err
				}
				if err := s.C.MFADisable(c.Context(), "", pw); err != nil {
					return err
				}
			}
			a.msg("MFA is off")
			return nil
		}}
	disable.Flags().BoolVar(&useCode, "code", false, "prove with a current or recovery code instead of the password")
	c.AddCommand(status, enable, disable)
	return c
}
