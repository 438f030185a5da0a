package main

import (
	"context"
	"crypto/x509"
	"flag"

	"github.com/berth-dev/berth/k8s/controlplane"
	"github.com/berth-dev/berth/k8s/fargate"
	"github.com/berth-dev/berth/k8s/nodes"
	"github.com/berth-dev/berth/runtime/docker"
)

// Fargate profiles: pods matching one of the profiles Berth writes to
// DATA_DIR/fargate-profiles.json run one per node on fargate- nodes in
// this process (package fargate). It is on when --fargate-cluster is set,
// as Berth does for EKS clusters.
var fargateFlags struct {
	cluster, region, network, awsEndpoint, registryAuth, dockerHost, volumeDir string
	podIdentityURI, podIdentityURIFile, podIdentityLookup                      string
}

func init() {
	registerAddon(addon{
		name: "fargate",
		flags: func(fs *flag.FlagSet) {
			f := &fargateFlags
			fs.StringVar(&f.cluster, "fargate-cluster", "", "run Fargate pods, labelling their containers berth.k8s.cluster=VALUE (as `berth-k8s nodes --cluster`); empty: no Fargate")
			fs.StringVar(&f.region, "fargate-region", "", "AWS region of the cluster: Fargate node names and IRSA pods' AWS_REGION")
			fs.StringVar(&f.network, "fargate-network", "", "Docker bridge network of the cluster's pods (`berth-k8s nodes --network`); empty: Berth's shared one")
			fs.StringVar(&f.awsEndpoint, "fargate-aws-endpoint", "", "Berth's AWS API as Fargate pods reach it (AWS_ENDPOINT_URL)")
			fs.StringVar(&f.podIdentityURI, "fargate-pod-identity-uri", "", "EKS Pod Identity Agent URI given to Fargate pods of associated service accounts")
			fs.StringVar(&f.podIdentityURIFile, "fargate-pod-identity-uri-file", "", "file holding the EKS Pod Identity Agent URI, read at each pod start (overrides --fargate-pod-identity-uri)")
			fs.StringVar(&f.podIdentityLookup, "fargate-pod-identity-lookup", "", "Berth URL answering whether <namespace>/<service account> has a Pod Identity association")
			fs.StringVar(&f.registryAuth, "fargate-registry-auth", "", "JSON file with credentials for Berth's ECR registry, read at each pull")
			fs.StringVar(&f.dockerHost, "fargate-docker-host", "", "Docker engine address for Fargate pods (default: DOCKER_HOST or the local socket)")
			fs.StringVar(&f.volumeDir, "fargate-volume-dir", "", "directory for the files of Fargate pods' ConfigMap and Secret volumes (default: under the temp dir)")
		},
		run: runFargate,
	})
}

func runFargate(ctx context.Context, env addonEnv) error {
	f := fargateFlags
	if f.cluster == "" {
		return nil
	}
	certFile, keyFile, caPEM, err := controlplane.IssueServingCert(env.DataDir, "fargate-webhook", []string{"127.0.0.1", "localhost"})
	if err != nil {
		return err
	}
	rt, err := docker.New(docker.Options{Host: f.dockerHost, Network: f.network})
	if err != nil {
		return err
	}
	defer rt.Close()
	node := nodes.Config{Client: env.Client, Runtime: rt, Cluster: f.cluster, Region: f.region, AWSEndpoint: f.awsEndpoint,
		RegistryAuthFile: f.registryAuth, VolumeDir: f.volumeDir, PodIdentityURI: f.podIdentityURI,
		PodIdentityURIFile: f.podIdentityURIFile, PodIdentityLookup: f.podIdentityLookup}
	// Only kube-apiserver (its kubelet client certificate is signed by the
	// cluster CA) may call the nodes' kubelet API.
	pool := x509.NewCertPool()
	if pool.AppendCertsFromPEM(caPEM) {
		node.ClientCA = pool
	}
	return fargate.Run(ctx, fargate.Config{DataDir: env.DataDir, Client: env.Client, CertFile: certFile, KeyFile: keyFile, CAPEM: caPEM, Node: node})
}
