// Package scan is Berth's image scanner: it reads the packages really
// installed in an image from its layers (Extract), loads an offline
// vulnerability database in OSV format (LoadDB, Source) and matches one
// against the other with each ecosystem's own version ordering (DB.Match).
//
// Layers are hostile input. Extraction streams them (gzip, zstd or plain
// tar), never writes them to disk, never follows a link out of the image,
// reads at most Limits bytes of any file and of any layer, and reports what
// it refuses as a *LayerError naming the layer and the reason.
//
// The package knows nothing of ECR or of the registry: the ecr package
// opens the blobs, keeps inventories and findings, and renders them as the
// ECR API does.
package scan

import (
	"errors"
	"fmt"
)

// Package managers an inventory names.
const (
	ManagerDpkg = "dpkg"
	ManagerApk  = "apk"
	ManagerRpm  = "rpm"
	ManagerGo   = "go" // a Go binary's embedded build information
)

// Package is one installed package (or, for a Go binary, one module it was
// built from, or the Go standard library as "stdlib").
type Package struct {
	// Ecosystem is the OSV ecosystem the package is matched in: "Debian:12",
	// "Alpine:v3.19", "Go" ...; empty when the image's distribution is not
	// known (the package is listed but not matched).
	Ecosystem string `json:"ecosystem,omitempty"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	// SourceName and SourceVersion are the source package the binary package
	// was built from (dpkg Source, apk origin, rpm SOURCERPM): distribution
	// advisories are written against source packages.
	SourceName    string `json:"sourceName,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	Arch          string `json:"arch,omitempty"`
	Manager       string `json:"manager"`
	// Path is the file the package was found in: the package database, or
	// the Go binary.
	Path string `json:"path,omitempty"`
	// Layer is the digest of the layer that last wrote Path.
	Layer string `json:"layer,omitempty"`
}

// OSInfo is what etc/os-release says.
type OSInfo struct {
	ID         string `json:"id,omitempty"`
	VersionID  string `json:"versionId,omitempty"`
	Codename   string `json:"codename,omitempty"`
	PrettyName string `json:"prettyName,omitempty"`
}

// Inventory is what a scan found in an image: it is kept, so that findings
// can be recomputed when the database changes without reading the layers
// again.
type Inventory struct {
	OS       OSInfo    `json:"os"`
	Packages []Package `json:"packages"`
	// Notes are what the extractor passed over (a Go binary too old to
	// carry module information, an rpm database in a format it does not
	// read ...): the scan still completes.
	Notes []string `json:"notes,omitempty"`
}

// Limits bound what one scan reads. The zero value of a field means its
// default.
type Limits struct {
	// MaxLayerBytes is the most uncompressed bytes read from one layer.
	MaxLayerBytes int64
	// MaxFileBytes is the most bytes a sparse file may claim; a sparse entry
	// larger than this is refused.
	MaxFileBytes int64
	// MaxDatabaseBytes is the most bytes of a package database
	// (var/lib/dpkg/status, lib/apk/db/installed, rpmdb.sqlite, os-release).
	MaxDatabaseBytes int64
	// MaxBinaryBytes is how far into an ELF file the Go build information is
	// looked for.
	MaxBinaryBytes int64
	// MaxEntries is the most tar entries of one layer.
	MaxEntries int
	// Parallel is how many layers are read at once.
	Parallel int
}

// Default limits.
const (
	DefaultMaxLayerBytes    = 16 << 30
	DefaultMaxFileBytes     = 1 << 30
	DefaultMaxDatabaseBytes = 128 << 20
	DefaultMaxBinaryBytes   = 512 << 20
	DefaultMaxEntries       = 1_000_000
	DefaultParallel         = 4
)

func (l Limits) withDefaults() Limits {
	if l.MaxLayerBytes <= 0 {
		l.MaxLayerBytes = DefaultMaxLayerBytes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	if l.MaxDatabaseBytes <= 0 {
		l.MaxDatabaseBytes = DefaultMaxDatabaseBytes
	}
	if l.MaxBinaryBytes <= 0 {
		l.MaxBinaryBytes = DefaultMaxBinaryBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.Parallel <= 0 {
		l.Parallel = DefaultParallel
	}
	return l
}

// ErrUnscannable is matched (errors.Is) by every *LayerError: the image's
// content was refused, as opposed to the scanner failing to read it.
var ErrUnscannable = errors.New("scan: image cannot be scanned")

// LayerError says why a layer was refused.
type LayerError struct {
	// Layer is the layer's digest; empty when the problem is the merged
	// file system (a link pointing out of the image).
	Layer string
	// Reason is for people: "gzip: invalid header", "entry ../x escapes the
	// layer root" ...
	Reason string
}

func (e *LayerError) Error() string {
	if e.Layer == "" {
		return e.Reason
	}
	return fmt.Sprintf("layer %s: %s", e.Layer, e.Reason)
}

// Is makes errors.Is(err, ErrUnscannable) hold.
func (e *LayerError) Is(target error) bool { return target == ErrUnscannable }

func layerErr(layer, format string, args ...any) error {
	return &LayerError{Layer: layer, Reason: fmt.Sprintf(format, args...)}
}
