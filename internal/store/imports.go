package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Import is one CSV file being imported, keyed by its content hash.
type Import struct {
	ID         int64  `json:"id"`
	FileSHA256 string `json:"file_sha256"`
	FileName   string `json:"file_name"`
	LastLine   int    `json:"last_line"` // last line committed to staging
	Staged     int    `json:"staged"`
	Duplicates int    `json:"duplicates"`
	BadRows    int    `json:"bad_rows"`
	StagedDone bool   `json:"staged_done"`
	// Drain counts, from the staged rows.
	Pending int `json:"pending"`
	Started int `json:"started"`
	Failed  int `json:"failed"`
}

// StagedRow is one valid CSV row waiting for its lead workflow.
type StagedRow struct {
	Line                                  int
	LeadID, Campaign, Email               string
	Name, Company, Country, Source, Error string
	Score                                 *int
	Phone                                 string
}

// RowError is a CSV row that could not be staged.
type RowError struct {
	Line  int
	Error string
}

// BeginImport returns the import of a file (by hash), creating it if new.
func (s *Store) BeginImport(ctx context.Context, sha, name string) (Import, error) {
	_, err := s.Pool.Exec(ctx, `insert into lead_imports (file_sha256, file_name) values ($1, $2) on conflict (file_sha256) do nothing`, sha, name)
	if err != nil {
		return Import{}, fmt.Errorf("begin import of %s: %w", name, err)
	}
	return s.ImportByHash(ctx, sha)
}

const importCols = `i.id, i.file_sha256, i.file_name, i.last_line, i.staged, i.duplicates, i.bad_rows, i.staged_done,
	(select count(*) from lead_import_rows r where r.import_id = i.id and r.state = 'pending'),
	(select count(*) from lead_import_rows r where r.import_id = i.id and r.state = 'started'),
	(select count(*) from lead_import_rows r where r.import_id = i.id and r.state = 'failed')`

func scanImport(row pgx.Row) (Import, error) {
	var im Import
	err := row.Scan(&im.ID, &im.FileSHA256, &im.FileName, &im.LastLine, &im.Staged, &im.Duplicates, &im.BadRows, &im.StagedDone,
		&im.Pending, &im.Started, &im.Failed)
	return im, err
}

// ImportByHash finds an import by its file's hash.
func (s *Store) ImportByHash(ctx context.Context, sha string) (Import, error) {
	im, err := scanImport(s.Pool.QueryRow(ctx, `select `+importCols+` from lead_imports i where file_sha256 = $1`, sha))
	if err != nil {
		return Import{}, notFound(err, "import "+sha)
	}
	return im, nil
}

// Imports lists every import, newest first.
func (s *Store) Imports(ctx context.Context) ([]Import, error) {
	rows, err := s.Pool.Query(ctx, `select `+importCols+` from lead_imports i order by id desc`)
	if err != nil {
		return nil, fmt.Errorf("list imports: %w", err)
	}
	defer rows.Close()
	var out []Import
	for rows.Next() {
		im, err := scanImport(rows)
		if err != nil {
			return nil, fmt.Errorf("list imports: %w", err)
		}
		out = append(out, im)
	}
	return out, rows.Err()
}

// StageChunk commits one chunk of a file in one transaction: its valid rows
// (a lead already staged for the campaign, by any import, is a duplicate),
// its bad rows, and the checkpoint lastLine. It returns how many rows were
// new.
func (s *Store) StageChunk(ctx context.Context, importID int64, rows []StagedRow, bad []RowError, lastLine int, done bool) (int, error) {
	var inserted int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if len(rows) > 0 {
			n := len(rows)
			lines, scores := make([]int32, n), make([]*int32, n)
			cols := make([][]string, 8)
			for i := range cols {
				cols[i] = make([]string, n)
			}
			for i, r := range rows {
				lines[i] = int32(r.Line)
				if r.Score != nil {
					v := int32(*r.Score)
					scores[i] = &v
				}
				for j, v := range []string{r.LeadID, r.Campaign, r.Email, r.Name, r.Company, r.Country, r.Source, r.Phone} {
					cols[j][i] = v
				}
			}
			tag, err := tx.Exec(ctx, `insert into lead_import_rows (import_id, line, lead_id, campaign, email, name, company, country, source, score, phone)
				select $1, * from unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[], $11::text[])
				on conflict do nothing`,
				importID, lines, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], scores, cols[7])
			if err != nil {
				return err
			}
			inserted = int(tag.RowsAffected())
		}
		if len(bad) > 0 {
			lines, msgs := make([]int32, len(bad)), make([]string, len(bad))
			for i, b := range bad {
				lines[i], msgs[i] = int32(b.Line), b.Error
			}
			if _, err := tx.Exec(ctx, `insert into lead_import_errors (import_id, line, error) select $1, * from unnest($2::int[], $3::text[]) on conflict do nothing`,
				importID, lines, msgs); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `update lead_imports set last_line = greatest(last_line, $2), staged = staged + $3, duplicates = duplicates + $4,
			bad_rows = bad_rows + $5, staged_done = staged_done or $6, updated_at = now() where id = $1`,
			importID, lastLine, inserted, len(rows)-inserted, len(bad), done)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("stage lines up to %d: %w", lastLine, err)
	}
	return inserted, nil
}

// ImportErrors lists an import's bad rows by line.
func (s *Store) ImportErrors(ctx context.Context, importID int64) ([]RowError, error) {
	rows, err := s.Pool.Query(ctx, `select line, error from lead_import_errors where import_id = $1 order by line`, importID)
	if err != nil {
		return nil, fmt.Errorf("import errors: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RowError, error) {
		var e RowError
		err := r.Scan(&e.Line, &e.Error)
		return e, err
	})
}

// PendingRows returns up to n staged rows of an import not yet started, by line.
func (s *Store) PendingRows(ctx context.Context, importID int64, n int) ([]StagedRow, error) {
	rows, err := s.Pool.Query(ctx, `select line, lead_id, campaign, email, name, company, country, source, score, phone
		from lead_import_rows where import_id = $1 and state = 'pending' order by line limit $2`, importID, n)
	if err != nil {
		return nil, fmt.Errorf("pending rows: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StagedRow, error) {
		var x StagedRow
		var score *int32
		err := r.Scan(&x.Line, &x.LeadID, &x.Campaign, &x.Email, &x.Name, &x.Company, &x.Country, &x.Source, &score, &x.Phone)
		if score != nil {
			v := int(*score)
			x.Score = &v
		}
		return x, err
	})
}

// MarkRows records the outcome of started rows: state started, or failed
// with the row's Error.
func (s *Store) MarkRows(ctx context.Context, importID int64, rows []StagedRow) error {
	if len(rows) == 0 {
		return nil
	}
	lines, states, msgs := make([]int32, len(rows)), make([]string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		lines[i], msgs[i] = int32(r.Line), r.Error
		states[i] = "started"
		if r.Error != "" {
			states[i] = "failed"
		}
	}
	_, err := s.Pool.Exec(ctx, `update lead_import_rows r set state = u.state, error = u.error
		from unnest($2::int[], $3::text[], $4::text[]) as u(line, state, error) where r.import_id = $1 and r.line = u.line`,
		importID, lines, states, msgs)
	if err != nil {
		return fmt.Errorf("mark import rows: %w", err)
	}
	return nil
}

// ImportByID finds an import by id.
func (s *Store) ImportByID(ctx context.Context, id int64) (Import, error) {
	im, err := scanImport(s.Pool.QueryRow(ctx, `select `+importCols+` from lead_imports i where id = $1`, id))
	if err != nil {
		return Import{}, notFound(err, fmt.Sprintf("import %d", id))
	}
	return im, nil
}

// LockImport takes a session lock on an import so two runs never stage the
// same file at once. It returns false when another run holds it; unlock
// releases it.
func (s *Store) LockImport(ctx context.Context, importID int64) (ok bool, unlock func(), err error) {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return false, nil, fmt.Errorf("lock import %d: %w", importID, err)
	}
	if err := conn.QueryRow(ctx, `select pg_try_advisory_lock(hashtext('baton-lead-import'), $1::int)`, importID).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return false, nil, fmt.Errorf("lock import %d: %w", importID, err)
		}
		return false, nil, nil
	}
	return true, func() {
		conn.Exec(context.Background(), `select pg_advisory_unlock(hashtext('baton-lead-import'), $1::int)`, importID) //nolint:errcheck
		conn.Release()
	}, nil
}

// FailedRows lists up to n rows of an import the drain could not start, by line.
func (s *Store) FailedRows(ctx context.Context, importID int64, n int) ([]RowError, error) {
	rows, err := s.Pool.Query(ctx, `select line, email || ': ' || error from lead_import_rows
		where import_id = $1 and state = 'failed' order by line limit $2`, importID, n)
	if err != nil {
		return nil, fmt.Errorf("failed rows: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RowError, error) {
		var e RowError
		err := r.Scan(&e.Line, &e.Error)
		return e, err
	})
}
