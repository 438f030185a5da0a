package scan

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/url"
	"os"
	"strings"

	_ "modernc.org/sqlite" // the rpm database of RHEL 9, Fedora 33+, openSUSE: SQLite
)

// rpm header tags and types read from a package's header blob.
const (
	rpmTagName      = 1000
	rpmTagVersion   = 1001
	rpmTagRelease   = 1002
	rpmTagEpoch     = 1003
	rpmTagArch      = 1022
	rpmTagSourceRPM = 1044

	rpmTypeInt32       = 4
	rpmTypeString      = 6
	rpmTypeStringArray = 8
	rpmTypeI18NString  = 9
)

// parseRpmSqlite reads the packages of an rpmdb.sqlite. SQLite needs a
// file: the database (at most Limits.MaxDatabaseBytes) is written to a
// temporary file that is removed before returning, and opened read-only
// and immutable.
func parseRpmSqlite(ctx context.Context, data []byte, path, layer string) ([]Package, error) {
	f, err := os.CreateTemp("", "berth-rpmdb-*.sqlite")
	if err != nil {
		return nil, err
	}
	name := f.Name()
	defer os.Remove(name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: name, RawQuery: "mode=ro&immutable=1"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT blob FROM Packages`)
	if err != nil {
		return nil, layerErr(layer, "%s is not an rpm database: %v", path, err)
	}
	defer rows.Close()
	var out []Package
	for rows.Next() {
		var blob []byte
		if err := rows.Scan(&blob); err != nil {
			return nil, layerErr(layer, "%s: %v", path, err)
		}
		p, err := parseRpmHeader(blob)
		if err != nil {
			return nil, layerErr(layer, "%s: %v", path, err)
		}
		if p.Name == "" || p.Name == "gpg-pubkey" {
			continue // imported signing keys are kept as pseudo-packages
		}
		p.Manager, p.Path, p.Layer = ManagerRpm, path, layer
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, layerErr(layer, "%s: %v", path, err)
	}
	return out, nil
}

// parseRpmHeader reads the tags Berth needs from an rpm header blob as the
// database stores it: index length and data length (big-endian int32),
// the index entries (tag, type, offset, count), then the data store.
func parseRpmHeader(b []byte) (Package, error) {
	var p Package
	if len(b) < 8 {
		return p, fmt.Errorf("rpm header of %d bytes is truncated", len(b))
	}
	il, dl := binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8])
	if il > 1<<16 || dl > 1<<28 || uint64(8)+uint64(il)*16+uint64(dl) > uint64(len(b)) {
		return p, fmt.Errorf("rpm header claims %d entries and %d bytes of data, more than its %d bytes", il, dl, len(b))
	}
	index := b[8 : 8+il*16]
	data := b[8+il*16 : 8+il*16+dl]
	str := func(off uint32) string {
		if off >= uint32(len(data)) {
			return ""
		}
		s := data[off:]
		if i := indexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return string(s)
	}
	epoch := ""
	for i := uint32(0); i < il; i++ {
		e := index[i*16 : i*16+16]
		tag := binary.BigEndian.Uint32(e[0:4])
		typ := binary.BigEndian.Uint32(e[4:8])
		off := binary.BigEndian.Uint32(e[8:12])
		switch tag {
		case rpmTagName, rpmTagVersion, rpmTagRelease, rpmTagArch, rpmTagSourceRPM:
			if typ != rpmTypeString && typ != rpmTypeI18NString && typ != rpmTypeStringArray {
				continue
			}
			v := str(off)
			switch tag {
			case rpmTagName:
				p.Name = v
			case rpmTagVersion:
				p.Version = v
			case rpmTagRelease:
				p.SourceVersion = v // the release, until assembled below
			case rpmTagArch:
				p.Arch = v
			case rpmTagSourceRPM:
				p.SourceName = v
			}
		case rpmTagEpoch:
			if typ == rpmTypeInt32 && uint64(off)+4 <= uint64(len(data)) {
				epoch = fmt.Sprint(binary.BigEndian.Uint32(data[off : off+4]))
			}
		}
	}
	release := p.SourceVersion
	evr := p.Version
	if release != "" {
		evr += "-" + release
	}
	if epoch != "" && epoch != "0" {
		evr = epoch + ":" + evr
	}
	p.Version = evr
	p.SourceVersion = ""
	// SOURCERPM is name-version-release.src.rpm: keep the name, the
	// source's version is the binary package's.
	if src := strings.TrimSuffix(p.SourceName, ".src.rpm"); src != p.SourceName {
		parts := strings.Split(src, "-")
		if len(parts) >= 3 {
			p.SourceName = strings.Join(parts[:len(parts)-2], "-")
			p.SourceVersion = evr
		} else {
			p.SourceName = ""
		}
	} else {
		p.SourceName = ""
	}
	return p, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
