// Package elbv2 is the wire layer of Elastic Load Balancing, generated from botocore's
// model: types, enums, errors, validation and the query binding.
package elbv2

//go:generate go run ../../awsapi/gen -service elbv2 -out . -validation-code ValidationError
