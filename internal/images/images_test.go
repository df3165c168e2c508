package images_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"archive/tar"
	"io"

	"github.com/batonhq/baton/internal/images"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestImages builds the three binaries the way `make images` does (static,
// CGO_ENABLED=0), writes each image archive, reads it back and checks what a
// registry and a runtime would see: OCI media types, two layers, the
// entrypoint, a non-root user, no shell anywhere, a static binary with
// embedded tzdata; then unpacks the root filesystem and runs the entrypoint
// with --help inside it (chroot, as the image's user, when the test runs as
// root), which only works because the binary needs nothing else from the
// image.
func TestImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three static binaries")
	}
	root, _ := filepath.Abs("../..")
	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-w", "-o", bin+"/", "./worker", "./gateway", "./starter")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	out := t.TempDir()
	for _, s := range images.Specs(bin, "test") {
		t.Run(s.Name, func(t *testing.T) {
			img, err := images.Build(s)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(out, "baton-"+s.Name+".oci.tar")
			if err := images.WriteArchive(file, img, "baton-"+s.Name+":test"); err != nil {
				t.Fatal(err)
			}
			back, ref, err := images.ReadArchive(file, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if ref != "baton-"+s.Name+":test" {
				t.Errorf("ref name %q", ref)
			}
			want, _ := img.Digest()
			got, _ := back.Digest()
			if want != got {
				t.Errorf("digest read back %s; wrote %s", got, want)
			}
			checkImage(t, back, s.Name)
		})
	}

	// Same inputs, same digest: nothing in the image depends on when or
	// where it was built.
	s := images.Specs(bin, "test")[0]
	a, _ := images.Build(s)
	b, _ := images.Build(s)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds of the same binary: %s and %s", da, db)
	}
}

func checkImage(t *testing.T, img v1.Image, name string) {
	t.Helper()
	mt, _ := img.MediaType()
	if mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s", mt)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("config media type %s", m.Config.MediaType)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%d layers; want 2 (base, binary)", len(layers))
	}
	for i, l := range layers {
		lmt, _ := l.MediaType()
		if lmt != types.OCILayer {
			t.Errorf("layer %d media type %s", i, lmt)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	entry := images.Entrypoint(name)
	if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != entry {
		t.Errorf("entrypoint %q; want [%s]", cf.Config.Entrypoint, entry)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q; want 65532:65532", cf.Config.User)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}

	// Every file in the flattened filesystem: no shell, the binary where the
	// entrypoint says, executable, owned by root (the user cannot rewrite it).
	rootfs := t.TempDir()
	var files []string
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.TrimSuffix(path.Clean(h.Name), "/")
		files = append(files, p)
		switch base := path.Base(p); base {
		case "sh", "bash", "dash", "ash", "busybox", "zsh":
			t.Errorf("the image holds a shell: %s", p)
		}
		target := filepath.Join(rootfs, filepath.FromSlash(p))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, os.FileMode(h.Mode).Perm()|os.ModeDir); err != nil {
				t.Fatal(err)
			}
			os.Chmod(target, os.FileMode(h.Mode).Perm())
			os.Lchown(target, h.Uid, h.Gid)
		case tar.TypeReg:
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, tr); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target, buf.Bytes(), os.FileMode(h.Mode).Perm()); err != nil {
				t.Fatal(err)
			}
			if p == entry && (h.Mode&0o111 == 0 || h.Uid != 0) {
				t.Errorf("%s: mode %o uid %d; want executable and root-owned", p, h.Mode, h.Uid)
			}
		default:
			t.Errorf("%s: unexpected entry type %c", p, h.Typeflag)
		}
	}
	for _, want := range []string{entry, "/etc/passwd", "/etc/group", "/etc/ssl/certs/ca-certificates.crt", "/tmp"} {
		found := false
		for _, f := range files {
			found = found || f == want
		}
		if !found {
			t.Errorf("the image has no %s", want)
		}
	}
	os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777)

	bin := filepath.Join(rootfs, entry)
	if err := images.CheckStatic(bin); err != nil {
		t.Error(err)
	}
	if ok, err := images.HasTZData(bin); err != nil || !ok {
		t.Errorf("%s embeds no tzdata (%v)", entry, err)
	}

	// --help from the unpacked root, with nothing of this machine in reach.
	cmd := exec.Command(entry, "--help")
	cmd.Env = cf.Config.Env
	cmd.Dir = "/"
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs, Credential: &syscall.Credential{Uid: images.UID, Gid: images.UID}}
	} else {
		t.Logf("not root: running %s --help from the unpacked root without chroot", entry)
		cmd.Path, cmd.Dir = bin, rootfs
	}
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help in the image's root: %v\n%s", entry, err, outb)
	}
	if !strings.Contains(string(outb), "Usage") && !strings.Contains(string(outb), "Available Commands") {
		t.Errorf("%s --help printed no usage:\n%s", entry, outb)
	}
	t.Logf("%s --help (chroot=%v): %d bytes of usage, %d files in the image", entry, os.Geteuid() == 0, len(outb), len(files))
}
