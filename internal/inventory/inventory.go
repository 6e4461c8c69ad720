// Package inventory is the one listing of a source's backups across its destinations: the
// committed copies, the damaged ones with the reason, and the destinations that could not
// be listed. Every command and the server look at backups through it, so none of them can
// drop a damaged copy or a silent destination on the floor.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/lifeboat-backup/lifeboat/internal/pipeline"
	"github.com/lifeboat-backup/lifeboat/internal/store"
)

// Opener opens configured destinations; *app.App is one. Tests pass real file stores in
// temporary directories.
type Opener interface {
	// DestinationNames returns destination only, or every destination of source.
	DestinationNames(source, only string) ([]string, error)
	// Destination opens one destination; create is false here, so an unmounted
	// directory is an error and not an empty destination.
	Destination(name string, create bool) (pipeline.Destination, error)
}

// Truster is an Opener whose readers check manifest signatures (*app.App is one): Take
// then lists through its Trust, so a copy it refuses is a Damaged one, with the reason.
type Truster interface {
	Trust() (*catalog.Trust, error)
}

// Copy is one committed copy of a backup in one destination.
type Copy struct {
	Dest     pipeline.Destination
	Manifest *catalog.Manifest
}

// Damaged is a copy whose manifest a listing could not use: it does not decode, names
// another backup, its data object is missing or of another size, or its signature is
// refused (catalog.ErrUntrusted: unsigned, an unknown key, a bad signature). It is never
// restored from, never pruned, and always reported.
type Damaged struct {
	ID          string // the backup directory's name
	Destination string
	Key         string // the manifest's key
	Err         error
}

// Reason says what is wrong with the copy.
func (d Damaged) Reason() string { return d.Err.Error() }

// Missing is a destination that should hold a backup and does not (see Inventory.Missing).
type Missing struct {
	ID          string
	Destination string
	Reason      string
}

// Listing is what one destination holds of the source.
type Listing struct {
	Name    string
	Dest    pipeline.Destination // Store is nil when the destination could not be opened
	Backups []catalog.Backup     // committed, newest first
	Damaged []Damaged
	// Err is why the destination could not be opened or listed; Backups and Damaged are
	// empty then, and the destination may hold anything.
	Err error
}

// Inventory is one look at a source's backups in its destinations (or one of them).
type Inventory struct {
	Source   string
	Only     string // the one destination looked at, "" for all of the source's
	Now      time.Time
	Listings []Listing
}

// Take lists source in every destination it uses, or only in destination only. A
// destination that cannot be opened or listed has Err set and the others are listed
// still; the error is for a bad request (an unknown source or destination).
func Take(ctx context.Context, o Opener, source, only string, now time.Time) (*Inventory, error) {
	names, err := o.DestinationNames(source, only)
	if err != nil {
		return nil, err
	}
	var trust *catalog.Trust
	if t, ok := o.(Truster); ok {
		if trust, err = t.Trust(); err != nil {
			return nil, err
		}
	}
	inv := &Inventory{Source: source, Only: only, Now: now}
	for _, name := range names {
		d, err := o.Destination(name, false)
		if err != nil {
			d.Name = name
			inv.Listings = append(inv.Listings, Listing{Name: name, Dest: d, Err: fmt.Errorf("could not search %w", err)})
			continue
		}
		inv.Listings = append(inv.Listings, List(ctx, d, source, trust))
	}
	return inv, nil
}

// List lists source in one opened destination; the copies trust refuses are Damaged (nil
// trust: none is).
func List(ctx context.Context, d pipeline.Destination, source string, trust *catalog.Trust) Listing {
	l := Listing{Name: d.Name, Dest: d}
	if d.Store == nil {
		l.Err = fmt.Errorf("could not search destination %s (%s): %w", d.Name, d.Where, d.OpenErr)
		return l
	}
	backups, problems, err := catalog.ListTrusted(ctx, d.Store, source, trust)
	if err != nil {
		l.Err = fmt.Errorf("could not list destination %s (%s): %w", d.Name, d.Store, err)
		return l
	}
	l.Backups = backups
	for _, p := range problems {
		l.Damaged = append(l.Damaged, Damaged{ID: p.ID, Destination: d.Name, Key: p.Key, Err: p.Err})
	}
	return l
}

// Unlisted is why each destination that could not be searched was not: it may hold a
// newer backup, or the only good copy.
func (inv *Inventory) Unlisted() []error {
	var out []error
	for _, l := range inv.Listings {
		if l.Err != nil {
			out = append(out, l.Err)
		}
	}
	return out
}

// Candidates returns every copy a restore of ref may use, in the order to try them: for
// an id, its copies in destination order; for "latest", every backup, newest first, each
// with its copies in destination order. The error is set only when nothing was found,
// and then also names the destinations that could not be searched.
func (inv *Inventory) Candidates(ref string) ([]Copy, error) {
	var found []Copy
	for _, l := range inv.Listings {
		for _, b := range l.Backups {
			if ref == "latest" || b.ID == ref {
				found = append(found, Copy{Dest: l.Dest, Manifest: b.Manifest})
			}
		}
	}
	// Newest first the way catalog.List orders (ids only have whole seconds); the stable
	// sort keeps destination order among the copies of one backup.
	slices.SortStableFunc(found, func(x, y Copy) int {
		if c := y.Manifest.Created.Compare(x.Manifest.Created); c != 0 {
			return c
		}
		return strings.Compare(y.Manifest.ID, x.Manifest.ID)
	})
	if len(found) == 0 {
		where := "any destination of " + inv.Source
		if inv.Only != "" {
			where = "destination " + inv.Only
		}
		errs := []error{fmt.Errorf("backup %q not found in %s: %w (see `lifeboat list %s`)", ref, where, store.ErrNotFound, inv.Source)}
		if ref != "latest" {
			// The id exists but every copy is damaged or refused: say why, not just "not found".
			errs = errs[:0]
			for _, d := range inv.AllDamaged() {
				if d.ID == ref {
					errs = append(errs, fmt.Errorf("backup %s in %s is not used: %w", ref, d.Destination, d.Err))
				}
			}
			if len(errs) == 0 {
				errs = append(errs, fmt.Errorf("backup %q not found in %s: %w (see `lifeboat list %s`)", ref, where, store.ErrNotFound, inv.Source))
			}
		} else if d := inv.AllDamaged(); len(d) > 0 {
			for _, x := range d {
				errs = append(errs, fmt.Errorf("backup %s in %s is not used: %w", x.ID, x.Destination, x.Err))
			}
		}
		errs = append(errs, inv.Unlisted()...)
		return nil, errors.Join(errs...)
	}
	return found, nil
}

// Copies returns the copies of ref: of the backup with that id, or for "latest" of the
// newest backup in any destination searched.
func (inv *Inventory) Copies(ref string) ([]Copy, error) {
	all, err := inv.Candidates(ref)
	if err != nil || ref != "latest" {
		return all, err
	}
	var found []Copy
	for _, c := range all {
		if c.Manifest.ID == all[0].Manifest.ID {
			found = append(found, c)
		}
	}
	return found, nil
}

// AllDamaged returns every damaged copy, in destination order.
func (inv *Inventory) AllDamaged() []Damaged {
	var out []Damaged
	for _, l := range inv.Listings {
		out = append(out, l.Damaged...)
	}
	return out
}

// Damaged returns the damaged copies a look at ref, resolved to backup id, must report:
// those of id and, for "latest", those of any newer backup, since a damaged copy of what
// would be the newest backup is why an older one is "latest" now.
func (inv *Inventory) Damaged(ref, id string) []Damaged {
	_, created, err := catalog.ParseBackupID(id)
	var out []Damaged
	for _, d := range inv.AllDamaged() {
		if d.ID == id {
			out = append(out, d)
			continue
		}
		if ref != "latest" || err != nil {
			continue
		}
		if src, t, err := catalog.ParseBackupID(d.ID); err == nil && src == inv.Source && t.After(created) {
			out = append(out, d)
		}
	}
	return out
}

// Missing returns the destinations that should hold backup id and do not. Destination D
// should hold backup X when all of these are true:
//   - D was listed (one that was not is reported as unlisted instead),
//   - D holds no copy of X, committed or damaged (a damaged one is reported as damaged),
//   - D holds some other backup created at or before X, so D was in use when X was taken
//     (a destination added later is not missing the backups from before it), and
//   - D's retention, planned at the inventory's Now over D's backups plus X, keeps X
//     (a backup that retention pruned from D is not missing there).
//
// Nothing is missing when no destination holds a committed copy of X.
func (inv *Inventory) Missing(id string) []Missing {
	var x *catalog.Backup
	var holder string
	for _, l := range inv.Listings {
		if i := slices.IndexFunc(l.Backups, func(b catalog.Backup) bool { return b.ID == id }); i >= 0 {
			x, holder = &l.Backups[i], l.Name
			break
		}
	}
	if x == nil {
		return nil
	}
	var out []Missing
	for _, l := range inv.Listings {
		if l.Err != nil || l.holds(id) || !l.inUseAt(*x) || !l.wouldKeep(inv.Now, *x) {
			continue
		}
		out = append(out, Missing{ID: id, Destination: l.Name, Reason: fmt.Sprintf(
			"not in this destination, which holds older backups of %s and whose retention (%s) would keep it; "+
				"copy it with `lifeboat mirror --from %s --to %s %s`", inv.Source, l.Dest.Retention, holder, l.Name, inv.Source)})
	}
	return out
}

func (l Listing) holds(id string) bool {
	return slices.ContainsFunc(l.Backups, func(b catalog.Backup) bool { return b.ID == id }) ||
		slices.ContainsFunc(l.Damaged, func(d Damaged) bool { return d.ID == id })
}

func (l Listing) inUseAt(x catalog.Backup) bool {
	return slices.ContainsFunc(l.Backups, func(b catalog.Backup) bool { return !b.Created.After(x.Created) })
}

func (l Listing) wouldKeep(now time.Time, x catalog.Backup) bool {
	for _, d := range catalog.Plan(now, append(slices.Clone(l.Backups), x), l.Dest.Retention) {
		if d.Backup.ID == x.ID {
			return d.Keep
		}
	}
	return false
}

// Newest is the newest committed backup in the listing, nil when there is none.
func (l Listing) Newest() *catalog.Backup {
	if len(l.Backups) == 0 {
		return nil
	}
	return &l.Backups[0]
}

// TakeAll takes the inventory of each source, in the order given.
func TakeAll(ctx context.Context, o Opener, sources []string, only string, now time.Time) ([]*Inventory, error) {
	var out []*Inventory
	for _, src := range sources {
		inv, err := Take(ctx, o, src, only, now)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, nil
}

// Plan is what the destination's retention decides at now over its committed backups
// (damaged copies are never planned, so never pruned).
func (l Listing) Plan(now time.Time) []catalog.Decision {
	return catalog.Plan(now, l.Backups, l.Dest.Retention)
}
