// Package servicediscovery is the wire layer of AWS Cloud Map, generated
// from botocore's model: types, enums, errors, validation and the json
// binding.
package servicediscovery

//go:generate go run ../../awsapi/gen -service servicediscovery -out . -validation-code InvalidInput
