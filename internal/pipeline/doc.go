// Package pipeline holds a CountyDataSync job: its steps and the embedded
// runner that executes them in one process (`countysync run`). The queue's
// workers run the same steps, one task each; the steps know the outside
// systems only through interfaces (source.Source, storage.Store,
// state.Store, state.Jobs) that internal/open opens.
//
// A job starts with Start (check the options, claim a job id, record the
// job). Then each dataset goes through:
//
//  1. Extract: take the dataset's lock for the job and read the source
//     (from the watermark minus the lookback when incremental), apply the
//     transformations, and either stream the rows straight into every
//     format (a full run whose rows come in key order) or merge them into
//     the dataset's snapshot, which is stored;
//  2. Render: render the snapshot into every format not rendered yet, in
//     one pass, and publish each file under
//     <dataset>_<YYYYMMDD>_<HHMMSS>.<ext>;
//  3. Publish: point the "latest" names at the new files, write the
//     dataset's manifest (manifests/<job>/<dataset>.json), and only then
//     advance the watermark (compare-and-set) and release the lock; the
//     last dataset to finish ends the job and writes the job's manifest
//     (manifests/<job>.json).
//
// Each step records what it did in the job records (the dataset's fan-in)
// and returns what is due next, so a step may run in any process, be
// retried after a crash, or run twice. Fail ends a dataset whose step gave
// up: what the run wrote under new names is removed, and the watermark
// and the latest names stay where they were.
package pipeline
