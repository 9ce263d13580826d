package pipeline

// SnapshotKey is the storage key of the snapshot a job published for a
// dataset; the watermark names it.
func SnapshotKey(dataset, jobID string) string {
	return ".countysync/snapshots/" + dataset + "/" + jobID + ".sqlite"
}
