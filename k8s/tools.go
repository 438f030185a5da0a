//go:build tools

// This file pins kubectl's main package so `go build k8s.io/kubernetes/cmd/kubectl`
// resolves inside this module with the same replace directives.
package tools

import _ "k8s.io/kubernetes/cmd/kubectl"
