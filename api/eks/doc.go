// Package eks is the wire layer of Amazon Elastic Kubernetes Service, generated from botocore's
// model: types, enums, errors, validation and the rest-json binding.
package eks

//go:generate go run ../../awsapi/gen -service eks -out . -validation-code InvalidParameterException
