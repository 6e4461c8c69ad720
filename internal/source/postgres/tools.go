package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// findTool locates a PostgreSQL client program in binDir, or on PATH when binDir is "".
// serverMajor, when known, names the package to install.
func findTool(o Options, name, serverMajor string) (string, error) {
	where := o.BinDir
	if o.BinDir == "" {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		where = "PATH"
	} else {
		p := filepath.Join(o.BinDir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	pkg := "postgresql-client"
	if serverMajor != "" {
		pkg += "-" + serverMajor
	}
	return "", fmt.Errorf("%s not found in %s: install %s (Debian/Ubuntu) or set %s.binDir", name, where, pkg, o.field())
}

// siblingTool finds program name in the directory of another client program, of: with
// binDir unset, PATH could give a psql of another release than the pg_restore it found.
// why says what the program is needed for; major is of's major release, "" if unknown.
func siblingTool(o Options, of, name, major, why string) (string, error) {
	dir := filepath.Dir(of)
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return p, nil
	}
	pkg := "postgresql-client"
	if major != "" {
		pkg += "-" + major
	}
	return "", fmt.Errorf("%s not found in %s, next to %s: %s; install %s (Debian/Ubuntu) or point %s.binDir at a directory with both",
		name, dir, filepath.Base(of), why, pkg, o.field())
}

// toolVersion runs `<path> --version`.
func toolVersion(ctx context.Context, path string) (Version, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := newCommand(ctx, path, "--version").Output()
	if err != nil {
		return Version{}, fmt.Errorf("%s --version: %w", path, err)
	}
	v, err := ParseVersion(string(out))
	if err != nil {
		return Version{}, fmt.Errorf("%s --version: %w", path, err)
	}
	return v, nil
}

// dumpTool finds pg_dump or pg_dumpall and refuses one older than the server: it cannot
// read a newer server's catalogs (it would refuse after connecting, with a message that
// does not say what to install).
func dumpTool(ctx context.Context, o Options, name string, srv Version) (string, Version, error) {
	path, err := findTool(o, name, srv.Major())
	if err != nil {
		return "", Version{}, err
	}
	v, err := toolVersion(ctx, path)
	if err != nil {
		return "", Version{}, err
	}
	if v.olderMajor(srv) {
		return "", Version{}, fmt.Errorf("%s %s is older than the server (%s): %s cannot dump a newer server; install postgresql-client-%s or point %s.binDir at its bin directory",
			name, v, srv, name, srv.Major(), o.field())
	}
	return path, v, nil
}
