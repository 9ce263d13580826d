// Package dashboard serves the web view of the distributed mode: asynqmon
// (queues, tasks, retries) under /monitoring/, and a run history at / built
// from the job records in Redis — datasets, rows, duration, status and
// where each artifact was published.
//
// Access: the server binds 127.0.0.1 unless told otherwise and refuses a
// non-loopback address without basic auth (user and password from
// COUNTYSYNC_DASHBOARD_USER / COUNTYSYNC_DASHBOARD_PASSWORD, compared in
// constant time). Read-only mode refuses every request but GET and HEAD on
// the server side, for asynqmon's API as for everything else.
package dashboard
