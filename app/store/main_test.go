package store

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// The test binary re-executes itself as a second process sharing a File
	// directory; see TestFileProcesses.
	if dir := os.Getenv(helperDirEnv); dir != "" {
		if err := fileHelperProcess(dir, os.Getenv(helperProcEnv)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// ... and as a process writing to a SQLite database; see
	// TestSQLiteProcesses and TestSQLiteKill9.
	if path := os.Getenv(sqliteHelperEnv); path != "" {
		if err := sqliteHelperProcess(path, os.Getenv(sqliteHelperMode)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	stopDynalite()
	os.Exit(code)
}
