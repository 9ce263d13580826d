package pipeline

import (
	"context"
	"fmt"
)

// finishJob ends job id once every dataset has a result: it writes the
// final manifest and records the job's end and status. Several steps may
// get here at once; the work is idempotent. If the manifest cannot be
// written the error is returned for the step to retry, unless final (no
// retry will come): then the job ends anyway, failed, with the reason in
// its report, so that nothing waits for it for ever.
func finishJob(ctx context.Context, env *Env, id string, final bool) error {
	rec, err := LoadJob(ctx, env.Jobs, id)
	if err != nil || rec.Ended() {
		return err
	}
	res, err := results(ctx, env.Jobs, id)
	if err != nil {
		return err
	}
	rep, done, _ := reportOf(rec, res)
	if !done {
		return nil
	}
	rec.End = env.now().UTC()
	rec.Status = StatusSucceeded
	if !rep.Success {
		rec.Status = StatusFailed
	}
	rep.End, rep.Status = rec.End, rec.Status
	if err := PutManifest(ctx, env, rep); err != nil {
		if !final {
			return fmt.Errorf("job %s: write the final manifest: %w", id, err)
		}
		env.Log.Error("could not write the job's final manifest", "job_id", id, "error", err)
		rec.Status, rec.Error = StatusFailed, "write manifest: "+err.Error()
		rep, _, _ = reportOf(rec, res)
	}
	if err := putJob(ctx, env.Jobs, rec); err != nil {
		return err
	}
	env.Log.Info("job finished", "job_id", id, "success", rep.Success,
		"records", rep.RecordsProcessed(), "seconds", roundSeconds(rec.End.Sub(rec.Start).Seconds()))
	return nil
}
