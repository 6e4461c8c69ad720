package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Bolt is a Store in a bbolt file: one bucket per source under "runs", keyed by run id,
// each value the run as JSON (readable with `bbolt get` in a pinch).
type Bolt struct {
	db    *bolt.DB
	limit int
}

var (
	runsBucket = []byte("runs")
	metaBucket = []byte("meta")
	versionKey = []byte("version")
)

const boltFormat = "1"

// OpenBolt opens (creating it and its directory) the history file at path, keeping up to
// limit runs per source. bbolt locks the file, so a second `lifeboat serve` on the same
// path fails here instead of corrupting it.
func OpenBolt(path string, limit int) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("history directory for %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("history file %s is locked: is another lifeboat serve using it? "+
			"Stop it or set a different server.historyPath", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open history file %s: %w; check server.historyPath and that the "+
			"directory is writable", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(runsBucket); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		switch v := meta.Get(versionKey); {
		case v == nil:
			return meta.Put(versionKey, []byte(boltFormat))
		case string(v) != boltFormat:
			return fmt.Errorf("it has format %q and this lifeboat reads %q; move it aside to start a new history", v, boltFormat)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("history file %s: %w", path, err)
	}
	return &Bolt{db: db, limit: limit}, nil
}

func (b *Bolt) Put(_ context.Context, r Run) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode run %s: %w", r.ID, err)
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.Bucket(runsBucket).CreateBucketIfNotExists([]byte(r.Source))
		if err != nil {
			return err
		}
		if err := bk.Put([]byte(r.ID), data); err != nil {
			return fmt.Errorf("record run %s: %w", r.ID, err)
		}
		runs, err := readAll(bk)
		if err != nil {
			return err
		}
		sortNewestFirst(runs)
		for _, d := range overCap(runs, b.limit) {
			if err := bk.Delete([]byte(d.ID)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *Bolt) Get(_ context.Context, id string) (Run, error) {
	source, _, err := catalog.ParseBackupID(id)
	if err != nil {
		return Run{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var r Run
	err = b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(runsBucket).Bucket([]byte(source))
		var data []byte
		if bk != nil {
			data = bk.Get([]byte(id))
		}
		if data == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return decode(data, &r)
	})
	return r, err
}

func (b *Bolt) List(_ context.Context, source string, limit int) ([]Run, error) {
	var out []Run
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(runsBucket).ForEachBucket(func(name []byte) error {
			if source != "" && string(name) != source {
				return nil
			}
			runs, err := readAll(tx.Bucket(runsBucket).Bucket(name))
			out = append(out, runs...)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	sortNewestFirst(out)
	return truncate(out, limit), nil
}

func (b *Bolt) Close() error { return b.db.Close() }

func readAll(bk *bolt.Bucket) ([]Run, error) {
	var runs []Run
	err := bk.ForEach(func(_, v []byte) error {
		var r Run
		if err := decode(v, &r); err != nil {
			return err
		}
		runs = append(runs, r)
		return nil
	})
	return runs, err
}

func decode(data []byte, r *Run) error {
	if err := json.Unmarshal(data, r); err != nil {
		return fmt.Errorf("decode history record: %w; the history file is damaged, move it aside", err)
	}
	return nil
}
