package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
	"github.com/spf13/cobra"
)

type keygenOptions struct {
	privateKeyFile string
	publicKeyFile  string
}

func newKeygenCmd() *cobra.Command {
	opts := &keygenOptions{}
	cmd := &cobra.Command{
		Use:   "keygen --private-key-file PATH",
		Short: "Make an ed25519 key pair for signing backups",
		Long: `Make an ed25519 key pair for signing manifests (see docs/security.md).

The private key is written to --private-key-file (PEM PKCS #8, mode 0600); it goes only
where backups run (signing.privateKey). The public key is printed in the one-line form
signing.publicKeys takes, and with --public-key-file also written there as PEM; it goes
where backups are read (restore, verify, drill, auto-restore). Neither file is ever
overwritten: rotating means a new key file, then adding its public key next to the old.

The same keys can be made with openssl:
  openssl genpkey -algorithm ed25519 -out signing.pem
  openssl pkey -in signing.pem -pubout -out signing.pub

Exit codes:
  0  the key pair was written
  1  failure: a file exists or cannot be written
  3  bad flags`,
		Example: `  lifeboat keygen --private-key-file ./lifeboat-signing.pem --public-key-file ./lifeboat-signing.pub
  kubectl -n lifeboat create secret generic lifeboat-signing --from-file=private.pem=./lifeboat-signing.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runKeygen(cmd, opts) },
	}
	cmd.Flags().StringVar(&opts.privateKeyFile, "private-key-file", "", "write the private key here (required; never overwritten)")
	cmd.Flags().StringVar(&opts.publicKeyFile, "public-key-file", "", "also write the public key here as PEM (never overwritten)")
	_ = cmd.MarkFlagRequired("private-key-file")
	return cmd
}

func runKeygen(cmd *cobra.Command, opts *keygenOptions) error {
	if opts.privateKeyFile == opts.publicKeyFile {
		return usageError("--public-key-file must differ from --private-key-file")
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	privPEM, err := catalog.PrivateKeyPEM(key)
	if err != nil {
		return err
	}
	pubPEM, err := catalog.PublicKeyPEM(pub)
	if err != nil {
		return err
	}
	// Refuse both before writing either: a half-made pair helps nobody.
	for _, p := range []string{opts.privateKeyFile, opts.publicKeyFile} {
		if p == "" {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s exists; lifeboat keygen never overwrites a key (a lost signing key cannot be "+
				"recovered): choose another path, or remove the file yourself if you are sure", p)
		}
	}
	if err := writeNew(opts.privateKeyFile, privPEM, 0o600); err != nil {
		return err
	}
	if opts.publicKeyFile != "" {
		if err := writeNew(opts.publicKeyFile, pubPEM, 0o644); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "private key written to %s (keep it only where backups run: signing.privateKey)\n", opts.privateKeyFile)
	if opts.publicKeyFile != "" {
		fmt.Fprintf(out, "public key written to %s\n", opts.publicKeyFile)
	}
	fmt.Fprintf(out, "fingerprint %s\n", catalog.Fingerprint(pub))
	fmt.Fprintf(out, "public key (for signing.publicKeys where backups are read):\n%s\n", catalog.FormatPublicKey(pub))
	return nil
}

// writeNew creates path with data; it fails rather than replace an existing file.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists; lifeboat keygen never overwrites a key", path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
