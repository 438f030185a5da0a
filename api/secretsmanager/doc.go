// Package secretsmanager is the wire layer of AWS Secrets Manager, generated from botocore's
// model: types, enums, errors, validation and the json binding.
package secretsmanager

//go:generate go run ../../awsapi/gen -service secretsmanager -out .
