package iam

import "testing"

// Service principals map to AWS's role names; principals the table lacks
// get a name made from their labels, and non-principals none.
func TestLinkedServiceNames(t *testing.T) {
	for principal, want := range map[string]string{
		"ecs.amazonaws.com":                         "AWSServiceRoleForECS",
		"eks.amazonaws.com":                         "AWSServiceRoleForAmazonEKS",
		"eks-nodegroup.amazonaws.com":               "AWSServiceRoleForAmazonEKSNodegroup",
		"ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
		"replication.ecr.amazonaws.com":             "AWSServiceRoleForECRReplication",
		"batch.amazonaws.com":                       "AWSServiceRoleForBatch",
		"fsx-lustre.amazonaws.com":                  "AWSServiceRoleForFsxLustre",
	} {
		ls, ok := linkedServiceOf(principal)
		if !ok || ls.role != want {
			t.Errorf("%s: %q %v, want %q", principal, ls.role, ok, want)
		}
	}
	for _, bad := range []string{"ecs", "example.com", "ecs.amazonaws.com.evil", ".amazonaws.com"} {
		if ls, ok := linkedServiceOf(bad); ok {
			t.Errorf("%s: accepted as %q", bad, ls.role)
		}
	}
	if ls, _ := linkedServiceOf("ecs.amazonaws.com"); ls.suffix || ls.policy != "AmazonECSServiceRolePolicy" {
		t.Errorf("ecs: %+v", ls)
	}
}
