package store

import "time"

// SQLiteFileName is the database's name in a data directory
// (CHECKOFF_DATA_DIR), for serve and every CLI command that shares it.
const SQLiteFileName = "checkoff.db"

// SQLiteOptions tunes OpenSQLite; the zero value is the default.
type SQLiteOptions struct {
	// Now is the clock deciding expiry and stamping history; nil: time.Now.
	Now func() time.Time
	// SweepEvery is how often expired records and marks are deleted;
	// 0: one hour. Negative: only at open (tests).
	SweepEvery time.Duration
	// BusyTimeout is how long a write waits for another process's write
	// lock before failing; 0: 10 seconds.
	BusyTimeout time.Duration
}
