package pgtest

import (
	"database/sql"
	"testing"

	"github.com/canaryjudge/judge/internal/testenv"
)

// TestStartDurability: a durable cluster flushes every commit (PostgreSQL's
// defaults); the tests' cluster does not.
func TestStartDurability(t *testing.T) {
	testenv.NeedsExternal(t, "a real PostgreSQL")
	for _, tc := range []struct {
		durable     bool
		fsync, sync string
	}{{true, "on", "on"}, {false, "off", "off"}} {
		url, stop, err := Start(tc.durable)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("pgx", url)
		if err != nil {
			stop()
			t.Fatal(err)
		}
		var fsync, sync string
		err = db.QueryRow("SHOW fsync").Scan(&fsync)
		if err == nil {
			err = db.QueryRow("SHOW synchronous_commit").Scan(&sync)
		}
		_ = db.Close()
		stop()
		if err != nil || fsync != tc.fsync || sync != tc.sync {
			t.Errorf("durable %v: fsync %q, synchronous_commit %q, %v; want %q, %q", tc.durable, fsync, sync, err, tc.fsync, tc.sync)
		}
	}
}
