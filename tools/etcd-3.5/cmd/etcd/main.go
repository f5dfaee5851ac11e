// Command etcd is the etcd server, built from the go.etcd.io/etcd/server/v3 module: its own
// main package lives in the repository's root module, whose replace lines keep it from being
// built as a dependency. Test binary only; never part of Caretaker.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
