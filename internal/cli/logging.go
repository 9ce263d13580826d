package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger returns the logger commands pass down: text or JSON on stderr.
func (g *globals) newLogger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(g.logLevel))); err != nil {
		return nil, usageError(fmt.Errorf("--log-level %q: use debug, info, warn or error", g.logLevel))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError(fmt.Errorf("--log-format %q: use text or json", g.logFormat))
}
