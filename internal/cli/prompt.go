package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// stdin is the shared line reader over the standard input.
func (a *app) stdin() *bufio.Reader {
	if a.in == nil {
		a.in = bufio.NewReader(a.io.In)
	}
	return a.in
}

// readLine prompts on stderr and reads one line. On a terminal with hidden set, the input is not
// echoed; otherwise (a pipe) the line is read from stdin and no prompt is shown.
func (a *app) readLine(prompt string, hidden bool) (string, error) {
	if f, ok := a.io.In.(*os.File); ok && a.io.Interactive && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.io.Err, prompt)
		if hidden {
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(a.io.Err)
			if err != nil {
				return "", localErr("reading %s: %v", strings.TrimSuffix(prompt, ": "), err)
			}
			return string(b), nil
		}
	}
	s, err := a.stdin().ReadString('\n')
	if err != nil && (err != io.EOF || s == "") {
		return "", localErr("reading %s from stdin: %v", strings.TrimSuffix(prompt, ": "), err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// isTerminal reports whether w is a terminal (progress bars are drawn only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
