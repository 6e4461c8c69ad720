package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

type verifyOptions struct {
	source       string
	destination  string
	identityFile string
}

func newVerifyCmd() *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify <backup-id|latest>",
		Short: "Re-read a backup and check its checksum and contents",
		Long: `Re-read a backup from every destination holding it (or one, with --destination): check
the stored object's size and sha256 against the manifest, decrypt and decompress it, and
check the artifact itself (a raft snapshot's own SHA256SUMS and sealed sums).

Extras stored with the backup (e.g. a PostgreSQL backup's globals.sql) are read and checked
the same way. A destination that cannot be opened or listed is reported as NOT CHECKED:
for "latest" it may hold a newer backup.

Copies that cannot be read at all are never skipped silently:
  DAMAGED  the copy's manifest is unreadable or names another backup, or its data
           object is missing or of another size than the manifest records (truncated or
           replaced). For "latest", damaged copies of newer backups are reported too.
  MISSING  a destination should hold the backup and does not: it was listed, it holds
           an older backup of the source (so it was in use when this one was taken), and
           its retention policy would keep this backup today. A destination added
           later, or whose retention has pruned the backup, is not missing it.
A copy that failed, is damaged or missing sends the config's damaged-copy notifications
(docs/notifications.md); they never change the exit code.

Exit codes:
  0  every copy verified, in every destination searched
  1  no copy verified
  2  some copies failed verification, are damaged or missing, or a destination could
     not be listed
  3  bad flags, arguments or configuration`,
		Example: `  lifeboat verify latest
  lifeboat verify vault-20261123T101500Z-1a2b --destination s3-primary`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runVerify(cmd, args[0], opts) },
	}
	cmd.Flags().StringVarP(&opts.source, "source", "s", "", "source of \"latest\" when several are configured")
	cmd.Flags().StringVarP(&opts.destination, "destination", "d", "", "verify only the copy in this destination")
	cmd.Flags().StringVar(&opts.identityFile, "identity-file", "", "age identity file for encrypted backups (default encryption.age.identityFile)")
	addAllowUnsigned(cmd)
	return cmd
}

func runVerify(cmd *cobra.Command, ref string, opts *verifyOptions) error {
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	src, err := a.ResolveSource(ref, opts.source)
	if err != nil {
		return classify(err)
	}
	v, err := a.VerifyAll(cmd.Context(), src, ref, opts.destination, opts.identityFile)
	if err != nil {
		return classify(err)
	}
	a.NotifyVerify(cmd.Context(), a.Notifier(nil), src, v)
	out := cmd.OutOrStdout()
	var errs []error
	ok := 0
	for _, r := range v.Copies {
		m := r.Manifest
		if r.Err != nil {
			fmt.Fprintf(out, "%s in %s: FAILED: %v\n", m.ID, r.Dest.Name, r.Err)
			errs = append(errs, r.Err)
			continue
		}
		ok++
		fmt.Fprintf(out, "%s in %s: OK (%s, sha256 %s, %s; %s)\n", m.ID, r.Dest.Name, humanBytes(m.Size), m.SHA256, m.SignedBy(), r.Detail)
	}
	for _, d := range v.Damaged {
		fmt.Fprintf(out, "%s in %s: DAMAGED: %s\n", d.ID, d.Destination, d.Reason())
		errs = append(errs, fmt.Errorf("%s in %s is damaged: %w", d.ID, d.Destination, d.Err))
	}
	for _, m := range v.Missing {
		fmt.Fprintf(out, "%s in %s: MISSING: %s\n", m.ID, m.Destination, m.Reason)
		errs = append(errs, fmt.Errorf("%s is missing in %s", m.ID, m.Destination))
	}
	// A destination that did not answer may hold a newer backup or the only good copy:
	// the verification is partial at best.
	for _, err := range v.Unlisted {
		fmt.Fprintf(out, "NOT CHECKED: %v\n", err)
		errs = append(errs, err)
	}
	switch {
	case len(errs) == 0:
		return nil
	case ok > 0:
		return withExitCode(exitPartial, errors.Join(errs...))
	default:
		return errors.Join(errs...)
	}
}
