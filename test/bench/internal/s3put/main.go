// Command s3put uploads one file, or its standard input, to an S3 bucket: the "copy the
// backup to each bucket" step of the classic backup scripts, for the benchmarks in
// test/bench.
//
// The classic scripts run `mc cp` or `aws s3 cp`. Neither is installed on the benchmark
// machines (the project installs nothing from outside Debian and Go modules), so this
// stands in for them as a separate process whose peak RSS and CPU can be measured like
// theirs.
//
// For a FILE it does what `mc cp` does for a local file: minio-go's FPutObject with its
// defaults (multipart, 16 MiB parts for files of this size, 4 parts in flight, read
// straight from the file with no part buffer).
//
// For "-" it reads standard input to its end, size unknown, like `aws s3 cp - s3://...`
// or `mc pipe` at the end of `pg_dump | ...`: minio-go's PutObject with size -1, a
// multipart upload whose parts are filled from the stream in memory, -part-size-mib each
// (default 16, as lifeboat and `mc cp` use), -parts of them in flight (default 4, as
// FPutObject; each has its own buffer, 64 MiB in all). The AWS CLI's defaults for a
// stream are 8 MiB chunks with up to 10 in memory.
//
// Usage: AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... s3put -endpoint host:port FILE|- BUCKET KEY
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint, host:port")
	secure := flag.Bool("tls", false, "use HTTPS")
	partMiB := flag.Uint64("part-size-mib", 16, "with -: multipart part size in MiB (at least 5)")
	parts := flag.Uint("parts", 4, "with -: parts uploaded at once, each buffered in memory")
	flag.Parse()
	if *endpoint == "" || flag.NArg() != 3 || *partMiB < 5 || *parts < 1 {
		fmt.Fprintln(os.Stderr, "usage: s3put -endpoint host:port [-tls] [-part-size-mib N] [-parts N] FILE|- BUCKET KEY")
		os.Exit(2)
	}
	file, bucket, key := flag.Arg(0), flag.Arg(1), flag.Arg(2)
	client, err := minio.New(*endpoint, &minio.Options{Creds: credentials.NewEnvAWS(), Secure: *secure})
	if err == nil {
		err = put(client, file, bucket, key, *partMiB<<20, *parts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3put:", err)
		os.Exit(1)
	}
}

func put(client *minio.Client, file, bucket, key string, partSize uint64, parts uint) error {
	ctx := context.Background()
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	var (
		info minio.UploadInfo
		err  error
	)
	if file == "-" {
		opts.PartSize, opts.NumThreads, opts.ConcurrentStreamParts = partSize, parts, parts > 1
		info, err = client.PutObject(ctx, bucket, key, os.Stdin, -1, opts)
	} else {
		info, err = client.FPutObject(ctx, bucket, key, file, opts)
	}
	if err != nil {
		return fmt.Errorf("upload %s to s3://%s/%s: %w", file, bucket, key, err)
	}
	fmt.Printf("uploaded %s to s3://%s/%s (%d bytes)\n", file, bucket, key, info.Size)
	return nil
}
