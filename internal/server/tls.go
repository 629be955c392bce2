package server

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files of the generated pair, in the data folder: a CA that agents and the CLI pin, and the
// server's certificate it signs. A new advertised host or a renewal gives a new server
// certificate from the same CA, so what is pinned stays valid.
const (
	selfSignedCA    = "tls/ca.crt"
	selfSignedCAKey = "tls/ca.key"
	selfSignedCert  = "tls/server.crt"
	selfSignedKey   = "tls/server.key"
)

// Lifetimes of the generated certificates. Each is made again when fewer than renewBefore
// are left; the server's also when it does not name a host agents dial.
const (
	selfSignedCALifetime = 10 * 365 * 24 * time.Hour
	selfSignedLifetime   = 365 * 24 * time.Hour
	renewBefore          = 30 * 24 * time.Hour
)

// tlsFiles are the server's TLS flags.
type tlsFiles struct {
	cert, key, ca string
	selfSigned    bool
}

// serverTLS is what loadTLS returns: the listener's configuration, and the certificate agents
// and the CLI pin (PEM, and the file it is in) when the server's is not publicly trusted.
type serverTLS struct {
	config *tls.Config
	caPEM  string
	caFile string
	// replaced says the generated CA agents may already pin was replaced.
	replaced bool
}

// loadTLS returns the server's certificate: the given pair (checked to be valid at now, to
// name pinnedHost when there is one, and to be issued by the given CA, which agents then
// pin), or the data folder's self-signed pair for hosts (created or renewed as needed), which
// agents pin. No TLS flag gives a zero serverTLS, for HTTP.
func loadTLS(home string, f tlsFiles, hosts []string, pinnedHost string, now time.Time) (serverTLS, error) {
	if f.cert != "" {
		return loadGivenPair(f, pinnedHost, now)
	}
	if !f.selfSigned {
		return serverTLS{}, nil
	}
	ca, caKey, replaced, err := loadOrCreateCA(home, now)
	if err != nil {
		return serverTLS{}, fmt.Errorf("generating the server's CA: %w", err)
	}
	certPath, keyPath := filepath.Join(home, selfSignedCert), filepath.Join(home, selfSignedKey)
	if old := storedCert(certPath, ca); !certUsable(old, hosts, now) {
		// Agents keep dialling the URL they were installed with: a new certificate names the
		// old one's hosts too.
		hosts = slices.Concat(hosts, certNames(old))
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "berth server", Organization: []string{"berth"}},
			NotBefore:   now.Add(-time.Hour),
			NotAfter:    now.Add(selfSignedLifetime),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
					tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
				}
			} else if !slices.Contains(tmpl.DNSNames, h) {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
		if _, _, err := writeCert(certPath, keyPath, tmpl, ca, caKey); err != nil {
			return serverTLS{}, fmt.Errorf("generating the server's certificate: %w", err)
		}
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return serverTLS{}, fmt.Errorf("loading the generated certificate %s: %w", certPath, err)
	}
	caPath := filepath.Join(home, selfSignedCA)
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		return serverTLS{}, err
	}
	return serverTLS{config: serverConfig(pair), caPEM: string(caPEM), caFile: caPath, replaced: replaced}, nil
}

// loadGivenPair loads --tls-cert and --tls-key and checks them against the clock, the
// advertised host and --tls-ca.
func loadGivenPair(f tlsFiles, pinnedHost string, now time.Time) (serverTLS, error) {
	pair, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return serverTLS{}, optionErrorf("loading --tls-cert %s and --tls-key %s: %w; give a PEM certificate (chain) and its own private key", f.cert, f.key, err)
	}
	leaf := pair.Leaf
	switch {
	case now.After(leaf.NotAfter):
		return serverTLS{}, optionErrorf("--tls-cert %s expired at %s; renew it", f.cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return serverTLS{}, optionErrorf("--tls-cert %s is not valid before %s; check this machine's clock or the certificate", f.cert, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if pinnedHost != "" {
		if err := leaf.VerifyHostname(pinnedHost); err != nil {
			return serverTLS{}, optionErrorf("--tls-cert %s does not name %s, the host agents dial (--advertise-url, by default the listen address), so they would refuse it; "+
				"use a certificate for that host or advertise a host it names with --advertise-url: %v", f.cert, pinnedHost, err)
		}
	}
	out := serverTLS{config: serverConfig(pair)}
	if f.ca == "" {
		return out, nil
	}
	caPEM, err := os.ReadFile(f.ca)
	if err != nil {
		return serverTLS{}, optionErrorf("--tls-ca: %w; give the PEM certificate of the CA that issued --tls-cert", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return serverTLS{}, optionErrorf("--tls-ca %s holds no PEM certificate; give the certificate of the CA that issued --tls-cert", f.ca)
	}
	intermediates := x509.NewCertPool()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			intermediates.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: now}); err != nil {
		return serverTLS{}, optionErrorf("--tls-cert %s is not issued by --tls-ca %s (%v); give the CA that signed it, or its chain in --tls-cert", f.cert, f.ca, err)
	}
	if out.caFile, err = filepath.Abs(f.ca); err != nil {
		return serverTLS{}, err
	}
	out.caPEM = string(caPEM)
	return out, nil
}

func serverConfig(pair tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// loadOrCreateCA returns the data folder's CA, made when it is missing, unreadable or has
// fewer than renewBefore left. replaced says a CA or a server certificate that agents may
// pin existed before (a data folder of a version without the CA pinned the server's own).
func loadOrCreateCA(home string, now time.Time) (ca *x509.Certificate, key crypto.Signer, replaced bool, err error) {
	certPath, keyPath := filepath.Join(home, selfSignedCA), filepath.Join(home, selfSignedCAKey)
	if pair, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil {
		ca, key := pair.Leaf, pair.PrivateKey.(crypto.Signer)
		if ca.IsCA && now.Add(renewBefore).Before(ca.NotAfter) {
			return ca, key, false, nil
		}
	}
	for _, pinned := range []string{certPath, filepath.Join(home, selfSignedCert)} {
		if _, err := os.Stat(pinned); err == nil {
			replaced = true
		}
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "berth server CA", Organization: []string{"berth"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedCALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	ca, key, err = writeCert(certPath, keyPath, tmpl, nil, nil)
	return ca, key, replaced, err
}

// storedCert is the certificate at certPath when ca signed it, else nil.
func storedCert(certPath string, ca *x509.Certificate) *x509.Certificate {
	data, err := os.ReadFile(certPath)
	if err != nil {
		return nil
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || cert.CheckSignatureFrom(ca) != nil {
		return nil
	}
	return cert
}

// certUsable reports whether cert exists, names every host, and has renewBefore left.
func certUsable(cert *x509.Certificate, hosts []string, now time.Time) bool {
	if cert == nil || now.Add(renewBefore).After(cert.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// certNames lists the DNS names and IP addresses cert names; none for nil.
func certNames(cert *x509.Certificate) []string {
	if cert == nil {
		return nil
	}
	names := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// writeCert makes a certificate from tmpl with a new key, signed by parent (nil for a
// self-signed one), and writes both (the key with mode 0600).
func writeCert(certPath, keyPath string, tmpl, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return nil, nil, err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// certHosts lists the names a self-signed certificate must cover: loopback, this machine's
// name, and the hosts of the listen and advertised addresses.
func certHosts(listenHost, advertiseHost string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	for _, h := range []string{listenHost, advertiseHost} {
		if h != "" && h != "0.0.0.0" && h != "::" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}
