package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
)

// clusterOffsets are the ports deploy/cluster/temporal/base.yaml derives
// from BATON_CLUSTER_PORT (the frontend): the other services' gRPC ports,
// their membership ports 300 below, and the frontend's HTTP port.
var clusterOffsets = []int{0, 1, 2, 6, 10, -300, -299, -298, -294, 1767}

// ClusterPort finds a frontend port for the cluster's Temporal server whose
// derived ports are all free. It stays below 32768 with every offset:
// the server's SQL schema keeps membership ports in a smallint, and a higher
// one makes it fail at start.
func ClusterPort() (int, error) {
	for i := 0; i < 200; i++ {
		p := 10300 + rand.IntN(22000)
		ok := true
		for _, off := range clusterOffsets {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+off))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free set of ports for the Temporal cluster (tried 200)")
}
