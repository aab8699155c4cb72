package run

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/novacorrente/novawh/internal/alert"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes a summary for people: one line per step with its
// counts, then the problems.
func WriteText(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := strings.ToUpper(rep.Status)
	if rep.Status == RunOK && rep.Warnings() > 0 {
		head = fmt.Sprintf("OK with %d warning(s)", rep.Warnings())
	}
	fmt.Fprintf(tw, "novawh run %d: %s (exit %d) in %s\n", rep.RunID, head, rep.ExitCode,
		alert.FormatDuration(time.Duration(rep.DurationMS)*time.Millisecond))
	fmt.Fprintf(tw, "  STEP\tSTATUS\tDURATION\tDETAILS\n")
	for _, s := range rep.Steps {
		var parts []string
		for _, k := range sortedKeys(s.Counts) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, s.Counts[k]))
		}
		if s.Note != "" {
			parts = append(parts, s.Note)
		}
		if s.Error != "" {
			parts = append(parts, "error: "+s.Error)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Name, s.Status,
			alert.FormatDuration(time.Duration(s.DurationMS)*time.Millisecond), strings.Join(parts, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Steps {
		for _, p := range s.Problems {
			fmt.Fprintf(w, "  ! %s: %s\n", s.Name, p)
		}
	}
	if !rep.Recorded {
		fmt.Fprintln(w, "  ! the outcome could not be written to meta.runs (see the log)")
	}
	if rep.AlertSent {
		fmt.Fprintln(w, "  alert sent")
	} else if rep.AlertErr != "" {
		fmt.Fprintf(w, "  ! alert NOT delivered: %s\n", rep.AlertErr)
	}
	return nil
}
