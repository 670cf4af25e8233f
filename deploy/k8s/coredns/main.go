// CoreDNS with only the plugins deploy/k8s/cluster's Corefile names: the
// full build (every plugin, cloud SDKs included) costs several times the
// compile time. Plugins register themselves in their init functions; the
// server applies them in CoreDNS's fixed directive order.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func main() {
	coremain.Run()
}
