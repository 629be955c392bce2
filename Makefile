# Shortcuts for the commands CONTRIBUTING.md describes; the scripts hold the logic.
NODES ?= 1
export NODES

.PHONY: test verify cluster-build cluster-start cluster-stop

test:
	bash scripts/test

# gofmt, vet and tidy of berth's module (the modules under test/cluster are checked by build.sh).
verify:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	go vet ./...
	go mod tidy -diff

# Builds the test cluster's binaries (cached) and prints their folder.
cluster-build:
	@bash test/cluster/build.sh

# Starts a cluster with NODES process-kubelet nodes and prints its folder (DIR/kubeconfig).
cluster-start:
	@bash test/cluster/start.sh

cluster-stop:
	@test -n "$(DIR)" || { echo "usage: make cluster-stop DIR=<the folder cluster-start printed>"; exit 2; }
	@bash test/cluster/stop.sh "$(DIR)"
