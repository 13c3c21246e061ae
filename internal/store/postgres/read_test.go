package postgres

import (
	"errors"
	"testing"
)

// TestOneStatementCommitsInItsRoundTrip: the first QueryRow of a lazyTx made for one statement ends the
// transaction in its own round trip (the connection is out of the transaction once the row is read, so
// end sends nothing more), and any later statement fails with errSecondStatement and marks the read to
// be run again. An ordinary lazyTx stays in its transaction after the same statement.
func TestOneStatementCommitsInItsRoundTrip(t *testing.T) {
	s, _ := open(t)
	for _, one := range []bool{true, false} {
		conn, err := s.pool.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r := &lazyTx{conn: conn, begin: []string{qBeginRead}, oneStatement: one}
		var n int
		err = r.QueryRow(t.Context(), "SELECT $1::int + 1", 41).Scan(&n)
		status := conn.Conn().PgConn().TxStatus()
		_, second := r.Exec(t.Context(), "SELECT 1")
		r.end(t.Context())
		switch {
		case err != nil || n != 42:
			t.Errorf("oneStatement %v: QueryRow = %d, %v; want 42, nil", one, n, err)
		case one && (status != 'I' || !errors.Is(second, errSecondStatement) || !r.again):
			t.Errorf("one statement: status %q after its row, second statement %v, again %v; want 'I', errSecondStatement, true", status, second, r.again)
		case !one && (status != 'T' || second != nil || r.again):
			t.Errorf("ordinary read: status %q after a row, second statement %v, again %v; want 'T', nil, false", status, second, r.again)
		}
	}
}
