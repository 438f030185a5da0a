// Package logs is the wire layer of Amazon CloudWatch Logs, generated from botocore's
// model: types, enums, errors, validation and the json binding.
package logs

//go:generate go run ../../awsapi/gen -service logs -out . -validation-code InvalidParameterException
