package config

import "github.com/robfig/cron/v3"

// checkCron parses a schedule the way `countysync scheduler` will: the
// scheduler runs robfig/cron itself with its standard parser (in UTC), so
// a schedule is five fields or a descriptor such as @daily or "@every 6h".
func checkCron(spec string) error {
	_, err := cron.ParseStandard(spec)
	return err
}
