// Command s3put uploads one file to an S3 bucket: the "copy the snapshot to each bucket"
// step of the classic backup script, for the benchmarks in test/bench.
//
// The classic script runs `mc cp` or `aws s3 cp`. Neither is installed on the benchmark
// machines (the project installs nothing from outside Debian and Go modules), so this
// stands in for them as a separate process whose peak RSS and CPU can be measured like
// theirs. It does what `mc cp` does for a local file: minio-go's FPutObject with its
// defaults (multipart, 16 MiB parts for files of this size, 4 parts in flight, read
// straight from the file with no part buffer).
//
// Usage: AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... s3put -endpoint host:port FILE BUCKET KEY
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
	flag.Parse()
	if *endpoint == "" || flag.NArg() != 3 {
		fmt.Fprintln(os.Stderr, "usage: s3put -endpoint host:port [-tls] FILE BUCKET KEY")
		os.Exit(2)
	}
	if err := put(*endpoint, *secure, flag.Arg(0), flag.Arg(1), flag.Arg(2)); err != nil {
		fmt.Fprintln(os.Stderr, "s3put:", err)
		os.Exit(1)
	}
}

func put(endpoint string, secure bool, file, bucket, key string) error {
	client, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewEnvAWS(), Secure: secure})
	if err != nil {
		return err
	}
	info, err := client.FPutObject(context.Background(), bucket, key, file, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("upload %s to s3://%s/%s: %w", file, bucket, key, err)
	}
	fmt.Printf("uploaded %s to s3://%s/%s (%d bytes)\n", file, bucket, key, info.Size)
	return nil
}
