package prometheus_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/canaryjudge/judge/metrics"
	"github.com/canaryjudge/judge/metrics/prometheus"
	"github.com/canaryjudge/judge/metrics/prometheus/promtest"
)

// certs writes a CA, a server certificate for 127.0.0.1 and a client
// certificate signed by it, as PEM files in dir.
func certs(t *testing.T, dir string) (ca, serverCert, serverKey, clientCert, clientKey string) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	write := func(name, kind string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "judge test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, name string) (string, string) {
		k := key()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(k)
		return write(name+".crt", "CERTIFICATE", der), write(name+".key", "EC PRIVATE KEY", kder)
	}
	ca = write("ca.crt", "CERTIFICATE", caDER)
	serverCert, serverKey = leaf(2, x509.ExtKeyUsageServerAuth, "server")
	clientCert, clientKey = leaf(3, x509.ExtKeyUsageClientAuth, "client")
	return
}

// fixtureStart is when the fixture's samples start: one instant for the
// fixture and its queries, which computed it apart would put in different
// hours when a test runs across an hour's turn.
var fixtureStart = time.Now().Add(-10 * time.Hour).Truncate(time.Hour).UTC()

func fixture() []promtest.Series {
	start := fixtureStart
	s := promtest.Series{Name: "secured_latency_seconds", Labels: map[string]string{"pod": "a"}}
	for i := range 10 {
		s.Samples = append(s.Samples, promtest.Sample{T: start.Add(time.Duration(i) * time.Minute), V: 0.2})
	}
	return []promtest.Series{s}
}

func query() metrics.Query {
	start := fixtureStart
	return metrics.Query{Text: `avg(secured_latency_seconds{pod="a"})`, Start: start, End: start.Add(9 * time.Minute), Step: time.Minute}
}

// TestSecuredPrometheus fetches from a real Prometheus that serves TLS,
// requires a client certificate and basic auth (--web.config.file), as
// operators run it: with the account's CA, client certificate and
// password file the fetch works; without the password or the client
// certificate it fails, and no error shows the password.
func TestSecuredPrometheus(t *testing.T) {
	dir := t.TempDir()
	ca, serverCert, serverKey, clientCert, clientKey := certs(t, dir)
	const password = "pr0m-basic-auth-secret"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	web := "tls_server_config:\n  cert_file: " + serverCert + "\n  key_file: " + serverKey +
		"\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + ca +
		"\nbasic_auth_users:\n  judge: " + string(hash) + "\n"
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(ca)
	pool.AppendCertsFromPEM(caPEM)
	pair, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	ready := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}}
	u := promtest.StartWith(t, fixture(), promtest.Options{WebConfig: web, Client: ready, BasicAuth: [2]string{"judge", password}})
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("URL %s, want https", u)
	}
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	account := metrics.Account{Name: "secured", Type: "prometheus", URL: u, CAFile: ca, CertFile: clientCert, KeyFile: clientKey,
		BasicAuthUsername: "judge", BasicAuthPasswordFile: pwFile, Retries: 1}
	src, err := prometheus.New(account, nil)
	if err != nil {
		t.Fatal(err)
	}
	series, err := src.Fetch(context.Background(), query())
	if err != nil || len(series.Values) != 10 {
		t.Fatalf("fetch with TLS, client certificate and basic auth: %v %v", series, err)
	}

	wrong := filepath.Join(dir, "wrong")
	_ = os.WriteFile(wrong, []byte("not-it"), 0o600)
	for name, a := range map[string]metrics.Account{
		"wrong password":        {Name: "s", Type: "prometheus", URL: u, CAFile: ca, CertFile: clientCert, KeyFile: clientKey, BasicAuthUsername: "judge", BasicAuthPasswordFile: wrong, Retries: 1},
		"no client certificate": {Name: "s", Type: "prometheus", URL: u, CAFile: ca, BasicAuthUsername: "judge", BasicAuthPasswordFile: pwFile, Retries: 1},
		"system roots only":     {Name: "s", Type: "prometheus", URL: u, CertFile: clientCert, KeyFile: clientKey, BasicAuthUsername: "judge", BasicAuthPasswordFile: pwFile, Retries: 1},
	} {
		src, err := prometheus.New(a, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = src.Fetch(context.Background(), query())
		if err == nil || strings.Contains(err.Error(), password) {
			t.Errorf("%s: %v, want an error without the password", name, err)
		}
	}

	// Bad settings are refused when the account is built, naming them.
	for name, tc := range map[string]struct {
		a    metrics.Account
		want string
	}{
		"ca file missing":      {metrics.Account{Name: "s", Type: "prometheus", URL: u, CAFile: filepath.Join(dir, "nope")}, "ca_file"},
		"ca file not PEM":      {metrics.Account{Name: "s", Type: "prometheus", URL: u, CAFile: pwFile}, "ca_file"},
		"cert without key":     {metrics.Account{Name: "s", Type: "prometheus", URL: u, CertFile: clientCert}, "cert_file and key_file"},
		"key not the cert's":   {metrics.Account{Name: "s", Type: "prometheus", URL: u, CertFile: clientCert, KeyFile: serverKey}, "cert_file and key_file"},
		"password, no user":    {metrics.Account{Name: "s", Type: "prometheus", URL: u, BasicAuthPasswordFile: pwFile}, "basic_auth_username"},
		"basic and bearer":     {metrics.Account{Name: "s", Type: "prometheus", URL: u, BasicAuthUsername: "judge", BearerTokenFile: pwFile}, "choose one"},
		"authorization header": {metrics.Account{Name: "s", Type: "prometheus", URL: u, Headers: map[string]string{"Authorization": "Basic x"}}, "credential"},
		"bad header name":      {metrics.Account{Name: "s", Type: "prometheus", URL: u, Headers: map[string]string{"X Tenant": "a"}}, "header name"},
		"header line break":    {metrics.Account{Name: "s", Type: "prometheus", URL: u, Headers: map[string]string{"X-Scope-OrgID": "a\r\nX-Other: b"}}, "line break"},
	} {
		_, err := prometheus.New(tc.a, nil)
		if err == nil || !errors.Is(err, metrics.ErrConfig) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), password) {
			t.Errorf("%s: %v, want a config error naming %s", name, err, tc.want)
		}
	}
}

// TestTenantHeader checks that an account's headers reach the store with
// every query (Mimir's X-Scope-OrgID), through a recording proxy in front
// of a real Prometheus.
func TestTenantHeader(t *testing.T) {
	u := promtest.Start(t, fixture())
	target, _ := url.Parse(u)
	var (
		mu   sync.Mutex
		seen []string
	)
	proxy := httputil.NewSingleHostReverseProxy(target)
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("X-Scope-OrgID"))
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)
	src, err := prometheus.New(metrics.Account{Name: "mimir", Type: "prometheus", URL: rec.URL, Headers: map[string]string{"X-Scope-OrgID": "tenant-a"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := src.Fetch(context.Background(), query()); err != nil || len(s.Values) != 10 {
		t.Fatalf("fetch: %v %v", s, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 || seen[0] != "tenant-a" {
		t.Errorf("the store saw X-Scope-OrgID %q, want tenant-a", seen)
	}
}

// TestAccountSettingsStrict: an account takes only its type's settings: a
// Datadog site or an unknown key on a Prometheus account is refused,
// naming it.
func TestAccountSettingsStrict(t *testing.T) {
	for name, tc := range map[string]struct {
		a    metrics.Account
		want string
	}{
		"other type's": {metrics.Account{Name: "p", Type: "prometheus", URL: "http://x", Site: "datadoghq.eu"}, "site: not a setting of a prometheus account"},
		"unknown":      {metrics.Account{Name: "p", Type: "prometheus", URL: "http://x", Settings: map[string]any{"passwrd": "x"}}, "passwrd: unknown setting of a prometheus account"},
		"type":         {metrics.Account{Name: "p", Type: "promethus", URL: "http://x"}, `type "promethus" is not one of`},
	} {
		if err := tc.a.Defaults(); !errors.Is(err, metrics.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
