# Entry points; each one is a script so CI and people run exactly the same steps.
.PHONY: demo test build image servers

demo: ## install servers, back up a local raft OpenBao to a directory and MinIO, wipe it, restore it
	./scripts/demo.sh

test: ## install servers and run gofmt, go vet, staticcheck and every test (what CI runs)
	./scripts/test.sh

build:
	go build -o bin/lifeboat ./cmd/lifeboat

image: ## the container image as an OCI archive, bin/lifeboat-image.tar, without Docker (push with skopeo)
	./scripts/build-image.sh

servers:
	./scripts/install-servers.sh all
