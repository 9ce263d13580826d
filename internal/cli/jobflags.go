package cli

import (
	"github.com/spf13/cobra"

	"github.com/countydatasync/countysync/internal/pipeline"
)

// jobFlags are the flags that select what a job does, shared by `run` and
// `enqueue`.
type jobFlags struct {
	configPath  string
	datasets    []string
	formats     string
	full        bool
	incremental bool
	strict      bool
}

func (j *jobFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringVarP(&j.configPath, "config", "c", "", "config file (required)")
	f.StringArrayVarP(&j.datasets, "dataset", "d", nil, "dataset to run (repeatable; default all)")
	f.StringVar(&j.formats, "formats", "", "comma-separated formats to write (default: the config's)")
	f.BoolVar(&j.full, "full", false, "rebuild every dataset from scratch and reset its watermark")
	f.BoolVar(&j.incremental, "incremental", false, "require incremental datasets (error for datasets without an incremental: section)")
	f.BoolVar(&j.strict, "strict", false, "fail a dataset on its first geometry that does not parse")
	_ = c.MarkFlagRequired("config")
}

// options returns the pipeline options the flags select.
func (j *jobFlags) options() pipeline.Options {
	return pipeline.Options{Datasets: j.datasets, Formats: splitList(j.formats), Full: j.full, Incremental: j.incremental, Strict: j.strict}
}
