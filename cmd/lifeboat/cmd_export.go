package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lifeboat-backup/lifeboat/internal/config"
	"github.com/lifeboat-backup/lifeboat/internal/source/kubernetes"
)

type exportOptions struct {
	source    string
	namespace string
	dir       string
}

func newExportCmd() *cobra.Command {
	opts := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export --source <name> [--namespace NS] [--dir DIR]",
		Short: "Write a kubernetes source's objects as cleaned YAML, without a backup",
		Long: `Read the objects a kubernetes source backs up, straight from the cluster, and write
them as the same cleaned YAML a backup holds (no status, uid, resourceVersion,
managedFields, cluster-assigned fields or kubectl's last-applied annotation): to stdout
as one multi-document stream, or with --dir as one file per object at
<group>/<kind>/<namespace>/<name>.yaml. No destination is read or written.

The output applies to a cluster with kubectl apply --server-side. It holds Secrets in
the clear (base64): files are written with mode 0600; keep stdout out of logs.

--namespace exports one namespace (cluster-scoped objects left out); it need not be one
of the source's namespaces.

Exit codes:
  0  exported
  1  the cluster could not be read (the message names what was refused)
  3  bad flags, arguments or configuration`,
		Example: `  lifeboat export --source platform-config --namespace argo > argo.yaml
  lifeboat export --source platform-config --dir ./platform-config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runExport(cmd, opts) },
	}
	f := cmd.Flags()
	f.StringVarP(&opts.source, "source", "s", "", "the kubernetes source to export (required)")
	f.StringVarP(&opts.namespace, "namespace", "n", "", "export only this namespace")
	f.StringVar(&opts.dir, "dir", "", "write one file per object under this directory instead of stdout")
	return cmd
}

func runExport(cmd *cobra.Command, opts *exportOptions) error {
	if opts.source == "" {
		return usageError("export needs --source <name> of a kubernetes source")
	}
	a, err := loadApp(cmd)
	if err != nil {
		return err
	}
	src, err := a.Config.Source(opts.source)
	if err != nil {
		return usageError("%w", err)
	}
	if src.Kind != config.KindKubernetes {
		return usageError("source %s is a %s source; export reads kubernetes sources only", src.Name, src.Kind)
	}
	n, err := kubernetes.Export(cmd.Context(), src, kubernetes.ExportOptions{
		Namespace: opts.namespace, Dir: opts.dir, Out: cmd.OutOrStdout(), Logger: a.Logger,
	})
	if err != nil {
		return classify(err)
	}
	if opts.dir != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "exported %d objects to %s\n", n, opts.dir)
	}
	return nil
}
