//go:build !nosqlite

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// SQLite is the embedded Store for `checkoff serve` and the CLI: one
// SQLite database file, through modernc.org/sqlite (pure Go, so the binary
// needs no cgo).
//
// Several processes may open one database at once (two `serve` during a
// restart, and the CLI): the journal is a WAL, so readers never wait for
// the writer, and writers queue on SQLite's write lock for up to
// busyTimeout. Every write transaction begins IMMEDIATE, taking the write
// lock at BEGIN, so two writers never deadlock upgrading a read lock.
//
// Durability: synchronous=FULL, so a write is on disk (the WAL fsynced)
// before it is acknowledged, and a delivery acknowledged to GitHub survives
// a power cut, not only a crash of the process (which NORMAL would
// survive too). Writes of expiring records only, and delivery marks, use
// NORMAL: losing them in a power cut costs a repeated, idempotent step
// (see Record.Expires), and the next FULL commit flushes them anyway.
//
// Each PutManyIfNewer is one transaction of conditional upserts, so the
// newest-wins rule is the database's, and a delivery's records land
// together or not at all. Writes to ledger and verdict partitions (see
// KeepsHistory) also append to an append-only history in the same
// transaction. Expired records and marks are hidden on read and deleted by
// a sweep at open and then every SweepEvery.
type SQLite struct {
	path  string
	now   func() time.Time
	every time.Duration

	db   *sql.DB // readers; WAL lets them run beside the writer
	full *sql.DB // the one writer connection, synchronous=FULL
	fast *sql.DB // the one writer connection for ephemeral writes, synchronous=NORMAL
	wmu  sync.Mutex

	// Statements are prepared once per pool: parsing SQL cost a tenth of
	// a delivery's CPU when every call prepared its own.
	read         readStmts
	fullW, fastW writeStmts

	closed atomic.Bool
	stop   chan struct{}
	done   chan struct{}
	cpDone chan struct{} // the checkpointer stopped
}

var (
	_ Store      = (*SQLite)(nil)
	_ Historian  = (*SQLite)(nil)
	_ PutQuerier = (*SQLite)(nil)
)

const (
	sqliteSweepEvery  = time.Hour
	sqliteBusyTimeout = 10 * time.Second
	sqliteReaders     = 4
	sweepBatch        = 1000 // rows deleted per transaction, so a sweep never holds the lock long
)

// OpenSQLite opens (creating it if needed, mode 0600, and its directory
// 0700) the database at path and applies any pending schema migrations.
// Close releases it.
func OpenSQLite(path string, opts SQLiteOptions) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	// SQLite creates its -wal and -shm files with the database's mode.
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	fh.Close()
	s := &SQLite{path: path, now: opts.Now, every: opts.SweepEvery, stop: make(chan struct{}), done: make(chan struct{}), cpDone: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.every == 0 {
		s.every = sqliteSweepEvery
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = sqliteBusyTimeout
	}
	open := func(sync string, conns int, txlock string) (*sql.DB, error) {
		return openConns(path, busy, sync, conns, txlock)
	}
	fail := func(err error) (*SQLite, error) {
		for _, db := range []*sql.DB{s.db, s.full, s.fast} {
			if db != nil {
				db.Close()
			}
		}
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if s.full, err = open("FULL", 1, "immediate"); err != nil {
		return fail(err)
	}
	if s.fast, err = open("NORMAL", 1, "immediate"); err != nil {
		return fail(err)
	}
	if s.db, err = open("NORMAL", sqliteReaders, ""); err != nil {
		return fail(err)
	}
	ctx := context.Background()
	// WAL is a property of the database file; setting it needs no other
	// connection open, so it is set before migrations and kept.
	var mode string
	if err := s.full.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return fail(fmt.Errorf("set WAL: %w", err))
	}
	if mode != "wal" {
		return fail(fmt.Errorf("set WAL: journal mode is %q", mode))
	}
	if err := s.migrate(ctx); err != nil {
		return fail(err)
	}
	if err := s.prepare(ctx); err != nil {
		return fail(err)
	}
	if err := s.sweepIfDue(ctx); err != nil {
		return fail(err)
	}
	go s.sweeper()
	go s.checkpointer()
	return s, nil
}

// migrations are the schema, one forward step per PRAGMA user_version: the
// database at version n has had migrations[:n] applied. Never edit a
// released step; append one.
var migrations = []string{
	// 1: newest records, delivery marks, bookkeeping.
	`CREATE TABLE records (
		pk      TEXT    NOT NULL,
		sk      TEXT    NOT NULL,
		version INTEGER NOT NULL,
		data    BLOB    NOT NULL,
		expires INTEGER,             -- Unix nanoseconds; NULL: kept until deleted
		PRIMARY KEY (pk, sk)
	) WITHOUT ROWID;
	CREATE INDEX records_expires ON records (expires) WHERE expires IS NOT NULL;
	CREATE TABLE deliveries (
		id      TEXT    NOT NULL PRIMARY KEY,
		expires INTEGER NOT NULL     -- Unix nanoseconds
	) WITHOUT ROWID;
	CREATE INDEX deliveries_expires ON deliveries (expires);
	CREATE TABLE meta (
		key   TEXT NOT NULL PRIMARY KEY,
		value INTEGER NOT NULL
	) WITHOUT ROWID;`,
	// 2: the append-only history of ledger and verdict partitions.
	`CREATE TABLE history (
		seq      INTEGER PRIMARY KEY AUTOINCREMENT, -- commit order, across processes
		pk       TEXT    NOT NULL,
		sk       TEXT    NOT NULL,
		version  INTEGER NOT NULL,
		data     BLOB    NOT NULL,
		written  INTEGER NOT NULL,                  -- Unix nanoseconds
		delivery TEXT    NOT NULL DEFAULT '',
		deleted  INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX history_pk ON history (pk, seq);`,
}

// migrate brings the schema to len(migrations) in one transaction, so two
// processes opening a new database at once apply each step once. A
// database from a newer checkoff is refused, changing nothing.
func (s *SQLite) migrate(ctx context.Context) error {
	tx, err := s.full.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	switch {
	case v == len(migrations):
		return nil
	case v > len(migrations) || v < 0:
		return fmt.Errorf("schema version %d is newer than this checkoff knows (%d): upgrade checkoff", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("migrate: set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// readStmts are the statements of the reader pool.
type readStmts struct{ get, query, seen *sql.Stmt }

// writeStmts are the statements of one writer pool; a transaction uses
// them through tx.StmtContext, which reuses the connection's prepared
// statement.
type writeStmts struct{ upsertNewer, upsertAbsent, history, mark, query *sql.Stmt }

// prepare prepares every statement of the request path, once.
func (s *SQLite) prepare(ctx context.Context) error {
	var err error
	prep := func(db *sql.DB, query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		if st, err = db.PrepareContext(ctx, query); err != nil {
			err = fmt.Errorf("prepare %q: %w", query, err)
		}
		return st
	}
	s.read = readStmts{
		get:   prep(s.db, "SELECT version, data, expires FROM records WHERE pk = ? AND sk = ? AND "+liveCond),
		query: prep(s.db, queryRecords),
		seen:  prep(s.db, "SELECT id FROM deliveries WHERE id IN (?1, ?2) AND expires > ?3"),
	}
	for _, w := range []struct {
		db *sql.DB
		st *writeStmts
	}{{s.full, &s.fullW}, {s.fast, &s.fastW}} {
		*w.st = writeStmts{
			upsertNewer:  prep(w.db, upsertNewer),
			upsertAbsent: prep(w.db, upsertAbsent),
			history:      prep(w.db, insertHistory),
			mark:         prep(w.db, upsertMark),
			query:        prep(w.db, queryRecords),
		}
	}
	return err
}

// Close stops the sweeper and closes the database. Operations after Close
// fail.
func (s *SQLite) Close() error {
	s.wmu.Lock()
	if s.closed.Swap(true) {
		s.wmu.Unlock()
		return nil
	}
	s.wmu.Unlock()
	close(s.stop)
	<-s.done
	<-s.cpDone
	// Copy what is left into the database and empty the WAL; another
	// process still using the database keeps it (the checkpoint is then
	// partial, which is no error).
	s.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	err := errors.Join(s.db.Close(), s.fast.Close(), s.full.Close())
	if err != nil {
		return fmt.Errorf("close sqlite store %s: %w", s.path, err)
	}
	return nil
}

func (s *SQLite) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// nanos is t in Unix nanoseconds, or NULL for the zero time.
func nanos(t time.Time) (sql.NullInt64, error) {
	if t.IsZero() {
		return sql.NullInt64{}, nil
	}
	if t.Before(time.Unix(0, math.MinInt64)) || t.After(time.Unix(0, math.MaxInt64)) {
		return sql.NullInt64{}, fmt.Errorf("expiry %v out of range", t)
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}, nil
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64)
}

const (
	liveCond     = "(expires IS NULL OR expires > ?)"
	queryRecords = "SELECT sk, version, data, expires FROM records WHERE pk = ? AND " + liveCond + " ORDER BY sk"
)

// Get returns the live record at (pk, sk), or ErrNotFound.
func (s *SQLite) Get(ctx context.Context, pk, sk string) (Record, error) {
	if err := s.ready(ctx); err != nil {
		return Record{}, err
	}
	if err := checkKey(pk, sk); err != nil {
		return Record{}, err
	}
	rec := Record{PK: pk, SK: sk}
	var exp sql.NullInt64
	err := s.read.get.QueryRowContext(ctx, pk, sk, s.now().UnixNano()).Scan(&rec.Version, &rec.Data, &exp)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Record{}, ErrNotFound
	case err != nil:
		return Record{}, fmt.Errorf("sqlite get %s/%s: %w", pk, sk, err)
	}
	rec.Expires = fromNanos(exp)
	return rec, nil
}

// Query returns every live record under pk, ordered by SK (bytewise: the
// BINARY collation compares UTF-8 as DynamoDB does).
func (s *SQLite) Query(ctx context.Context, pk string) ([]Record, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if err := checkPart("partition", pk, maxPKBytes); err != nil {
		return nil, err
	}
	out, err := scanRecords(s.read.query.QueryContext(ctx, pk, s.now().UnixNano()))
	if err != nil {
		return nil, fmt.Errorf("sqlite query %s: %w", pk, err)
	}
	return fixPK(out, pk), nil
}

// scanRecords reads the rows of queryRecords; their PK is the caller's.
func scanRecords(rows *sql.Rows, err error) ([]Record, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var exp sql.NullInt64
		if err := rows.Scan(&r.SK, &r.Version, &r.Data, &exp); err != nil {
			return nil, err
		}
		r.Expires = fromNanos(exp)
		out = append(out, r)
	}
	return out, rows.Err()
}

// fixPK sets the partition key of records read from pk.
func fixPK(recs []Record, pk string) []Record {
	for i := range recs {
		recs[i].PK = pk
	}
	return recs
}

// The conditional upserts. An expired record counts as absent: it is
// replaced whatever its version.
const (
	upsertHead = `INSERT INTO records (pk, sk, version, data, expires) VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (pk, sk) DO UPDATE SET version = excluded.version, data = excluded.data, expires = excluded.expires
		WHERE (records.expires IS NOT NULL AND records.expires <= ?6)`
	upsertNewer    = upsertHead + ` OR excluded.version > records.version`
	upsertAbsent   = upsertHead
	insertHistory  = `INSERT INTO history (pk, sk, version, data, written, delivery, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)`
	deleteRecord   = `DELETE FROM records WHERE pk = ? AND sk = ?`
	historyColumns = `sk, version, data, written, delivery, deleted`
	upsertMark     = `INSERT INTO deliveries (id, expires) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires = excluded.expires`
)

// PutIfNewer writes rec unless a live record at its key has a Version >=
// rec.Version, and reports whether it wrote.
func (s *SQLite) PutIfNewer(ctx context.Context, rec Record) (bool, error) {
	wrote, _, err := s.putMany(ctx, []Record{rec}, false, "")
	if err != nil {
		return false, err
	}
	return wrote[0], nil
}

// PutIfAbsent writes rec unless a live record exists at its key, and
// reports whether it wrote.
func (s *SQLite) PutIfAbsent(ctx context.Context, rec Record) (bool, error) {
	wrote, _, err := s.putMany(ctx, []Record{rec}, true, "")
	if err != nil {
		return false, err
	}
	return wrote[0], nil
}

// PutManyIfNewer applies PutIfNewer to each of recs in order, in one
// transaction: unlike the Store contract requires, it is atomic.
func (s *SQLite) PutManyIfNewer(ctx context.Context, recs []Record) ([]bool, error) {
	wrote, _, err := s.putMany(ctx, recs, false, "")
	return wrote, err
}

// PutManyThenQuery is PutManyIfNewer(recs) and then Query(pk), in one
// transaction on the writer connection.
func (s *SQLite) PutManyThenQuery(ctx context.Context, recs []Record, pk string) ([]bool, []Record, error) {
	if err := checkPart("partition", pk, maxPKBytes); err != nil {
		return nil, nil, err
	}
	if len(recs) == 0 {
		out, err := s.Query(ctx, pk)
		return nil, out, err
	}
	return s.putMany(ctx, recs, false, pk)
}

// putMany writes recs in one transaction, each if newer (or, with
// ifAbsent, only where no live record is), and then, when queryPK is set,
// reads the live records under it in the same transaction.
func (s *SQLite) putMany(ctx context.Context, recs []Record, ifAbsent bool, queryPK string) ([]bool, []Record, error) {
	if err := s.ready(ctx); err != nil {
		return nil, nil, err
	}
	exps := make([]sql.NullInt64, len(recs))
	durable := false
	for i, rec := range recs {
		if err := checkKey(rec.PK, rec.SK); err != nil {
			return nil, nil, err
		}
		exp, err := nanos(rec.Expires)
		if err != nil {
			return nil, nil, fmt.Errorf("put %s/%s: %w", rec.PK, rec.SK, err)
		}
		exps[i] = exp
		durable = durable || !exp.Valid
	}
	wrote := make([]bool, len(recs))
	if len(recs) == 0 {
		return wrote, nil, nil
	}
	var read []Record
	delivery := deliveryOf(ctx)
	err := s.write(ctx, durable, func(tx *sql.Tx, st *writeStmts, now int64) error {
		upsert := st.upsertNewer
		if ifAbsent {
			upsert = st.upsertAbsent
		}
		stmt := tx.StmtContext(ctx, upsert)
		defer stmt.Close()
		var hist *sql.Stmt
		for i, rec := range recs {
			data := rec.Data
			if data == nil {
				data = []byte{}
			}
			res, err := stmt.ExecContext(ctx, rec.PK, rec.SK, rec.Version, data, exps[i], now)
			if err != nil {
				return fmt.Errorf("put %s/%s: %w", rec.PK, rec.SK, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("put %s/%s: %w", rec.PK, rec.SK, err)
			}
			wrote[i] = n > 0
			if !wrote[i] || !KeepsHistory(rec.PK) {
				continue
			}
			if hist == nil {
				hist = tx.StmtContext(ctx, st.history)
				defer hist.Close()
			}
			if _, err := hist.ExecContext(ctx, rec.PK, rec.SK, rec.Version, data, now, delivery, 0); err != nil {
				return fmt.Errorf("record history of %s/%s: %w", rec.PK, rec.SK, err)
			}
		}
		if queryPK == "" {
			return nil
		}
		query := tx.StmtContext(ctx, st.query)
		defer query.Close()
		var err error
		if read, err = scanRecords(query.QueryContext(ctx, queryPK, now)); err != nil {
			return fmt.Errorf("query %s: %w", queryPK, err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return wrote, fixPK(read, queryPK), nil
}

// Delete removes the record at (pk, sk); deleting nothing is not an error.
func (s *SQLite) Delete(ctx context.Context, pk, sk string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if err := checkKey(pk, sk); err != nil {
		return err
	}
	delivery := deliveryOf(ctx)
	return s.write(ctx, true, func(tx *sql.Tx, _ *writeStmts, now int64) error {
		res, err := tx.ExecContext(ctx, deleteRecord, pk, sk)
		if err != nil {
			return fmt.Errorf("delete %s/%s: %w", pk, sk, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 || !KeepsHistory(pk) {
			return err
		}
		if _, err := tx.ExecContext(ctx, insertHistory, pk, sk, 0, []byte{}, now, delivery, 1); err != nil {
			return fmt.Errorf("record history of %s/%s: %w", pk, sk, err)
		}
		return nil
	})
}

// write runs fn in one IMMEDIATE transaction on the FULL connection
// (durable) or the NORMAL one, with now from the store's clock. Writers in
// this process take turns on wmu, so they never wait on SQLite's busy
// handler for each other, only for other processes.
func (s *SQLite) write(ctx context.Context, durable bool, fn func(tx *sql.Tx, st *writeStmts, now int64) error) error {
	db, st := s.fast, &s.fastW
	if durable {
		db, st = s.full, &s.fullW
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return errClosed
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite %s: begin: %w", s.path, err)
	}
	defer tx.Rollback()
	if err := fn(tx, st, s.now().UnixNano()); err != nil {
		return fmt.Errorf("sqlite %s: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite %s: commit: %w", s.path, err)
	}
	return nil
}

// History returns every accepted write to pk, oldest first (in commit
// order, which is the writers' order even across processes).
func (s *SQLite) History(ctx context.Context, pk string) ([]HistoryEntry, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if err := checkPart("partition", pk, maxPKBytes); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+historyColumns+" FROM history WHERE pk = ? ORDER BY seq", pk)
	if err != nil {
		return nil, fmt.Errorf("sqlite history %s: %w", pk, err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		h := HistoryEntry{Record: Record{PK: pk}}
		var written int64
		if err := rows.Scan(&h.SK, &h.Version, &h.Data, &written, &h.Delivery, &h.Deleted); err != nil {
			return nil, fmt.Errorf("sqlite history %s: %w", pk, err)
		}
		h.Written = time.Unix(0, written)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite history %s: %w", pk, err)
	}
	return out, nil
}

// openConns opens a pool of conns connections to the database at path with
// the given synchronous level and transaction locking (txlock "" for
// readers).
func openConns(path string, busy time.Duration, sync string, conns int, txlock string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+sync+")")
	// No checkpoint on a writer's commit (SQLite's default after 1,000
	// WAL pages): copying the WAL into the database and syncing it
	// there put a checkpoint's milliseconds on some delivery's answer.
	// The checkpointer below does it off the request path.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// checkpointInterval is how often the WAL is copied into the database.
const checkpointInterval = time.Second

// checkpointer copies committed WAL frames into the database every
// checkpointInterval, off the request path (writers never checkpoint). A
// PASSIVE checkpoint waits for no one and blocks no one; what it could not
// copy (a reader still needs it) is copied the next time. Each process
// sharing the database runs one; the last Close truncates the WAL.
func (s *SQLite) checkpointer() {
	defer close(s.cpDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// sweeper runs sweepIfDue every s.every until Close. A failed sweep is
// tried again at the next tick: expired rows are hidden on read anyway.
func (s *SQLite) sweeper() {
	defer close(s.done)
	if s.every < 0 {
		<-s.stop
		return
	}
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweepIfDue(context.Background())
		}
	}
}

// sweepIfDue deletes expired records and marks unless some process swept
// within s.every. The check and the stamp are one transaction, so of
// several processes one sweeps; the deletes follow in batches.
func (s *SQLite) sweepIfDue(ctx context.Context) error {
	due := false
	err := s.write(ctx, false, func(tx *sql.Tx, _ *writeStmts, now int64) error {
		var last int64
		err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'swept'").Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		every := s.every
		if every < 0 {
			every = 0
		}
		if err == nil && now-last < int64(every) && now >= last {
			return nil
		}
		due = true
		_, err = tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('swept', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", now)
		return err
	})
	if err != nil || !due {
		return err
	}
	return s.sweep(ctx)
}

// sweep deletes every expired record and mark, sweepBatch rows per
// transaction.
func (s *SQLite) sweep(ctx context.Context) error {
	for _, del := range []string{
		"DELETE FROM records WHERE (pk, sk) IN (SELECT pk, sk FROM records WHERE expires <= ?1 LIMIT ?2)",
		"DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE expires <= ?1 LIMIT ?2)",
	} {
		for {
			var n int64
			err := s.write(ctx, false, func(tx *sql.Tx, _ *writeStmts, now int64) error {
				res, err := tx.ExecContext(ctx, del, now, sweepBatch)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return fmt.Errorf("sweep: %w", err)
			}
			if n < sweepBatch {
				break
			}
		}
	}
	return nil
}

// Deliveries returns the delivery marks kept in this database, each
// remembered for ttl; it satisfies webhook.Deliveries. Unlike Marks, any
// number of processes may share them.
func (s *SQLite) Deliveries(ttl time.Duration) *SQLiteMarks {
	return &SQLiteMarks{s: s, ttl: ttl}
}

// SQLiteMarks remembers handled webhook delivery IDs in a SQLite store's
// deliveries table. A mark only spares a redelivery from being handled
// again, which converges anyway, so marks are committed without fsync
// (synchronous=NORMAL): a power cut may forget the latest.
//
// Marks asked for while a commit of marks is under way are committed
// together in the next one (group commit), which under load waits up to
// markLinger for more: one transaction carries many deliveries' marks
// instead of each paying its own.
type SQLiteMarks struct {
	s   *SQLite
	ttl time.Duration

	mu      sync.Mutex
	next    *markBatch // marks waiting for the next commit
	writing bool       // a goroutine is committing batches
	began   time.Time  // when the last commit began
	shared  bool       // the last commit carried more than one Done's marks
}

// markLinger is how long a commit of marks lets its batch fill when the
// last one began less than that ago and carried several Done calls' marks:
// that is, under load, where a delivery's answer already waits tens of
// milliseconds for CPU, and one commit then carries many deliveries'
// marks. Deliveries one at a time have their marks committed at once.
const markLinger = 2 * time.Millisecond

// markBatch is the marks of one group commit; done is closed once it is
// committed (err set) or failed.
type markBatch struct {
	ids   []string
	calls int // Done calls waiting on it
	done  chan struct{}
	err   error
}

// Seen returns the first of ids marked done within the ttl, or "" if none
// was.
func (m *SQLiteMarks) Seen(ctx context.Context, ids ...string) (string, error) {
	if err := m.s.ready(ctx); err != nil {
		return "", err
	}
	now := m.s.now().UnixNano()
	// The statement looks up two IDs at once: a delivery's ID and its
	// body's key, in one query.
	for i := 0; i < len(ids); i += 2 {
		a, b := ids[i], ids[min(i+1, len(ids)-1)]
		rows, err := m.s.read.seen.QueryContext(ctx, a, b, now)
		if err != nil {
			return "", fmt.Errorf("look up deliveries %s, %s: %w", a, b, err)
		}
		found := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return "", fmt.Errorf("look up deliveries %s, %s: %w", a, b, err)
			}
			found[id] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return "", fmt.Errorf("look up deliveries %s, %s: %w", a, b, err)
		}
		for _, id := range []string{a, b} {
			if found[id] {
				return id, nil
			}
		}
	}
	return "", nil
}

// Done marks each of ids handled and returns once they are committed. It
// runs to the end even when ctx is done: the delivery was handled, and the
// mark is a local write.
func (m *SQLiteMarks) Done(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if !validMarkID(id) {
			return fmt.Errorf("mark delivery %q: not a delivery ID", id)
		}
	}
	if m.ttl <= 0 {
		return fmt.Errorf("mark deliveries %v: ttl %v is not positive", ids, m.ttl)
	}
	if len(ids) == 0 {
		return nil
	}
	m.mu.Lock()
	if m.next == nil {
		m.next = &markBatch{done: make(chan struct{})}
	}
	b := m.next
	b.ids = append(b.ids, ids...)
	b.calls++
	if !m.writing {
		m.writing = true
		go m.commit(context.WithoutCancel(ctx))
	}
	m.mu.Unlock()
	<-b.done
	if b.err != nil {
		return fmt.Errorf("mark deliveries %v: %w", ids, b.err)
	}
	return nil
}

// commit commits waiting batches one transaction each until none waits.
func (m *SQLiteMarks) commit(ctx context.Context) {
	for {
		m.mu.Lock()
		if m.next == nil {
			m.writing = false
			m.mu.Unlock()
			return
		}
		if wait := markLinger - time.Since(m.began); wait > 0 && m.shared {
			m.mu.Unlock()
			time.Sleep(wait)
			m.mu.Lock()
		}
		b := m.next
		m.next, m.began, m.shared = nil, time.Now(), b.calls > 1
		m.mu.Unlock()
		b.err = m.s.write(ctx, false, func(tx *sql.Tx, st *writeStmts, now int64) error {
			mark := tx.StmtContext(ctx, st.mark)
			defer mark.Close()
			for _, id := range b.ids {
				if _, err := mark.ExecContext(ctx, id, now+int64(m.ttl)); err != nil {
					return fmt.Errorf("mark %s: %w", id, err)
				}
			}
			return nil
		})
		close(b.done)
	}
}
