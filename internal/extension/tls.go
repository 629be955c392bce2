package extension

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"berth/internal/strictyaml"
)

// readCert reads sslCertPemFile: the contents of a PEM file (the CLI reads the file it is
// given) with the server's certificate first and its chain after it. It returns the first
// certificate, or nil after reporting why there is none usable.
func (s *parse) readCert(v value) *x509.Certificate {
	const key = KeySSLCertPemFile
	if v.text == "" {
		s.add(CodeInvalidCertificate, key,
			"the value is empty; give the contents of a PEM certificate file.")
		return nil
	}

	var certs []*x509.Certificate
	rest := []byte(v.text)
	for {
		var block *pem.Block
		// Text between blocks (openssl's "subject=" lines in a bundle) is skipped.
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				s.add(CodeInvalidCertificate, key, fmt.Sprintf("certificate %d does not parse (%s); "+
					"give PEM-encoded X.509 certificates.", len(certs)+1, errorText(err)))
				return nil
			}
			certs = append(certs, c)
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			s.add(CodeInvalidCertificate, key, "the value holds a private key; give only "+
				"certificates here, and the key in sslKeyPemFile with --config-protected.")
			return nil
		default:
			s.add(CodeInvalidCertificate, key, "the value holds a "+quote(block.Type)+
				" PEM block; give only CERTIFICATE blocks.")
			return nil
		}
	}
	if len(certs) == 0 {
		s.add(CodeInvalidCertificate, key, "no PEM certificate found; give the contents of a "+
			"PEM certificate file, not its path.")
		return nil
	}

	leaf := certs[0]
	switch {
	case s.now.After(leaf.NotAfter):
		s.add(CodeCertificateExpired, key, "the certificate expired at "+timeText(leaf.NotAfter)+
			"; renew it.")
		return nil
	case s.now.Before(leaf.NotBefore):
		s.add(CodeCertificateNotYet, key, "the certificate is valid only from "+
			timeText(leaf.NotBefore)+"; use a certificate valid now, or check the server's clock.")
		return nil
	}
	return leaf
}

// readKey reads sslKeyPemFile: the contents of a PEM file with an unencrypted PKCS #1, PKCS #8
// or EC private key. Other blocks (a certificate, EC PARAMETERS) are skipped. Messages never
// quote the key or the parser's error, which could hold parts of it.
func (s *parse) readKey(v value) crypto.Signer {
	const key = KeySSLKeyPemFile
	if v.text == "" {
		s.add(CodeInvalidKey, key, "the value is empty; give the contents of a PEM private key file.")
		return nil
	}

	rest := []byte(v.text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "PRIVATE KEY" && !strings.HasSuffix(block.Type, " PRIVATE KEY") {
			continue
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" ||
			strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			s.add(CodeInvalidKey, key, "the private key is encrypted; give it without a passphrase.")
			return nil
		}
		return s.parseKey(block)
	}
	s.add(CodeInvalidKey, key, "no PEM private key found; give the contents of a PEM private "+
		"key file, not its path.")
	return nil
}

// parseKey parses a private key block by its type.
func (s *parse) parseKey(block *pem.Block) crypto.Signer {
	const key = KeySSLKeyPemFile
	var k any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		s.add(CodeInvalidKey, key, quote(block.Type)+" keys are not supported; "+
			"give a PKCS #1, PKCS #8 or EC private key.")
		return nil
	}
	if err != nil {
		s.add(CodeInvalidKey, key, "the "+quote(block.Type)+" block does not parse; "+
			"give a PKCS #1, PKCS #8 or EC private key.")
		return nil
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		// PKCS #8 also holds X25519 and X448 keys, which cannot sign a TLS handshake.
		s.add(CodeInvalidKey, key, "the private key cannot sign; give an RSA, ECDSA or Ed25519 key.")
		return nil
	}
	return signer
}

// checkKeyMatches reports a private key that is not the certificate's.
func (s *parse) checkKeyMatches() {
	pub, ok := s.key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(s.cert.PublicKey) {
		s.add(CodeKeyMismatch, KeySSLKeyPemFile, "the private key does not match the "+
			"certificate in sslCertPemFile; give the key the certificate was issued for.")
	}
}

// checkCNameCovered notes a certificate that does not name sslCname. It is a notice, not an
// error: clients that skip host name checks, or call by another name, still work.
func (s *parse) checkCNameCovered() {
	cname := s.given[KeySSLCname]
	if s.cert.VerifyHostname(cname.text) == nil {
		return
	}
	names := append([]string(nil), s.cert.DNSNames...)
	for _, ip := range s.cert.IPAddresses {
		names = append(names, ip.String())
	}
	named := "it names no host"
	if len(names) > 0 {
		if len(names) > 5 {
			names = append(names[:5], "...")
		}
		named = "it names " + strings.Join(names, ", ")
	}
	s.notice(CodeCNameNotInCertificate, "the certificate in sslCertPemFile does not cover "+
		"sslCname "+cname.show()+" ("+named+"); clients that check host names will refuse it, "+
		"so use a certificate for that name.")
}

// timeText formats a certificate's date for a message.
func timeText(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// errorText shortens a parser's error to one readable line.
func errorText(err error) string {
	return strictyaml.Excerpt(strings.ReplaceAll(err.Error(), "\n", " "), 120)
}
