package config

import "time"

const defaultLockWait = 30 * time.Second
