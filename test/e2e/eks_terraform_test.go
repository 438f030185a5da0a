package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/eks/k8sproc"
	"github.com/berth-dev/berth/test/harness"
)

// eksTerraformConfig is an EKS cluster as a Terraform user writes one: IAM
// roles with AWS's managed policies, the cluster on the default VPC's
// subnets, a node group, a Fargate profile, an access entry with a policy,
// the cluster's OIDC provider in IAM and the data sources kubeconfigs and
// the kubernetes provider are usually fed from. DESIRED, ENV and GROUP are
// what the second apply changes in place.
const eksTerraformConfig = `
data "aws_vpc" "default" { default = true }
data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
}

resource "aws_iam_role" "cluster" {
  name = "tf-eks-cluster"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "eks.amazonaws.com" }, Action = ["sts:AssumeRole", "sts:TagSession"] }]
  })
}
resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_iam_role" "node" {
  name = "tf-eks-node"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}
resource "aws_iam_role_policy_attachment" "node" {
  for_each   = toset(["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"])
  role       = aws_iam_role.node.name
  policy_arn = "arn:aws:iam::aws:policy/${each.value}"
}

resource "aws_iam_role" "fargate" {
  name = "tf-eks-fargate"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "eks-fargate-pods.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}
resource "aws_iam_role_policy_attachment" "fargate" {
  role       = aws_iam_role.fargate.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy"
}

resource "aws_iam_role" "admins" {
  name = "tf-eks-admins"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::000000000000:root" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_eks_cluster" "main" {
  name     = "tf-eks"
  version  = "1.33"
  role_arn = aws_iam_role.cluster.arn
  vpc_config {
    subnet_ids              = data.aws_subnets.default.ids
    endpoint_private_access = false
    endpoint_public_access  = true
  }
  access_config {
    authentication_mode                         = "API_AND_CONFIG_MAP"
    bootstrap_cluster_creator_admin_permissions = true
  }
  enabled_cluster_log_types = ["api", "audit"]
  tags = { team = "platform", env = "ENV" }
  depends_on = [aws_iam_role_policy_attachment.cluster]
}

resource "aws_eks_node_group" "workers" {
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = "workers"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = [data.aws_subnets.default.ids[0]]
  instance_types  = ["t3.medium"]
  scaling_config {
    desired_size = DESIRED
    min_size     = 1
    max_size     = 3
  }
  update_config {
    max_unavailable = 1
  }
  labels = { role = "worker" }
  taint {
    key    = "dedicated"
    value  = "batch"
    effect = "PREFER_NO_SCHEDULE"
  }
  tags       = { team = "platform" }
  depends_on = [aws_iam_role_policy_attachment.node]
}

resource "aws_eks_fargate_profile" "system" {
  cluster_name           = aws_eks_cluster.main.name
  fargate_profile_name   = "system"
  pod_execution_role_arn = aws_iam_role.fargate.arn
  subnet_ids             = [data.aws_subnets.default.ids[0]]
  selector {
    namespace = "serverless"
    labels    = { tier = "batch" }
  }
  tags       = { team = "platform" }
  depends_on = [aws_iam_role_policy_attachment.fargate]
}

resource "aws_eks_access_entry" "admins" {
  cluster_name      = aws_eks_cluster.main.name
  principal_arn     = aws_iam_role.admins.arn
  kubernetes_groups = ["GROUP"]
  type              = "STANDARD"
  tags              = { team = "platform" }
}
resource "aws_eks_access_policy_association" "admins" {
  cluster_name  = aws_eks_cluster.main.name
  principal_arn = aws_eks_access_entry.admins.principal_arn
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
  access_scope {
    type = "cluster"
  }
}

resource "aws_iam_openid_connect_provider" "cluster" {
  url             = replace(aws_eks_cluster.main.identity[0].oidc[0].issuer, "http://", "https://")
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}

// IRSA as Terraform users write it: a role trusting the provider, for one
// service account.
resource "aws_iam_role" "irsa" {
  name = "tf-eks-irsa"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = aws_iam_openid_connect_provider.cluster.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${replace(aws_iam_openid_connect_provider.cluster.url, "https://", "")}:sub" = "system:serviceaccount:default:tf-app"
          "${replace(aws_iam_openid_connect_provider.cluster.url, "https://", "")}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })
}

data "aws_eks_cluster" "main" {
  name       = aws_eks_cluster.main.name
  depends_on = [aws_eks_node_group.workers]
}
data "aws_eks_cluster_auth" "main" { name = aws_eks_cluster.main.name }
data "aws_eks_node_group" "workers" {
  cluster_name    = aws_eks_cluster.main.name
  node_group_name = aws_eks_node_group.workers.node_group_name
}
data "aws_eks_clusters" "all" { depends_on = [aws_eks_cluster.main] }

output "endpoint" { value = data.aws_eks_cluster.main.endpoint }
output "ca" { value = data.aws_eks_cluster.main.certificate_authority[0].data }
output "node_group_status" { value = data.aws_eks_node_group.workers.status }
output "clusters" { value = join(",", data.aws_eks_clusters.all.names) }
output "oidc_arn" { value = aws_iam_openid_connect_provider.cluster.arn }
`

const eksTerraformIRSAPod = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: tf-app
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::000000000000:role/tf-eks-irsa
---
apiVersion: v1
kind: Pod
metadata:
  name: tf-irsa
spec:
  serviceAccountName: tf-app
  restartPolicy: Never
  containers:
  - name: whoami
    image: IMAGE
    imagePullPolicy: IfNotPresent
    args: [whoami, 1h]
`

// eksTerraformImage is the test app under a name of this test's own: other
// tests load (and remove) eksAppImage while this one runs.
const eksTerraformImage = "berth-e2e/eks-terraform-app:v1"

func eksTerraform(desired, env, group string) string {
	return strings.NewReplacer("DESIRED", desired, "ENV", env, "GROUP", group).Replace(eksTerraformConfig)
}

// Terraform's AWS provider builds an EKS cluster with a node group, a
// Fargate profile, an access entry and the cluster's OIDC provider, waits
// for them as it does on AWS, reads everything back without drift, and
// kubectl reaches the cluster both through update-kubeconfig and with the
// provider's own token; in-place changes apply without drift, and destroy
// leaves nothing of the cluster on the host.
func TestEKSTerraform(t *testing.T) {
	t.Parallel()
	e := startEKS(t, "eks-app", eksTerraformImage)
	b := e.b
	tf := startTerraform(t, b, eksTerraform("1", "test", "ops"))
	tf.Apply(t)
	tf.NoDrift(t)

	if out := tf.Output(t, "clusters"); out != "tf-eks" {
		t.Errorf("data aws_eks_clusters: %q", out)
	}
	if out := tf.Output(t, "node_group_status"); out != "ACTIVE" {
		t.Errorf("data aws_eks_node_group status: %q", out)
	}
	endpoint := tf.Output(t, "endpoint")
	if !strings.HasPrefix(endpoint, "https://127.0.0.1:") {
		t.Errorf("endpoint: %q", endpoint)
	}
	var oidc struct{ Url string }
	b.AWSv2(t, "iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", tf.Output(t, "oidc_arn")).Must(t).JSON(t, &oidc)
	if oidc.Url == "" {
		t.Errorf("the OIDC provider Terraform made: %+v", oidc)
	}

	// The cluster is Kubernetes: update-kubeconfig from the CLI v2, the
	// node group's node Ready, a pod runs as a container.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	b.AWSv2(t, "eks", "update-kubeconfig", "--name", "tf-eks", "--kubeconfig", kubeconfig).Must(t)
	c := &eksCluster{e: e, name: "tf-eks", kubeconfig: kubeconfig, env: b.KubectlEnv(t, 2)}
	eksEventually(t, "the node group's node Ready", func() (bool, string) {
		r := c.kubectl(t, "get", "nodes", "-l", "eks.amazonaws.com/nodegroup=workers,role=worker", "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		return r.ExitCode == 0 && strings.Count(r.Stdout, "=True") == 1, r.Stdout + r.Stderr
	})
	c.kubectl(t, "run", "tf-pod", "--image="+eksTerraformImage, "--image-pull-policy=IfNotPresent", "--restart=Never", "--", "sleep", "1h").Must(t)
	var uid string
	eksEventually(t, "the pod Running", func() (bool, string) {
		r := c.kubectl(t, "get", "pod", "tf-pod", "-o", "jsonpath={.status.phase} {.metadata.uid} {.status.containerStatuses[0].state}")
		f := strings.Fields(r.Stdout)
		if len(f) >= 2 {
			uid = f[1]
		}
		if len(f) > 0 && f[0] == "Failed" {
			t.Fatalf("the pod failed: %s\n%s", r.Stdout, c.kubectl(t, "describe", "pod", "tf-pod").Stdout)
		}
		return len(f) > 0 && f[0] == "Running", r.Stdout + r.Stderr
	})
	t.Cleanup(func() { removePodContainers([]string{uid}) })
	if len(podContainers([]string{uid})) == 0 {
		t.Errorf("no container for the pod %s", uid)
	}

	// data.aws_eks_cluster_auth's token is a bearer token the API server
	// accepts, as the kubernetes and helm providers use it.
	token := eksTerraformToken(t, tf)
	if !strings.HasPrefix(token, "k8s-aws-v1.") {
		t.Fatalf("data aws_eks_cluster_auth token: %q", token)
	}
	// No kubeconfig, so no exec plugin: the token alone gets kubectl in.
	dir := t.TempDir()
	ca, err := base64.StdEncoding.DecodeString(tf.Output(t, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	nodes := harness.Kubectl(t, e.tools.Kubectl, nil, "--kubeconfig", filepath.Join(dir, "empty"), "--server", endpoint,
		"--certificate-authority", filepath.Join(dir, "ca.crt"), "--token", token, "get", "nodes", "-o", "name").Must(t).Stdout
	if !strings.Contains(nodes, "node/") {
		t.Errorf("kubectl --token get nodes: %q", nodes)
	}

	// In place: two nodes, new tags, new groups; nothing replaced.
	clusterID := describeEKSCluster(t, e, "tf-eks")["id"]
	tf.SetConfig(t, b, eksTerraform("2", "prod", "admins"))
	tf.Apply(t)
	tf.NoDrift(t)
	desc := describeEKSCluster(t, e, "tf-eks")
	if desc["id"] != clusterID || desc["tags"].(map[string]any)["env"] != "prod" {
		t.Errorf("cluster after the in-place change: %v", desc)
	}
	var ng struct {
		Nodegroup struct{ ScalingConfig struct{ DesiredSize int } }
	}
	b.AWSv2(t, "eks", "describe-nodegroup", "--cluster-name", "tf-eks", "--nodegroup-name", "workers").Must(t).JSON(t, &ng)
	if ng.Nodegroup.ScalingConfig.DesiredSize != 2 {
		t.Errorf("node group after the change: %+v", ng)
	}
	eksEventually(t, "two Ready nodes", func() (bool, string) {
		r := c.kubectl(t, "get", "nodes", "-l", "eks.amazonaws.com/nodegroup=workers", "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		return r.ExitCode == 0 && strings.Count(r.Stdout, "=True") == 2, r.Stdout + r.Stderr
	})
	var entry struct {
		AccessEntry struct{ KubernetesGroups []string }
	}
	b.AWS(t, "eks", "describe-access-entry", "--cluster-name", "tf-eks", "--principal-arn", "arn:aws:iam::000000000000:role/tf-eks-admins").Must(t).JSON(t, &entry)
	if strings.Join(entry.AccessEntry.KubernetesGroups, ",") != "admins" {
		t.Errorf("access entry after the change: %+v", entry)
	}

	// Scaling up in place leaves the running pod alone (it used to remove
	// every container of the cluster).
	if r := c.kubectl(t, "get", "pod", "tf-pod", "-o", "jsonpath={.status.phase}"); r.Stdout != "Running" || len(podContainers([]string{uid})) == 0 {
		t.Errorf("the pod after scaling: %s %s, containers %v", r.Stdout, r.Stderr, podContainers([]string{uid}))
	}

	label := k8sproc.ContainerCluster(filepath.Join(e.dataDir, "eks", "000000000000", b.Region(), "tf-eks"))
	network := "berth-" + label
	// The scaled node group runs pods (containers of the cluster, which
	// destroy must remove); one of a service account for the IRSA role
	// gets that role's credentials through the provider Terraform made
	// (registered as https://, fetched from Berth over http).
	c.apply(t, strings.ReplaceAll(eksTerraformIRSAPod, "IMAGE", eksTerraformImage))
	var logs string
	eksEventually(t, "the IRSA pod's whoami line", func() (bool, string) {
		r := c.kubectl(t, "logs", "tf-irsa")
		logs = r.Stdout + r.Stderr
		return strings.Contains(logs, "whoami arn="), logs
	})
	if !strings.Contains(logs, "whoami arn=arn:aws:sts::000000000000:assumed-role/tf-eks-irsa/") {
		t.Errorf("kubectl logs tf-irsa: %s", logs)
	}
	if ids := containersLabelled(label); len(ids) == 0 {
		t.Errorf("no containers labelled %s before destroy", label)
	}
	tf.Destroy(t)
	if r := b.AWSv2(t, "eks", "describe-cluster", "--name", "tf-eks"); r.ErrorCode() != "ResourceNotFoundException" {
		t.Errorf("describe-cluster after destroy: exit %d %s", r.ExitCode, r.Stdout)
	}
	if ids := containersLabelled(label); len(ids) > 0 {
		t.Errorf("containers of the cluster left after destroy: %v", ids)
	}
	if out, err := exec.Command("docker", "network", "inspect", network).CombinedOutput(); err == nil {
		t.Errorf("the cluster's network %s is left after destroy: %s", network, out)
	}
	if pids := append(controlPlanePids(e.dataDir), nodesPids(e.dataDir)...); len(pids) > 0 {
		t.Errorf("berth-k8s processes left after destroy: %v", pids)
	}
}

func describeEKSCluster(t *testing.T, e *eksEnv, name string) map[string]any {
	t.Helper()
	return e.b.AWSv2(t, "eks", "describe-cluster", "--name", name).Must(t).Map(t)["cluster"].(map[string]any)
}

// eksTerraformToken is data.aws_eks_cluster_auth.main's token from the
// state (terraform show -json has sensitive values in the clear). Not an
// output: the token is presigned anew at each read, so an output of it
// would change on every plan, on AWS too.
func eksTerraformToken(t *testing.T, tf *terraform) string {
	t.Helper()
	out, err := tf.run("show", "-json", "-no-color")
	if err != nil {
		t.Fatalf("terraform show: %v\n%s", err, out)
	}
	var state struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string
					Values  map[string]any
				}
			} `json:"root_module"`
		}
	}
	if err := json.Unmarshal([]byte(out), &state); err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	for _, r := range state.Values.RootModule.Resources {
		if r.Address == "data.aws_eks_cluster_auth.main" {
			tok, _ := r.Values["token"].(string)
			return tok
		}
	}
	t.Fatalf("no data.aws_eks_cluster_auth.main in the state")
	return ""
}
