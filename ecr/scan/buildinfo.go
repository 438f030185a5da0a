package scan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime/debug"
	"strings"
)

// Go binaries carry their build information (toolchain version, main
// module, every dependency with its version) in a header that starts with
// buildInfoMagic. Since Go 1.18 the two strings follow the header inline,
// so the information can be read in one pass over the file, without the
// random access debug/buildinfo needs: a layer is a stream, and a binary is
// never held in memory or written to disk whole.
var buildInfoMagic = []byte("\xff Go buildinf:")

const (
	buildInfoHeaderSize = 32
	buildInfoFlagInline = 0x2
	maxGoVersionLen     = 1 << 10
	maxModInfoLen       = 8 << 20
	buildInfoChunk      = 256 << 10
)

// goBinary is what the build information of a Go binary says.
type goBinary struct {
	GoVersion string       `json:"goVersion"`
	Main      debug.Module `json:"main"`
	Deps      []goModule   `json:"deps,omitempty"`
	// Old: the binary predates Go 1.18; its module list is not read.
	Old bool `json:"old,omitempty"`
}

type goModule struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

var errNoBuildInfo = errors.New("no Go build information")

// findBuildInfo reads r, an ELF file, looking for Go build information in
// its first limit bytes. It returns errNoBuildInfo when there is none (not
// a Go binary); other errors are read errors of r.
func findBuildInfo(r io.Reader, limit int64) (*goBinary, error) {
	lr := &io.LimitedReader{R: r, N: limit}
	win := make([]byte, 0, buildInfoChunk+buildInfoHeaderSize+64)
	eof := false
	// fill reads until win holds n bytes or the input ends.
	fill := func(n int) error {
		if n > cap(win) {
			grown := make([]byte, len(win), max(n, 2*cap(win)))
			copy(grown, win)
			win = grown
		}
		for len(win) < n && !eof {
			m, err := lr.Read(win[len(win):cap(win)])
			win = win[:len(win)+m]
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return err
			}
		}
		return nil
	}
	for {
		if err := fill(buildInfoChunk); err != nil {
			return nil, err
		}
		i := bytes.Index(win, buildInfoMagic)
		if i < 0 {
			if eof {
				return nil, errNoBuildInfo
			}
			keep := len(buildInfoMagic) - 1
			if len(win) > keep {
				n := copy(win, win[len(win)-keep:])
				win = win[:n]
			}
			continue
		}
		n := copy(win, win[i:])
		win = win[:n]
		if err := fill(buildInfoHeaderSize + 2*binary.MaxVarintLen64); err != nil {
			return nil, err
		}
		bin, ok, err := decodeBuildInfo(&win, fill)
		if err != nil {
			return nil, err
		}
		if ok {
			return bin, nil
		}
		// Not a header after all (the magic string as data): look further.
		n = copy(win, win[1:])
		win = win[:n]
	}
}

// decodeBuildInfo decodes the header at the start of *win, reading more
// with fill as needed; ok is false when the bytes are not a header.
func decodeBuildInfo(win *[]byte, fill func(int) error) (*goBinary, bool, error) {
	w := *win
	if len(w) < buildInfoHeaderSize {
		return nil, false, nil
	}
	ptrSize, flags := w[len(buildInfoMagic)], w[len(buildInfoMagic)+1]
	if (ptrSize != 4 && ptrSize != 8) || flags&^0x3 != 0 {
		return nil, false, nil
	}
	if flags&buildInfoFlagInline == 0 {
		return &goBinary{Old: true}, true, nil
	}
	vlen, n1 := binary.Uvarint(w[buildInfoHeaderSize:])
	if n1 <= 0 || vlen == 0 || vlen > maxGoVersionLen {
		return nil, false, nil
	}
	need := buildInfoHeaderSize + n1 + int(vlen) + binary.MaxVarintLen64
	if err := fill(need); err != nil {
		return nil, false, err
	}
	w = *win
	if len(w) < buildInfoHeaderSize+n1+int(vlen)+1 {
		return nil, false, nil
	}
	vers := string(w[buildInfoHeaderSize+n1 : buildInfoHeaderSize+n1+int(vlen)])
	if !strings.HasPrefix(vers, "go") && !strings.HasPrefix(vers, "devel") {
		return nil, false, nil
	}
	off := buildInfoHeaderSize + n1 + int(vlen)
	mlen, n2 := binary.Uvarint(w[off:])
	if n2 <= 0 || mlen > maxModInfoLen {
		return nil, false, nil
	}
	if err := fill(off + n2 + int(mlen)); err != nil {
		return nil, false, err
	}
	w = *win
	if len(w) < off+n2+int(mlen) {
		return nil, false, nil
	}
	mod := string(w[off+n2 : off+n2+int(mlen)])
	bin := &goBinary{GoVersion: vers}
	// The module information is framed by 16-byte sentinels.
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	} else {
		mod = ""
	}
	if mod != "" {
		bi, err := debug.ParseBuildInfo(mod)
		if err == nil {
			bin.Main = bi.Main
			for _, d := range bi.Deps {
				if d == nil {
					continue
				}
				m := goModule{Path: d.Path, Version: d.Version}
				if d.Replace != nil {
					m = goModule{Path: d.Replace.Path, Version: d.Replace.Version}
				}
				bin.Deps = append(bin.Deps, m)
			}
		}
	}
	bin.Main.Replace = nil
	return bin, true, nil
}

// goPackages lists what a Go binary at path holds, for matching: its
// modules and the standard library.
func goPackages(bin *goBinary, path, layer string) []Package {
	pkg := func(name, version string) Package {
		return Package{Ecosystem: "Go", Name: name, Version: version, Manager: ManagerGo, Path: path, Layer: layer}
	}
	var out []Package
	if v := goStdlibVersion(bin.GoVersion); v != "" {
		out = append(out, pkg("stdlib", v))
	}
	if bin.Main.Path != "" && bin.Main.Version != "" && bin.Main.Version != "(devel)" {
		out = append(out, pkg(bin.Main.Path, bin.Main.Version))
	}
	for _, d := range bin.Deps {
		if d.Path == "" || d.Version == "" || strings.HasPrefix(d.Path, ".") || strings.HasPrefix(d.Path, "/") {
			continue // a replacement by a local directory has no version
		}
		out = append(out, pkg(d.Path, d.Version))
	}
	return out
}
