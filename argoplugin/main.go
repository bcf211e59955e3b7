// Command judge-argo-plugin is judge's Argo Rollouts metric provider
// plugin (provider.Name): Argo Rollouts' controller starts it and calls it
// over hashicorp/go-plugin's RPC, as its own plugin client does.
package main

import (
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/argoproj/argo-rollouts/metricproviders/plugin/rpc"

	"github.com/canaryjudge/judge/argoplugin/provider"
)

// handshake is Argo Rollouts' metric provider handshake.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "ARGO_ROLLOUTS_RPC_PLUGIN",
	MagicCookieValue: "metricprovider",
}

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]goplugin.Plugin{"RpcMetricProviderPlugin": &rpc.RpcMetricProviderPlugin{Impl: &provider.Plugin{}}},
	})
}
