// Package ssm is the wire layer of Amazon Simple Systems Manager (SSM), generated from botocore's
// model: types, enums, errors, validation and the json binding.
package ssm

//go:generate go run ../../awsapi/gen -service ssm -out .
