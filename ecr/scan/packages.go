package scan

import (
	"bufio"
	"bytes"
	"strings"
)

// parseOSRelease reads os-release(5): KEY=value lines, values optionally
// quoted.
func parseOSRelease(data []byte) OSInfo {
	var info OSInfo
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		v = strings.ReplaceAll(v, `\"`, `"`)
		switch k {
		case "ID":
			info.ID = strings.ToLower(v)
		case "VERSION_ID":
			info.VersionID = v
		case "VERSION_CODENAME":
			info.Codename = v
		case "PRETTY_NAME":
			info.PrettyName = v
		}
	}
	return info
}

// debianReleases maps Debian codenames to release numbers, for testing and
// unstable images whose os-release has no VERSION_ID.
var debianReleases = map[string]string{
	"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
}

// osEcosystem is the OSV ecosystem of an image's distribution packages;
// "" when Berth cannot name it.
func osEcosystem(info OSInfo) string {
	majorMinor := func(v string) string {
		parts := strings.SplitN(v, ".", 3)
		if len(parts) >= 2 {
			return parts[0] + "." + parts[1]
		}
		return v
	}
	major := func(v string) string {
		m, _, _ := strings.Cut(v, ".")
		return m
	}
	switch info.ID {
	case "debian":
		v := major(info.VersionID)
		if v == "" {
			v = debianReleases[info.Codename]
		}
		if v == "" {
			return "Debian"
		}
		return "Debian:" + v
	case "ubuntu":
		if info.VersionID == "" {
			return "Ubuntu"
		}
		return "Ubuntu:" + info.VersionID
	case "alpine":
		if info.VersionID == "" {
			return "Alpine"
		}
		v := majorMinor(info.VersionID)
		if i := strings.IndexByte(v, '_'); i >= 0 {
			v = v[:i]
		}
		return "Alpine:v" + v
	case "wolfi":
		return "Wolfi"
	case "chainguard":
		return "Chainguard"
	case "rocky":
		return "Rocky Linux:" + major(info.VersionID)
	case "almalinux":
		return "AlmaLinux:" + major(info.VersionID)
	case "opensuse-leap":
		return "openSUSE:Leap " + info.VersionID
	case "mageia":
		return "Mageia:" + info.VersionID
	case "openeuler":
		return "openEuler:" + info.VersionID
	}
	return ""
}

// paragraphs splits a Debian control file (or an apk installed database)
// into its blank-line separated stanzas.
func paragraphs(data []byte, fn func(fields map[string]string)) {
	fields := map[string]string{}
	last := ""
	flush := func() {
		if len(fields) > 0 {
			fn(fields)
		}
		fields = map[string]string{}
		last = ""
	}
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			// A continuation line: only the first line of a field matters
			// here, except to skip it.
			if last != "" && len(fields[last]) < 4096 {
				fields[last] += "\n" + strings.TrimSpace(string(line))
			}
			continue
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		last = string(k)
		fields[last] = strings.TrimSpace(string(v))
	}
	flush()
}

// parseDpkgStatus reads a dpkg status file (or one file of distroless's
// status.d): the packages whose status says they are installed.
func parseDpkgStatus(data []byte, path, layer string) []Package {
	var out []Package
	paragraphs(data, func(f map[string]string) {
		name, version := f["Package"], f["Version"]
		if name == "" || version == "" {
			return
		}
		if st, ok := f["Status"]; ok {
			// "install ok installed": the last word is the state.
			words := strings.Fields(st)
			if len(words) == 0 || words[len(words)-1] != "installed" {
				return
			}
		}
		p := Package{Name: name, Version: version, Arch: f["Architecture"], Manager: ManagerDpkg, Path: path, Layer: layer}
		if src := f["Source"]; src != "" {
			// "Source: name" or "Source: name (version)".
			n, v, _ := strings.Cut(src, " ")
			p.SourceName = n
			v = strings.TrimSpace(v)
			if strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")") {
				p.SourceVersion = v[1 : len(v)-1]
			}
		}
		out = append(out, p)
	})
	return out
}

// parseApkInstalled reads apk's lib/apk/db/installed: stanzas of "X:value"
// lines; P is the package, V its version, o its origin (source) package,
// A its architecture.
func parseApkInstalled(data []byte, path, layer string) []Package {
	var out []Package
	cur := Package{}
	flush := func() {
		if cur.Name != "" && cur.Version != "" {
			cur.Manager, cur.Path, cur.Layer = ManagerApk, path, layer
			if cur.SourceName != "" {
				cur.SourceVersion = cur.Version
			}
			out = append(out, cur)
		}
		cur = Package{}
	}
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		v := string(line[2:])
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'o':
			cur.SourceName = v
		case 'A':
			cur.Arch = v
		}
	}
	flush()
	return out
}
