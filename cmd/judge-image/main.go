// Command judge-image writes judge's container image as an OCI archive
// (make image): the static binary given, CA certificates and a non-root
// user on an empty base, built offline and reproducibly.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/canaryjudge/judge/container"
	"github.com/canaryjudge/judge/version"
)

func main() {
	binary := flag.String("binary", "bin/judge-linux", "static judge binary (CGO_ENABLED=0)")
	plugin := flag.String("argo-plugin", "bin/judge-argo-plugin", "static Argo Rollouts plugin binary (make argo-plugin)")
	certs := flag.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle to include (Debian's ca-certificates)")
	out := flag.String("out", "bin/judge-image.tar", "OCI archive to write")
	arch := flag.String("arch", "", "the binary's GOARCH (default: this machine's)")
	var b version.Info
	flag.StringVar(&b.Version, "version", "", "version label and tag")
	flag.StringVar(&b.Commit, "commit", "", "commit label")
	flag.StringVar(&b.Date, "date", "", "the commit's date (RFC 3339): the image's creation time")
	flag.Parse()
	if err := run(*binary, *plugin, *certs, *out, *arch, b); err != nil {
		fmt.Fprintln(os.Stderr, "judge-image:", err)
		os.Exit(1)
	}
}

func run(binary, plugin, certs, out, arch string, b version.Info) error {
	if b.Version == "" {
		return fmt.Errorf("-version: missing")
	}
	img, err := container.Build(container.Spec{Binary: binary, ArgoPlugin: plugin, CACerts: certs, Arch: arch, Build: b})
	if err != nil {
		return err
	}
	ref := "judge:" + b.Version
	if err := container.WriteArchive(img, ref, out); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: %s %s\n", out, ref, digest)
	return nil
}
