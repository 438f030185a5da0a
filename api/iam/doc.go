// Package iam is the wire layer of AWS Identity and Access Management, generated from botocore's
// model: types, enums, errors, validation and the query binding.
package iam

//go:generate go run ../../awsapi/gen -service iam -out . -validation-code ValidationError
