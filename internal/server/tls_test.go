package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var testNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// issued is a certificate and its key, as PEM files in a folder.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// certFile and keyFile hold the PEM; certFile has the chain up to, not including, the root.
	certFile, keyFile string
}

// issue makes a certificate for host valid from notBefore to notAfter, signed by parent (nil
// for a self-signed CA), and writes it to dir/name.crt and dir/name.key.
func issue(t *testing.T, dir, name, host string, notBefore, notAfter time.Time, parent *issued) *issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if host != "" {
		tmpl.DNSNames = []string{host}
	} else {
		tmpl.IsCA = true
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	out := &issued{cert: cert, key: key, certFile: filepath.Join(dir, name+".crt"), keyFile: filepath.Join(dir, name+".key")}
	writeFile(t, out.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, out.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	return out
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadTLSWithoutFlagsServesHTTP(t *testing.T) {
	got, err := loadTLS(t.TempDir(), tlsFiles{}, []string{"127.0.0.1"}, "", testNow)
	if err != nil || got != (serverTLS{}) {
		t.Fatalf("loadTLS() = %+v, %v; want nothing for HTTP", got, err)
	}
}

func TestLoadTLSSelfSignedIsKeptAndRenewed(t *testing.T) {
	home := t.TempDir()
	hosts := []string{"127.0.0.1", "localhost"}
	// served is the certificate a loaded configuration serves, checked against the CA it
	// says agents pin, for host.
	served := func(got serverTLS, host string, at time.Time) *x509.Certificate {
		t.Helper()
		leaf, err := x509.ParseCertificate(got.config.Certificates[0].Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM([]byte(got.caPEM))
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: at}); err != nil {
			t.Errorf("the served certificate does not verify against the pinned CA for %s: %v", host, err)
		}
		return leaf
	}

	first, err := loadTLS(home, tlsFiles{selfSigned: true}, hosts, "", testNow)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, _ := os.ReadFile(filepath.Join(home, selfSignedCA))
	if first.caPEM == "" || first.caPEM != string(onDisk) || first.caFile != filepath.Join(home, selfSignedCA) || first.replaced {
		t.Fatalf("self-signed: caFile %q, caPEM %d bytes, replaced %v; want the data folder's new CA", first.caFile, len(first.caPEM), first.replaced)
	}
	firstLeaf := served(first, "localhost", testNow)
	for _, key := range []string{selfSignedKey, selfSignedCAKey} {
		if info, err := os.Stat(filepath.Join(home, key)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", key, info.Mode(), err)
		}
	}

	again, err := loadTLS(home, tlsFiles{selfSigned: true}, hosts, "", testNow.Add(300*24*time.Hour))
	if err != nil || !served(again, "localhost", testNow.Add(300*24*time.Hour)).Equal(firstLeaf) || again.replaced {
		t.Errorf("a restart within the lifetime made a new certificate (err %v)", err)
	}
	renewed, err := loadTLS(home, tlsFiles{selfSigned: true}, hosts, "", testNow.Add(340*24*time.Hour))
	if err != nil || served(renewed, "localhost", testNow.Add(340*24*time.Hour)).Equal(firstLeaf) || renewed.caPEM != first.caPEM || renewed.replaced {
		t.Errorf("fewer than 30 days left: want a new certificate from the same CA (err %v, replaced %v)", err, renewed.replaced)
	}
	moved, err := loadTLS(home, tlsFiles{selfSigned: true}, append(hosts, "berth.example.com"), "", testNow.Add(340*24*time.Hour))
	if err != nil || moved.caPEM != first.caPEM || moved.replaced {
		t.Errorf("a new advertised host: want a new certificate from the same CA (err %v, replaced %v)", err, moved.replaced)
	}
	served(moved, "berth.example.com", testNow.Add(340*24*time.Hour))
	// Agents installed with the previous host keep dialling it.
	movedAgain, err := loadTLS(home, tlsFiles{selfSigned: true}, append(hosts, "berth2.example.com"), "", testNow.Add(340*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	leaf := served(movedAgain, "berth2.example.com", testNow.Add(340*24*time.Hour))
	served(movedAgain, "berth.example.com", testNow.Add(340*24*time.Hour))
	if n := len(leaf.IPAddresses); n != 1 {
		t.Errorf("the certificate names %d IP addresses, want 127.0.0.1 once: %v", n, leaf.IPAddresses)
	}

	caEnd := testNow.Add(selfSignedCALifetime - 20*24*time.Hour)
	newCA, err := loadTLS(home, tlsFiles{selfSigned: true}, hosts, "", caEnd)
	if err != nil || newCA.caPEM == first.caPEM || !newCA.replaced {
		t.Errorf("a CA with 20 days left: want a new one, said replaced (err %v, replaced %v)", err, newCA.replaced)
	}
}

// A data folder whose server certificate was its own CA, as berth made them before, gets a
// CA, and says agents pinned what went.
func TestLoadTLSSelfSignedFromAnOlderDataFolder(t *testing.T) {
	home := t.TempDir()
	old := issue(t, t.TempDir(), "old", "localhost", testNow.Add(-time.Hour), testNow.Add(300*24*time.Hour), nil)
	os.MkdirAll(filepath.Join(home, "tls"), 0o700)
	for from, to := range map[string]string{old.certFile: selfSignedCert, old.keyFile: selfSignedKey} {
		data, _ := os.ReadFile(from)
		os.WriteFile(filepath.Join(home, to), data, 0o600)
	}
	got, err := loadTLS(home, tlsFiles{selfSigned: true}, []string{"localhost"}, "", testNow)
	if err != nil || !got.replaced || got.caFile != filepath.Join(home, selfSignedCA) {
		t.Fatalf("loadTLS = replaced %v, caFile %q, %v; want a new CA, said replaced", got.replaced, got.caFile, err)
	}
	leaf, _ := x509.ParseCertificate(got.config.Certificates[0].Certificate[0])
	if leaf.Equal(old.cert) {
		t.Errorf("the old certificate is still served")
	}
}

func TestLoadTLSGivenPair(t *testing.T) {
	dir := t.TempDir()
	day := 24 * time.Hour
	ca := issue(t, dir, "ca", "", testNow.Add(-day), testNow.Add(365*day), nil)
	server := issue(t, dir, "server", "berth.example.com", testNow.Add(-day), testNow.Add(90*day), ca)

	got, err := loadTLS(dir, tlsFiles{cert: server.certFile, key: server.keyFile}, nil, "berth.example.com", testNow)
	if err != nil || got.config == nil || got.caPEM != "" || got.caFile != "" {
		t.Fatalf("a publicly trusted pair: %+v, %v; want a config and nothing to pin", got, err)
	}
	got, err = loadTLS(dir, tlsFiles{cert: server.certFile, key: server.keyFile, ca: ca.certFile}, nil, "", testNow)
	caPEM, _ := os.ReadFile(ca.certFile)
	if err != nil || got.caPEM != string(caPEM) || got.caFile != ca.certFile {
		t.Fatalf("a pair from a private CA: caFile %q, %v; want --tls-ca pinned", got.caFile, err)
	}

	// A chain: the server's certificate from an intermediate, both in --tls-cert.
	inter := issue(t, dir, "intermediate", "", testNow.Add(-day), testNow.Add(365*day), ca)
	leaf := issue(t, dir, "leaf", "berth.example.com", testNow.Add(-day), testNow.Add(90*day), inter)
	leafPEM, _ := os.ReadFile(leaf.certFile)
	interPEM, _ := os.ReadFile(inter.certFile)
	writeFile(t, leaf.certFile, append(leafPEM, interPEM...))
	if _, err := loadTLS(dir, tlsFiles{cert: leaf.certFile, key: leaf.keyFile, ca: ca.certFile}, nil, "", testNow); err != nil {
		t.Errorf("a chain through an intermediate: %v", err)
	}
}

func TestLoadTLSRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	day := 24 * time.Hour
	ca := issue(t, dir, "ca", "", testNow.Add(-day), testNow.Add(365*day), nil)
	otherCA := issue(t, dir, "other-ca", "", testNow.Add(-day), testNow.Add(365*day), nil)
	good := issue(t, dir, "server", "berth.example.com", testNow.Add(-day), testNow.Add(90*day), ca)
	expired := issue(t, dir, "expired", "berth.example.com", testNow.Add(-90*day), testNow.Add(-day), ca)
	future := issue(t, dir, "future", "berth.example.com", testNow.Add(day), testNow.Add(90*day), ca)
	notPEM := filepath.Join(dir, "notes.txt")
	writeFile(t, notPEM, []byte("not a certificate\n"))
	missing := filepath.Join(dir, "missing.pem")

	tests := []struct {
		name string
		f    tlsFiles
		host string
		want string
	}{
		{"key of another certificate", tlsFiles{cert: good.certFile, key: otherCA.keyFile}, "",
			"loading --tls-cert " + good.certFile + " and --tls-key " + otherCA.keyFile + ": tls: private key does not match public key; give a PEM certificate (chain) and its own private key"},
		{"missing certificate", tlsFiles{cert: missing, key: good.keyFile}, "",
			"loading --tls-cert " + missing + " and --tls-key " + good.keyFile + ": open " + missing + ": no such file or directory; give a PEM certificate (chain) and its own private key"},
		{"expired", tlsFiles{cert: expired.certFile, key: expired.keyFile}, "",
			"--tls-cert " + expired.certFile + " expired at 2026-12-03T12:00:00Z; renew it"},
		{"not yet valid", tlsFiles{cert: future.certFile, key: future.keyFile}, "",
			"--tls-cert " + future.certFile + " is not valid before 2026-12-05T12:00:00Z; check this machine's clock or the certificate"},
		{"another host than the advertised one", tlsFiles{cert: good.certFile, key: good.keyFile}, "ml.example.org",
			"--tls-cert " + good.certFile + " does not name ml.example.org, the host agents dial (--advertise-url, by default the listen address), so they would refuse it; " +
				"use a certificate for that host or advertise a host it names with --advertise-url: x509: certificate is valid for berth.example.com, not ml.example.org"},
		{"missing CA", tlsFiles{cert: good.certFile, key: good.keyFile, ca: missing}, "",
			"--tls-ca: open " + missing + ": no such file or directory; give the PEM certificate of the CA that issued --tls-cert"},
		{"CA file without a certificate", tlsFiles{cert: good.certFile, key: good.keyFile, ca: notPEM}, "",
			"--tls-ca " + notPEM + " holds no PEM certificate; give the certificate of the CA that issued --tls-cert"},
		{"another CA", tlsFiles{cert: good.certFile, key: good.keyFile, ca: otherCA.certFile}, "",
			"--tls-cert " + good.certFile + " is not issued by --tls-ca " + otherCA.certFile +
				" (x509: certificate signed by unknown authority); give the CA that signed it, or its chain in --tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadTLS(dir, tt.f, nil, tt.host, testNow)
			var option *OptionError
			if err == nil || err.Error() != tt.want || !errors.As(err, &option) {
				t.Fatalf("loadTLS() = %+v, %v\nwant the option error %q", got, err, tt.want)
			}
		})
	}
}
