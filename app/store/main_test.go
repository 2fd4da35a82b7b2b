package store

import (
	"fmt"
	"os"
	"testing"
)

// sqliteHelper is sqliteHelperProcess, where SQLite is built in.
var sqliteHelper func(path, mode string) error

func TestMain(m *testing.M) {
	// The test binary re-executes itself as a process writing to a SQLite
	// database; see TestSQLiteProcesses and TestSQLiteKill9.
	if path := os.Getenv("CHECKOFF_SQLITE_TEST_DB"); path != "" && sqliteHelper != nil {
		if err := sqliteHelper(path, os.Getenv("CHECKOFF_SQLITE_TEST_MODE")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	stopDynalite()
	os.Exit(code)
}
