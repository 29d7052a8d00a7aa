package datasource

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/kilnhq/kiln/engine/internal/config"
	"github.com/kilnhq/kiln/sdk/plugin"
)

// configErr turns a plugin's Configure diagnostics into one error per
// error diagnostic, positioned at the config attribute it names (or at the
// data_source block): "file:line:col: summary: detail" ("name: ..."
// without a position). Warnings are logged.
func configErr(ds *config.DataSource, diags plugin.Diagnostics, log *slog.Logger) error {
	var errs []error
	for _, d := range diags {
		msg := positioned(ds, d)
		if d.Severity == plugin.SeverityWarning {
			log.Warn(msg)
			continue
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

func positioned(ds *config.DataSource, d plugin.Diagnostic) string {
	pos, ok := ds.ConfigPos[d.Attribute]
	if d.Attribute == "" || !ok {
		pos = ds.Pos
	}
	msg := fmt.Sprintf("%s: %s", ds.Name, d.Summary)
	if pos.File != "" {
		msg = fmt.Sprintf("%s:%d:%d: %s", pos.File, pos.Line, pos.Column, d.Summary)
	}
	if d.Attribute != "" && !ok {
		msg += " (" + d.Attribute + ")"
	}
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	return msg
}

// transientOnly reports whether every error diagnostic is transient: the
// config is fine and the source may serve later.
func transientOnly(diags plugin.Diagnostics) bool {
	for _, d := range diags {
		if d.Severity == plugin.SeverityError && !d.Transient {
			return false
		}
	}
	return true
}
