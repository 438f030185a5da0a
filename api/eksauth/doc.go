// Package eksauth is the wire layer of Amazon EKS Auth, generated from botocore's
// model: types, enums, errors, validation and the rest-json binding.
package eksauth

//go:generate go run ../../awsapi/gen -service eks-auth -out . -validation-code InvalidParameterException
