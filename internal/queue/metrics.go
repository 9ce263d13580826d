package queue

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are a worker's Prometheus metrics.
type metrics struct {
	reg      *prometheus.Registry
	tasks    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	running  *prometheus.GaugeVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		reg: reg,
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "countysync_tasks_total", Help: "Tasks handled by this worker, by type and outcome.",
		}, []string{"type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "countysync_task_duration_seconds", Help: "Task run time by type.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"type"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "countysync_tasks_running", Help: "Tasks running now, by type.",
		}, []string{"type"}),
	}
	m.reg.MustRegister(m.tasks, m.duration, m.running,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) middleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		m.running.WithLabelValues(t.Type()).Inc()
		err := next.ProcessTask(ctx, t)
		m.running.WithLabelValues(t.Type()).Dec()
		m.duration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		m.tasks.WithLabelValues(t.Type(), outcome).Inc()
		return err
	})
}

// queueCollector reports asynq queue sizes at scrape time, for
// autoscaling and alerting.
type queueCollector struct {
	inspector *asynq.Inspector
	prefix    string
}

var queueSizeDesc = prometheus.NewDesc("countysync_queue_tasks", "Tasks in an asynq queue, by state.",
	[]string{"queue", "state"}, nil)

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueSizeDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, typ := range TaskTypes {
		q := QueueName(c.prefix, typ)
		info, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			continue // a queue that never had a task does not exist yet
		}
		for state, n := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived,
		} {
			ch <- prometheus.MustNewConstMetric(queueSizeDesc, prometheus.GaugeValue, float64(n), q, state)
		}
	}
}
