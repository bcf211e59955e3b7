// Package proto holds judge's API definitions and the code and OpenAPI
// document generated from them (make generate).
package proto

import _ "embed"

// OpenAPI is the OpenAPI v2 document of the HTTP/JSON API.
//
//go:embed judge.swagger.json
var OpenAPI []byte
