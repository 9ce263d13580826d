package state

// DefaultPrefix starts the keys of a state store that shares its server
// with others (the Redis store, the queue's job records) when the config
// names no state.prefix.
const DefaultPrefix = "countysync"
