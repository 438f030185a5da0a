// Package ecr is the wire layer of Amazon Elastic Container Registry, generated from botocore's
// model: types, enums, errors, validation and the json binding.
package ecr

//go:generate go run ../../awsapi/gen -service ecr -out . -validation-code InvalidParameterException -validation-style parameter
