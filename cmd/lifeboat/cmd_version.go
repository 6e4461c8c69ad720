package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = ""

// buildVersion says which lifeboat this is.
type buildVersion struct {
	// Version is the stamped version; else the module version the Go toolchain recorded
	// (a release for `go install ...@v1.2.3`, a pseudo-version such as
	// v0.0.0-20261123101500-1a2b3c4d5e6f+dirty for a build in a git checkout); else
	// devel-<commit> when only the commit was recorded; else "dev": a build without a
	// stamp and without VCS information (-buildvcs=false, or outside a checkout).
	Version string `json:"version"`
	// The commit the binary was built from, its time (RFC 3339) and whether the tree had
	// uncommitted changes, when the toolchain recorded them (go build -buildvcs).
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commitTime,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
}

// readVersion works out the version from the stamp and the binary's build info.
func readVersion(stamped string, info *debug.BuildInfo, ok bool) buildVersion {
	var v buildVersion
	if ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	switch {
	case stamped != "":
		v.Version = stamped
	case ok && info.Main.Version != "" && info.Main.Version != "(devel)":
		v.Version = info.Main.Version
	case v.Commit != "":
		v.Version = "devel-" + v.Commit[:min(12, len(v.Commit))]
		if v.Modified {
			v.Version += "-dirty"
		}
	default:
		v.Version = "dev"
	}
	return v
}

func currentVersion() buildVersion {
	info, ok := debug.ReadBuildInfo()
	return readVersion(version, info, ok)
}

// lifeboatVersion is the one-word version recorded in manifests and shown by serve.
func lifeboatVersion() string { return currentVersion().Version }

// String is the line `lifeboat version` prints, after "lifeboat ".
func (v buildVersion) String() string {
	s := fmt.Sprintf("%s (%s, %s/%s", v.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	switch {
	case v.Commit != "":
		s += ", commit " + v.Commit
		if v.CommitTime != "" {
			s += " of " + v.CommitTime
		}
		if v.Modified {
			s += " with uncommitted changes"
		}
	case v.Version == "dev":
		s += "; built without a version stamp or VCS information"
	}
	return s + ")"
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print lifeboat's version",
		Long: `Print lifeboat's version, the Go version and platform it was built with, and the commit
it was built from when the build recorded one.

The version is the one stamped at build time (-ldflags "-X main.version=v1.2.3", as the
Dockerfile does); without a stamp, the module version the Go toolchain recorded: a
release for "go install ...@v1.2.3", or a pseudo-version with the commit's time and
hash (v0.0.0-20261123101500-1a2b3c4d5e6f, "+dirty" for uncommitted changes) for a
"go build" in a git checkout. "dev" means neither was recorded: the binary was built
with -buildvcs=false (check "go env GOFLAGS") or outside a checkout.

Exit codes:
  0  printed
  3  bad flags or arguments`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := currentVersion()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
					buildVersion
					Go       string `json:"go"`
					Platform string `json:"platform"`
				}{v, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH})
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "lifeboat %s\n", v)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
