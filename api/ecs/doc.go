// Package ecs is the wire layer of Amazon EC2 Container Service, generated from botocore's
// model: types, enums, errors, validation and the json binding.
package ecs

//go:generate go run ../../awsapi/gen -service ecs -out . -validation-code InvalidParameterException
