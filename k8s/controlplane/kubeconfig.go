package controlplane

import (
	"os"

	"github.com/google/renameio/v2"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeKubeconfig writes a kubeconfig for one client certificate of the PKI.
// Credentials are embedded rather than referenced so the file can be copied
// off the data dir (Berth hands admin.kubeconfig to users and tests).
func (p *pki) writeKubeconfig(path, clusterName, server, certName string) error {
	cert, err := os.ReadFile(p.path(certName + ".crt"))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.path(certName + ".key"))
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos[certName] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: certName}
	cfg.CurrentContext = clusterName
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return renameio.WriteFile(path, data, 0o600)
}

// writeWebhookKubeconfig describes the TokenReview webhook in the kubeconfig
// format kube-apiserver's --authentication-token-webhook-config-file expects.
func writeWebhookKubeconfig(path, url string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["berth"] = &clientcmdapi.Cluster{Server: url}
	cfg.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["berth"] = &clientcmdapi.Context{Cluster: "berth", AuthInfo: "kube-apiserver"}
	cfg.CurrentContext = "berth"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return renameio.WriteFile(path, data, 0o600)
}
