// Package images builds Baton's container images without a Docker engine:
// an OCI image from a static binary, written as an OCI image layout in one
// tar file (an "oci-archive": podman load, skopeo copy oci-archive:..., and
// Docker 25+'s docker load read it). Each image has two layers: a base with
// /etc/passwd and /etc/group naming the non-root user 65532, the CA bundle and
// an empty /tmp; and the binary. No shell, no package manager, no libc: the
// binaries are static (CGO_ENABLED=0) and embed their tzdata (time/tzdata).
package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// UID and GID of the user every image runs as.
const UID = 65532

// User is the image config's User.
var User = fmt.Sprintf("%d:%d", UID, UID)

// Spec says what one image holds.
type Spec struct {
	Name    string   // worker, gateway or starter: the binary's name
	Binary  string   // path of the static binary on this machine
	Ports   []string // exposed, e.g. "8080/tcp"
	Version string   // org.opencontainers.image.version
	CACerts string   // CA bundle to ship (default /etc/ssl/certs/ca-certificates.crt)
}

// Specs are Baton's three images, with binaries from binDir.
func Specs(binDir, version string) []Spec {
	return []Spec{
		{Name: "worker", Binary: filepath.Join(binDir, "worker"), Ports: []string{"9091/tcp"}, Version: version},
		{Name: "gateway", Binary: filepath.Join(binDir, "gateway"), Ports: []string{"8080/tcp"}, Version: version},
		{Name: "starter", Binary: filepath.Join(binDir, "starter"), Version: version},
	}
}

// Entrypoint is where the binary sits in the image.
func Entrypoint(name string) string { return "/usr/local/bin/" + name }

// epoch stamps every file and the config, so the same inputs give the same
// digests.
var epoch = time.Unix(0, 0).UTC()

type file struct {
	name string
	mode int64
	uid  int
	dir  bool
	data []byte
}

// Build makes the image.
func Build(s Spec) (v1.Image, error) {
	bin, err := os.ReadFile(s.Binary)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", s.Name, err)
	}
	if err := CheckStatic(s.Binary); err != nil {
		return nil, fmt.Errorf("image %s: %w", s.Name, err)
	}
	ca := s.CACerts
	if ca == "" {
		ca = "/etc/ssl/certs/ca-certificates.crt"
	}
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("image %s: CA bundle (apt-get install ca-certificates): %w", s.Name, err)
	}
	base, err := layer([]file{
		{name: "etc", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nbaton:x:%d:%d:baton:/home/baton:/sbin/nologin\n", UID, UID))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nbaton:x:%d:\n", UID))},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "etc/ssl", mode: 0o755, dir: true},
		{name: "etc/ssl/certs", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: caPEM},
		{name: "home", mode: 0o755, dir: true},
		{name: "home/baton", mode: 0o700, uid: UID, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
	})
	if err != nil {
		return nil, err
	}
	app, err := layer([]file{
		{name: "usr", mode: 0o755, dir: true},
		{name: "usr/local", mode: 0o755, dir: true},
		{name: "usr/local/bin", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(Entrypoint(s.Name), "/"), mode: 0o755, data: bin},
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), base, app)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{Entrypoint(s.Name)}
	cf.Config.Cmd = nil
	cf.Config.User = User
	cf.Config.WorkingDir = "/home/baton"
	cf.Config.Env = []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "HOME=/home/baton"}
	if len(s.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range s.Ports {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   "baton-" + s.Name,
		"org.opencontainers.image.source":  "https://github.com/batonhq/baton",
		"org.opencontainers.image.version": s.Version,
	}
	return mutate.ConfigFile(img, cf)
}

// layer makes a gzip'd OCI layer of files, in order, owned by root unless
// said otherwise.
func layer(files []file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: epoch, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, f.name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// WriteArchive writes img as an OCI image layout in one tar file, tagged
// ref (the org.opencontainers.image.ref.name annotation, e.g. "baton-worker:dev").
func WriteArchive(file string, img v1.Image, ref string) error {
	dir, err := os.MkdirTemp("", "baton-oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return err
	}
	tmp := file + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := tarDir(out, dir); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

func tarDir(w io.Writer, dir string) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, p := range names {
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}
		if fi.IsDir() {
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", 0o755
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// ReadArchive reads back the one image of an archive WriteArchive wrote,
// with its ref name. dir receives the unpacked layout and must outlive the
// image.
func ReadArchive(file, dir string) (v1.Image, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		name := path.Clean(h.Name)
		if strings.HasPrefix(name, "..") || path.IsAbs(name) {
			return nil, "", fmt.Errorf("%s: entry %q escapes the archive", file, h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return nil, "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, "", err
		}
		out, err := os.Create(target)
		if err != nil {
			return nil, "", err
		}
		_, err = io.Copy(out, tr)
		out.Close()
		if err != nil {
			return nil, "", err
		}
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, "", err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, "", err
	}
	if len(m.Manifests) != 1 {
		return nil, "", fmt.Errorf("%s: %d manifests; want 1", file, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	return img, m.Manifests[0].Annotations["org.opencontainers.image.ref.name"], err
}
