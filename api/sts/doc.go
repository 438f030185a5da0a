// Package sts is the wire layer of AWS Security Token Service, generated from botocore's
// model: types, enums, errors, validation and the query binding.
package sts

//go:generate go run ../../awsapi/gen -service sts -out . -validation-code ValidationError
