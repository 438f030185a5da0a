// Package cloudwatch is the wire layer of Amazon CloudWatch, generated from botocore's
// model: types, enums, errors, validation and the smithy-rpc-v2-cbor binding.
package cloudwatch

//go:generate go run ../../awsapi/gen -service cloudwatch -out . -validation-code ValidationError
