// Package ec2 is the wire layer of the part of Amazon Elastic Compute Cloud
// that Berth serves (default VPC, subnets, security groups, availability
// zones, regions, tags), generated from botocore's model: types, enums,
// errors, validation and the ec2 binding. Only the operations listed in
// the go:generate line are generated; the EC2 model is large.
package ec2

//go:generate go run ../../awsapi/gen -service ec2 -out . -validation-code InvalidParameterValue -operations DescribeVpcs,DescribeSubnets,DescribeSecurityGroups,CreateSecurityGroup,DeleteSecurityGroup,AuthorizeSecurityGroupIngress,AuthorizeSecurityGroupEgress,RevokeSecurityGroupIngress,RevokeSecurityGroupEgress,DescribeAvailabilityZones,DescribeRegions,CreateTags,DeleteTags,DescribeTags,CreateVpc,CreateSubnet,DescribeAccountAttributes,DescribeSecurityGroupRules,DescribeVpcAttribute,DescribeRouteTables,DescribeNetworkAcls,DescribeNetworkInterfaces
