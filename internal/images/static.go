package images

import (
	"debug/elf"
	"fmt"
	"strings"
)

// CheckStatic refuses a binary that needs a dynamic loader or shared
// libraries: the images hold no libc.
func CheckStatic(file string) error {
	f, err := elf.Open(file)
	if err != nil {
		return fmt.Errorf("%s: not an ELF binary: %w", file, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (build it with CGO_ENABLED=0)", file)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("%s needs shared libraries %v (build it with CGO_ENABLED=0)", file, libs)
	}
	return nil
}

// HasTZData reports whether the binary embeds the time zone database
// (package time/tzdata), so it needs no /usr/share/zoneinfo. It reads the
// symbol table: build without -s.
func HasTZData(file string) (bool, error) {
	f, err := elf.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return false, fmt.Errorf("%s: %w (built with -s?)", file, err)
	}
	for _, s := range syms {
		if strings.HasPrefix(s.Name, "time/tzdata.") {
			return true, nil
		}
	}
	return false, nil
}
