//go:build nosqlite

package store

import (
	"context"
	"errors"
	"time"
)

// The Lambda build (tag nosqlite) leaves SQLite out: it stores in DynamoDB,
// and modernc.org/sqlite adds about 3.6 MB to the binary. These stand-ins
// keep the callers compiling and fail at open.

var errNoSQLite = errors.New("this checkoff was built without SQLite (tag nosqlite)")

// SQLite is absent from this build; OpenSQLite fails.
type SQLite struct{}

// SQLiteMarks is absent from this build.
type SQLiteMarks struct{}

var (
	_ Store     = (*SQLite)(nil)
	_ Historian = (*SQLite)(nil)
)

// OpenSQLite fails: this build has no SQLite.
func OpenSQLite(path string, _ SQLiteOptions) (*SQLite, error) {
	return nil, errNoSQLite
}

func (*SQLite) Close() error                                        { return errNoSQLite }
func (*SQLite) Get(context.Context, string, string) (Record, error) { return Record{}, errNoSQLite }
func (*SQLite) Query(context.Context, string) ([]Record, error)     { return nil, errNoSQLite }
func (*SQLite) PutIfNewer(context.Context, Record) (bool, error)    { return false, errNoSQLite }
func (*SQLite) PutIfAbsent(context.Context, Record) (bool, error)   { return false, errNoSQLite }
func (*SQLite) PutManyIfNewer(context.Context, []Record) ([]bool, error) {
	return nil, errNoSQLite
}
func (*SQLite) Delete(context.Context, string, string) error { return errNoSQLite }
func (*SQLite) History(context.Context, string) ([]HistoryEntry, error) {
	return nil, errNoSQLite
}
func (*SQLite) Deliveries(time.Duration) *SQLiteMarks { return &SQLiteMarks{} }

func (*SQLiteMarks) Seen(context.Context, ...string) (string, error) { return "", errNoSQLite }
func (*SQLiteMarks) Done(context.Context, ...string) error           { return errNoSQLite }
