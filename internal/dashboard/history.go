package dashboard

import (
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/countydatasync/countysync/internal/pipeline"
	"github.com/countydatasync/countysync/internal/state"
)

// history serves the run history pages.
type history struct {
	jobs state.Jobs
	log  *slog.Logger
}

type jobRow struct {
	Report   *pipeline.Report
	Datasets []*pipeline.DatasetResult
	Records  int64
	Duration string
}

var indexTmpl = template.Must(template.New("index").Funcs(template.FuncMap{"short": trimLocation}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CountyDataSync — runs</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4em .6em;text-align:left;vertical-align:top}
.succeeded{color:#176117}.failed{color:#a31515}.running,.queued{color:#8a6d00}code{font-size:.9em}
</style></head><body>
<h1>CountyDataSync runs</h1>
<p><a href="/monitoring/">Queues and tasks (asynqmon)</a></p>
<table><thead><tr><th>Job</th><th>Status</th><th>Started (UTC)</th><th>Duration</th><th>Rows</th><th>Datasets and files</th></tr></thead><tbody>
{{range .}}<tr>
<td><a href="/jobs/{{.Report.JobID}}">{{.Report.JobID}}</a></td>
<td class="{{.Report.Status}}">{{.Report.Status}}</td>
<td>{{.Report.Start.Format "2006-01-02 15:04:05"}}</td>
<td>{{.Duration}}</td>
<td>{{.Records}}</td>
<td>{{range .Datasets}}<div><b>{{.Name}}</b> {{.Records}} rows{{if .Error}} — <span class="failed">{{.Error}}</span>{{end}}
{{range .Artifacts}}<br><code title="{{.Path}}">{{.Format}}: {{short .Path}}</code>{{end}}</div>{{end}}</td>
</tr>{{else}}<tr><td colspan="6">No jobs yet: run <code>countysync enqueue --config …</code>.</td></tr>{{end}}
</tbody></table></body></html>
`))

func (h *history) index(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 && n <= 1000 {
		limit = n
	}
	ids, err := h.jobs.ListJobs(r.Context(), limit)
	if err != nil {
		h.fail(w, err)
		return
	}
	rows := make([]jobRow, 0, len(ids))
	for _, id := range ids {
		rep, _, err := pipeline.ReadReport(r.Context(), h.jobs, id)
		if err != nil {
			continue // expired or corrupt: skip
		}
		row := jobRow{Report: rep, Datasets: rep.Datasets, Records: rep.RecordsProcessed()}
		if !rep.End.IsZero() {
			row.Duration = rep.End.Sub(rep.Start).Round(10e6).String()
		}
		rows = append(rows, row)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := indexTmpl.Execute(w, rows); err != nil {
		h.log.Error("dashboard page", "error", err)
	}
}

func (h *history) job(w http.ResponseWriter, r *http.Request) {
	rep, _, err := pipeline.ReadReport(r.Context(), h.jobs, r.PathValue("id"))
	if err != nil {
		http.Error(w, "no such job", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

func (h *history) fail(w http.ResponseWriter, err error) {
	h.log.Error("dashboard", "error", err)
	http.Error(w, "could not read job records", http.StatusInternalServerError)
}
