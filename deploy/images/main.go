// Command images writes Baton's OCI image archives (worker, gateway,
// starter) from static binaries, with no Docker engine: `make images`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/batonhq/baton/internal/images"
)

func main() {
	bin := flag.String("bin", ".bin/static", "directory with the static worker, gateway and starter binaries")
	out := flag.String("out", ".bin/images", "directory the archives are written to")
	version := flag.String("version", "dev", "image tag and org.opencontainers.image.version")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	for _, s := range images.Specs(*bin, *version) {
		if ok, err := images.HasTZData(s.Binary); err != nil || !ok {
			fail(fmt.Errorf("%s: no embedded tzdata (import time/tzdata): %v", s.Binary, err))
		}
		img, err := images.Build(s)
		if err != nil {
			fail(err)
		}
		ref := "baton-" + s.Name + ":" + *version
		file := filepath.Join(*out, "baton-"+s.Name+".oci.tar")
		if err := images.WriteArchive(file, img, ref); err != nil {
			fail(err)
		}
		d, _ := img.Digest()
		fi, _ := os.Stat(file)
		fmt.Printf("%-40s %-24s %s  %.1f MB\n", file, ref, d, float64(fi.Size())/1e6)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "images:", err)
	os.Exit(1)
}
