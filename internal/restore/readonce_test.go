package restore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/holdback"
	"github.com/lifeboat-backup/lifeboat/internal/source"
)

// consumer is a kind's Run reduced to how it reads: it reads want bytes of the backup
// (all of it when want < 0) and fails when the stream does.
type consumer struct {
	want int
	got  []byte
}

func (c *consumer) Prepare(context.Context) error               { return nil }
func (c *consumer) Check(context.Context, *source.Backup) error { return nil }
func (c *consumer) ReadOnce() bool                              { return true }
func (c *consumer) Run(ctx context.Context, b *source.Backup) ([]source.Check, error) {
	body, err := b.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	r := io.Reader(body)
	if c.want >= 0 {
		r = io.LimitReader(body, int64(c.want))
	}
	c.got, err = io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return []source.Check{source.NewCheck("restore", true, "")}, nil
}

var errAtEnd = errors.New("checksum mismatch")

// endsWith is a backup stream: data, then err (nil: io.EOF).
type endsWith struct {
	r   io.Reader
	err error
}

func (e *endsWith) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) && e.err != nil {
		err = e.err
	}
	return n, err
}

func TestRunOnce(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	tests := []struct {
		name      string
		want      int   // bytes the consumer reads, -1 all
		atEnd     error // the stream's verdict
		openErr   error
		cancel    bool
		wantErr   string // in err
		wantBad   bool
		maxServed int // the most the consumer may have got
	}{
		{name: "good, read whole", want: -1, maxServed: len(data)},
		{name: "good, consumer stops early: the rest is checked", want: 1000, maxServed: 1000},
		{name: "bad at its end: the end is never served", want: -1, atEnd: errAtEnd, wantBad: true, maxServed: len(data) - holdback.Size},
		{name: "bad at its end, consumer stopped early: restored but reported", want: 1000, atEnd: errAtEnd, wantErr: "the rest of it, which the restore did not read, does not verify", maxServed: 1000},
		{name: "cannot open: next copy", openErr: errors.New("no such object"), wantBad: true},
		{name: "interrupted: no fallback", want: -1, atEnd: context.Canceled, cancel: true, wantErr: "canceled", maxServed: len(data) - holdback.Size},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			rs := &consumer{want: tc.want}
			b := &source.Backup{Label: "backup b1 from d", ID: "b1", Manifest: &catalog.Manifest{ID: "b1", SHA256: "…"},
				Open: func(context.Context) (io.ReadCloser, error) {
					if tc.openErr != nil {
						return nil, tc.openErr
					}
					return io.NopCloser(&endsWith{r: bytes.NewReader(data), err: tc.atEnd}), nil
				}}
			var out strings.Builder
			at := &attempts{req: Request{Restore: rs, Env: source.Env{Out: &out}}, r: &Report{}}
			_, err, bad := at.runOnce(ctx, &candidate{backup: b})
			if (bad != nil) != tc.wantBad {
				t.Fatalf("bad = %v, want bad %v (err %v)", bad, tc.wantBad, err)
			}
			if bad != nil && !strings.HasPrefix(bad.Error(), "backup b1 from d: ") {
				t.Errorf("bad does not name the copy: %v", bad)
			}
			switch {
			case tc.wantErr == "" && !tc.wantBad && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if len(rs.got) > tc.maxServed || !bytes.Equal(rs.got, data[:len(rs.got)]) {
				t.Fatalf("the consumer got %d bytes, want at most %d, in order", len(rs.got), tc.maxServed)
			}
			if verified := strings.Contains(out.String(), "verified: the whole backup matched"); verified != (err == nil && bad == nil) {
				t.Errorf("printed %q for err %v, bad %v", out.String(), err, bad)
			}
		})
	}
}
