package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throwaway CA with a client certificate and key written as PEM
// files, where settings can name them, and a server certificate in memory.
type PKI struct {
	CAFile, ClientCert, ClientKey string
	OtherKey                      string // a valid key that belongs to no certificate here
	Garbage                       string // a file with no PEM in it
	Server                        tls.Certificate
	CA                            *x509.Certificate
}

// NewPKI makes a PKI whose server certificate is for serverName, valid for
// an hour either side of now, in a directory removed with the test.
func NewPKI(t testing.TB, serverName string) PKI {
	t.Helper()
	dir := t.TempDir()
	write := func(name, blockType string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hookflow test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, name string, usage x509.ExtKeyUsage, key *ecdsa.PrivateKey) []byte {
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	serverKey, clientKey := newKey(), newKey()
	p := PKI{
		CAFile:     write("ca.pem", "CERTIFICATE", caDER),
		ClientCert: write("client.pem", "CERTIFICATE", issue(3, "hookflow-client", x509.ExtKeyUsageClientAuth, clientKey)),
		ClientKey:  write("client-key.pem", "PRIVATE KEY", keyDER(clientKey)),
		OtherKey:   write("other-key.pem", "PRIVATE KEY", keyDER(newKey())),
		Server:     tls.Certificate{Certificate: [][]byte{issue(2, serverName, x509.ExtKeyUsageServerAuth, serverKey)}, PrivateKey: serverKey},
		CA:         ca,
	}
	p.Garbage = filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(p.Garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
