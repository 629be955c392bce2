// Command etcd is etcd's own server, built from the Go module proxy for the test cluster: no
// prebuilt binary can be downloaded on the machines berth is tested on.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
