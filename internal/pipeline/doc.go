// Package pipeline holds the steps of a CountyDataSync job as plain Go
// functions — extract, export, publish — and the embedded runner that
// executes them in one process (`countysync run`). The queue workers call
// the same steps; nothing here knows about Redis or asynq.
//
// One dataset's run, in order:
//
//  1. lock the dataset (state.Store) and read its watermark;
//  2. extract: run the query (from watermark − lookback when incremental),
//     apply transformations, and merge the rows into the dataset's
//     snapshot (datasets with an incremental cursor), or stream them
//     straight on (full datasets);
//  3. export: render every format from the same rows, into temporary
//     files, then publish each under <dataset>_<YYYYMMDD>_<HHMMSS>.<ext>;
//  4. publish: point the "latest" names at the new files, write the job
//     manifest, store the new snapshot, and only then advance the
//     watermark (compare-and-set) and release the lock.
//
// A failure at any step removes what the run wrote under new names and
// leaves the watermark and the latest names where they were.
package pipeline
