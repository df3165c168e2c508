package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/batonhq/baton/activities"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/domain"
	"github.com/batonhq/baton/internal/store"
	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/activity"
)

// ImportColumns are the columns a lead CSV may have; campaign and email are
// required.
var ImportColumns = []string{"campaign", "email", "name", "company", "country", "score", "source", "phone"}

// ErrInterrupted is returned by Stage when StageOptions.StopAfterLine stops
// it (tests simulate a crash with it).
var ErrInterrupted = errors.New("import interrupted")

// StageOptions tune Stage.
type StageOptions struct {
	Progress      io.Writer // where the progress bar goes (nil: none)
	ChunkRows     int       // rows committed per transaction (default 2000)
	StopAfterLine int       // stop after the chunk that commits this line (0: never)
}

// StageReport says what one Stage run did.
type StageReport struct {
	Import        store.Import
	AlreadyStaged bool // the file was staged by an earlier run: nothing to do
	ResumedAfter  int  // the line an interrupted earlier run had committed (0: a fresh start)
	Rows          int  // data rows read in this run
	New           int  // rows staged in this run
	Duplicates    int  // rows whose lead was already staged for the campaign
	Bad           []store.RowError
	Elapsed       time.Duration
}

// RowsPerSecond is this run's throughput.
func (r StageReport) RowsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Elapsed.Seconds()
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readHeader returns the index of each known column, or an error naming
// the unknown and missing ones.
func readHeader(path string, rec []string) (map[string]int, error) {
	idx := map[string]int{}
	var unknown, dup []string
	for i, h := range rec {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range ImportColumns {
			known = known || c == h
		}
		if !known {
			unknown = append(unknown, strconv.Quote(h))
		} else if _, seen := idx[h]; seen {
			dup = append(dup, h)
		} else {
			idx[h] = i
		}
	}
	var problems []string
	if len(unknown) > 0 {
		problems = append(problems, "unknown column(s) "+strings.Join(unknown, ", "))
	}
	if len(dup) > 0 {
		problems = append(problems, "repeated column(s) "+strings.Join(dup, ", "))
	}
	for _, req := range []string{"campaign", "email"} {
		if _, ok := idx[req]; !ok {
			problems = append(problems, "missing column "+req)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s:1: %s; the columns are %s; nothing was imported", path, strings.Join(problems, "; "), strings.Join(ImportColumns, ","))
	}
	return idx, nil
}

func fileHash(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Stage streams a lead CSV into PostgreSQL: each valid row becomes a staged
// row (deduplicated on campaign and lead id across every import), each bad
// row an error with its line. It commits every ChunkRows rows with the last
// line as a checkpoint, so a run after an interruption goes on from there,
// and a file already staged is not read again. Lead workflows are started
// later by the drain (ImportDrainWorkflow).
func (s *Service) Stage(ctx context.Context, path string, opt StageOptions) (StageReport, error) {
	var rep StageReport
	start := time.Now()
	if opt.ChunkRows <= 0 {
		opt.ChunkRows = 2000
	}
	f, err := os.Open(path)
	if err != nil {
		return rep, err
	}
	defer f.Close()
	cr := &countingReader{r: f}
	r := csv.NewReader(cr)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return rep, fmt.Errorf("%s:1: cannot read the header row: %w", path, err)
	}
	cols, err := readHeader(path, head)
	if err != nil {
		return rep, err
	}
	sha, size, err := fileHash(path)
	if err != nil {
		return rep, err
	}
	im, err := s.Store.BeginImport(ctx, sha, filepath.Base(path))
	if err != nil {
		return rep, err
	}
	rep.Import = im
	if im.StagedDone {
		rep.AlreadyStaged = true
		return rep, nil
	}
	locked, unlock, err := s.Store.LockImport(ctx, im.ID)
	if err != nil {
		return rep, err
	}
	if !locked {
		return rep, fmt.Errorf("%s: another run is staging this file right now (import %d); nothing was changed", path, im.ID)
	}
	defer unlock()
	// Read the checkpoint again under the lock: a run that just finished moved it.
	if im, err = s.Store.ImportByHash(ctx, sha); err != nil {
		return rep, err
	}
	rep.Import = im
	if im.StagedDone {
		rep.AlreadyStaged = true
		return rep, nil
	}
	if im.LastLine > 1 {
		rep.ResumedAfter = im.LastLine
	}

	var bar *progressbar.ProgressBar
	if opt.Progress != nil {
		bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(opt.Progress), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription("staging"), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
	}
	live := map[string]string{} // campaign -> why it is not live ("" when live)
	var rows []store.StagedRow
	var bad []store.RowError
	lastLine := 0
	commit := func(done bool) error {
		n, err := s.Store.StageChunk(ctx, im.ID, rows, bad, lastLine, done)
		if err != nil {
			return err
		}
		rep.New += n
		rep.Duplicates += len(rows) - n
		rep.Bad = append(rep.Bad, bad...)
		rows, bad = rows[:0], bad[:0]
		if bar != nil {
			el := time.Since(start).Seconds()
			bar.Describe(fmt.Sprintf("staging: %d rows, %.0f rows/s", rep.Rows, float64(rep.Rows)/max(el, 0.001)))
			bar.Set64(cr.n) //nolint:errcheck
		}
		return nil
	}
	field := func(rec []string, name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	for {
		if err := ctx.Err(); err != nil {
			return rep, err // the last committed chunk is the checkpoint
		}
		rec, rerr := r.Read()
		if rerr == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(rerr, &pe) {
			line = pe.StartLine
		} else if rerr != nil {
			return rep, fmt.Errorf("%s: %w", path, rerr)
		}
		if line <= im.LastLine {
			continue // committed by an earlier run
		}
		rep.Rows++
		lastLine = line
		if rerr != nil {
			bad = append(bad, store.RowError{Line: line, Error: pe.Err.Error()})
		} else if row, msg := s.stageRow(ctx, rec, len(head), field, live); msg != "" {
			bad = append(bad, store.RowError{Line: line, Error: msg})
		} else {
			row.Line = line
			rows = append(rows, row)
		}
		if len(rows)+len(bad) >= opt.ChunkRows {
			if err := commit(false); err != nil {
				return rep, err
			}
			if opt.StopAfterLine > 0 && lastLine >= opt.StopAfterLine {
				return rep, ErrInterrupted
			}
		}
	}
	if err := commit(true); err != nil {
		return rep, err
	}
	if bar != nil {
		bar.Finish() //nolint:errcheck
	}
	rep.Elapsed = time.Since(start)
	rep.Import, err = s.Store.ImportByHash(ctx, sha)
	return rep, err
}

// stageRow validates one data row; msg names every bad field.
func (s *Service) stageRow(ctx context.Context, rec []string, width int, field func([]string, string) string, live map[string]string) (store.StagedRow, string) {
	if len(rec) != width {
		return store.StagedRow{}, fmt.Sprintf("has %d fields, the header has %d", len(rec), width)
	}
	req := domain.LeadRequest{Campaign: field(rec, "campaign"), Email: field(rec, "email"), Name: field(rec, "name"),
		Company: field(rec, "company"), Country: field(rec, "country"), Source: field(rec, "source"), Phone: field(rec, "phone")}
	var fe domain.FieldErrors
	if sc := strings.TrimSpace(field(rec, "score")); sc != "" {
		n, err := strconv.Atoi(sc)
		if err != nil {
			fe.Add("score", "%q is not a whole number", sc)
		} else {
			req.Score = &n
		}
	}
	norm, err := req.Normalize()
	var nfe domain.FieldErrors
	if errors.As(err, &nfe) {
		fe = append(fe, nfe...)
	} else if err != nil {
		return store.StagedRow{}, err.Error()
	}
	if len(fe) == 0 {
		why, seen := live[norm.Campaign]
		if !seen {
			ok, w, err := s.Store.CampaignLive(ctx, norm.Campaign)
			if err != nil {
				return store.StagedRow{}, "campaign: " + err.Error()
			}
			if ok {
				w = ""
			}
			live[norm.Campaign], why = w, w
		}
		if why != "" {
			fe.Add("campaign", "%s", why)
		}
	}
	if len(fe) > 0 {
		sort.SliceStable(fe, func(i, j int) bool { return fe[i].Field < fe[j].Field })
		parts := make([]string, len(fe))
		for i, e := range fe {
			parts[i] = e.Field + ": " + e.Detail
		}
		return store.StagedRow{}, strings.Join(parts, "; ")
	}
	if norm.Source == "" {
		norm.Source = "import"
	}
	return store.StagedRow{LeadID: domain.LeadID(norm.Email), Campaign: norm.Campaign, Email: norm.Email, Name: norm.Name,
		Company: norm.Company, Country: norm.Country, Source: norm.Source, Score: norm.Score, Phone: norm.Phone}, ""
}

// WriteErrors writes an import's bad rows as CSV (line,error).
func WriteErrors(path string, errs []store.RowError) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"line", "error"}) //nolint:errcheck
	for _, e := range errs {
		w.Write([]string{strconv.Itoa(e.Line), e.Error}) //nolint:errcheck
	}
	w.Flush()
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// DrainBatch starts the lead workflows of up to in.Rows pending rows of an
// import, in.Parallel at a time, and records each row's outcome. A row the
// intake refuses (the campaign ended since) is failed with the reason; any
// other error leaves the rest pending and is returned, for a retry.
func (s *Service) DrainBatch(ctx context.Context, in activities.DrainBatchInput) (activities.DrainBatchResult, error) {
	var out activities.DrainBatchResult
	rows, err := s.Store.PendingRows(ctx, in.ImportID, max(in.Rows, 1))
	if err != nil {
		return out, err
	}
	par := max(in.Parallel, 1)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	done := make([]bool, len(rows))
	for i := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			r := &rows[i]
			req := domain.LeadRequest{Campaign: r.Campaign, Email: r.Email, Name: r.Name, Company: r.Company, Country: r.Country, Score: r.Score, Source: r.Source, Phone: r.Phone}
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			_, err := s.Submit(sctx, req, "import:"+r.Campaign)
			var fe domain.FieldErrors
			mu.Lock()
			defer mu.Unlock()
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, r.Line)
			}
			switch {
			case errors.As(err, &fe):
				r.Error, done[i] = fe.Error(), true
			case err != nil:
				if firstErr == nil {
					firstErr = fmt.Errorf("line %d (%s): %w", r.Line, r.LeadID, err)
				}
			default:
				done[i] = true
			}
		}(i)
	}
	wg.Wait()
	var finished []store.StagedRow
	for i, r := range rows {
		if done[i] {
			finished = append(finished, r)
			if r.Error != "" {
				out.Failed++
			} else {
				out.Started++
			}
		}
	}
	if err := s.Store.MarkRows(ctx, in.ImportID, finished); err != nil {
		return out, err
	}
	im, err := s.Store.ImportByID(ctx, in.ImportID)
	if err != nil {
		return out, err
	}
	out.Remaining = im.Pending
	return out, firstErr
}
