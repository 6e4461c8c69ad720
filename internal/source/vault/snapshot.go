package vault

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// SnapshotInfo is what a raft snapshot says about itself (from its meta.json).
type SnapshotInfo struct {
	ID      string `json:"ID"`
	Index   uint64 `json:"Index"`
	Term    uint64 `json:"Term"`
	Version int    `json:"Version"`
	Size    int64  `json:"Size"` // size of state.bin as recorded by raft
	// StateBytes is the size of state.bin as read from the archive.
	StateBytes int64 `json:"-"`
	// Configuration is the raft membership the snapshot was taken with.
	Configuration struct {
		Servers []struct {
			ID string `json:"ID"`
		} `json:"Servers"`
	} `json:"Configuration"`
}

// ServerIDs are the raft node ids of the snapshot's configuration, sorted.
func (i SnapshotInfo) ServerIDs() []string {
	var ids []string
	for _, s := range i.Configuration.Servers {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

// maxSmallFile bounds the in-memory files of the archive (meta.json, SHA256SUMS*): a
// corrupt archive must not make lifeboat allocate gigabytes.
const maxSmallFile = 1 << 20

// maxMembers bounds the files of the archive, whose sums are kept in memory: a snapshot
// holds four, and a crafted one of millions of empty files (a few bytes each, gzip
// compresses tar headers over a thousandfold) must not grow the map without end.
const maxMembers = 64

// ErrCorruptSnapshot is wrapped by every error about the snapshot's content, so callers
// can tell a bad snapshot from a failed transfer.
var ErrCorruptSnapshot = errors.New("corrupt raft snapshot")

// InspectSnapshot reads a whole raft snapshot archive (gzip of a tar holding meta.json,
// state.bin, SHA256SUMS and SHA256SUMS.sealed) and checks it: the gzip trailer, the tar
// structure, each file's sha256 against SHA256SUMS, and that the sealed sums exist. An
// empty, truncated or corrupt snapshot must fail here rather than be stored as a good
// backup (hashicorp/vault#13234, hashicorp/vault#9650). It always reads r to EOF on success.
func InspectSnapshot(r io.Reader) (SnapshotInfo, error) {
	var info SnapshotInfo
	br := bufio.NewReader(r)
	magic, err := br.Peek(2)
	if err != nil {
		if errors.Is(err, io.EOF) && len(magic) == 0 {
			return info, fmt.Errorf("%w: the snapshot is empty (a standby or a proxy may have answered instead of the raft leader)", ErrCorruptSnapshot)
		}
		if errors.Is(err, io.EOF) {
			return info, fmt.Errorf("%w: the snapshot is only %d byte long: truncated, or not a raft snapshot", ErrCorruptSnapshot, len(magic))
		}
		return info, fmt.Errorf("reading the snapshot stream: %w", err)
	}
	if magic[0] != 0x1f || magic[1] != 0x8b {
		return info, fmt.Errorf("%w: not gzip data (starts with %q); this is not a raft snapshot", ErrCorruptSnapshot, printable(magic))
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return info, fmt.Errorf("%w: gzip header: %w", ErrCorruptSnapshot, err)
	}
	zr.Multistream(false)
	sums := map[string]string{}
	var want []byte
	var sealed int
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return info, truncated("reading the tar stream", err)
		}
		if len(sums) == maxMembers {
			return info, fmt.Errorf("%w: more than %d files in the archive (a raft snapshot has four)", ErrCorruptSnapshot, maxMembers)
		}
		if _, dup := sums[hdr.Name]; dup {
			// Vault's reader would feed both copies into the restore: no checksum here
			// could vouch for what it restores.
			return info, fmt.Errorf("%w: %s appears twice in the archive", ErrCorruptSnapshot, hdr.Name)
		}
		switch hdr.Name {
		case "meta.json", "SHA256SUMS", "SHA256SUMS.sealed":
			data, err := io.ReadAll(io.LimitReader(tr, maxSmallFile+1))
			if err != nil {
				return info, truncated("reading "+hdr.Name, err)
			}
			if len(data) > maxSmallFile {
				return info, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorruptSnapshot, hdr.Name, maxSmallFile)
			}
			sum := sha256.Sum256(data)
			sums[hdr.Name] = hex.EncodeToString(sum[:])
			switch hdr.Name {
			case "meta.json":
				if err := json.Unmarshal(data, &info); err != nil {
					return info, fmt.Errorf("%w: meta.json: %w", ErrCorruptSnapshot, err)
				}
			case "SHA256SUMS":
				want = data
			case "SHA256SUMS.sealed":
				sealed = len(data)
			}
		case "state.bin":
			h := sha256.New()
			n, err := io.Copy(h, tr)
			if err != nil {
				return info, truncated("reading state.bin", err)
			}
			info.StateBytes = n
			sums[hdr.Name] = hex.EncodeToString(h.Sum(nil))
		default:
			// Unknown members are tolerated (newer formats may add some) but must be read,
			// and may be listed in SHA256SUMS.
			h := sha256.New()
			if _, err := io.Copy(h, tr); err != nil {
				return info, truncated("reading "+hdr.Name, err)
			}
			sums[hdr.Name] = hex.EncodeToString(h.Sum(nil))
		}
	}
	// Drain to the gzip trailer: only there are the CRC and length checked.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return info, truncated("reading the gzip trailer", err)
	}
	if err := checkSums(want, sums); err != nil {
		return info, err
	}
	if sealed == 0 {
		return info, fmt.Errorf("%w: SHA256SUMS.sealed is missing or empty; the server cannot verify this snapshot on restore", ErrCorruptSnapshot)
	}
	// Anything after the gzip member is not part of a snapshot.
	if n, err := io.Copy(io.Discard, br); err != nil {
		return info, fmt.Errorf("reading past the end of the snapshot archive: %w", err)
	} else if n > 0 {
		return info, fmt.Errorf("%w: %d unexpected bytes after the end of the archive", ErrCorruptSnapshot, n)
	}
	return info, nil
}

func checkSums(want []byte, got map[string]string) error {
	if want == nil {
		return fmt.Errorf("%w: SHA256SUMS is missing", ErrCorruptSnapshot)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		sum, name, ok := strings.Cut(strings.TrimSpace(line), "  ")
		if !ok {
			return fmt.Errorf("%w: malformed SHA256SUMS line %q", ErrCorruptSnapshot, line)
		}
		actual, present := got[name]
		if !present {
			return fmt.Errorf("%w: %s is listed in SHA256SUMS but missing from the archive", ErrCorruptSnapshot, name)
		}
		if !strings.EqualFold(actual, sum) {
			return fmt.Errorf("%w: %s has sha256 %s, SHA256SUMS says %s", ErrCorruptSnapshot, name, actual, sum)
		}
		listed[name] = true
	}
	for _, required := range []string{"meta.json", "state.bin"} {
		if _, ok := got[required]; !ok {
			return fmt.Errorf("%w: %s is missing from the archive", ErrCorruptSnapshot, required)
		}
		// A sum file that skips state.bin would let any data through.
		if !listed[required] {
			return fmt.Errorf("%w: SHA256SUMS does not list %s, so its content cannot be checked", ErrCorruptSnapshot, required)
		}
	}
	return nil
}

func truncated(what string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: truncated while %s: the snapshot stream ended early", ErrCorruptSnapshot, what)
	}
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, tar.ErrHeader) || errors.As(err, &corrupt) {
		return fmt.Errorf("%w: damaged data while %s: %w", ErrCorruptSnapshot, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func printable(b []byte) string {
	return string(bytes.Map(func(r rune) rune {
		if r < 32 || r > 126 {
			return '.'
		}
		return r
	}, b))
}
