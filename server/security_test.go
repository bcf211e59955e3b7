package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/canaryjudge/judge/auth"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
)

const (
	readToken  = "read-token-0123456789"
	writeToken = "write-token-0123456789"
	adminToken = "admin-token-0123456789"
)

func testTokens(t *testing.T) *auth.Tokens {
	t.Helper()
	tokens, err := auth.Parse("read:"+readToken+"\nwrite:"+writeToken+"\n# comment\nadmin:"+adminToken+"\n", "tokens")
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// callAuth is call with an Authorization header.
func callAuth(t *testing.T, client *http.Client, method, url, token, body string) int {
	t.Helper()
	code, _, _ := send(t, client, method, url, token, body)
	return code
}

// send sends a request with an optional bearer token and returns the
// status, the headers and the body.
func send(t *testing.T, client *http.Client, method, url, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestAuthRolesHTTP checks every role against the HTTP API: 401 without a
// valid token, 403 when the role is too weak, open health endpoints.
func TestAuthRolesHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Tokens: testTokens(t), ProtectMetrics: true})
	base := "http://" + s.Addr()
	c := http.DefaultClient
	putCfg := `{"config":` + inlineConfig + `}`
	tests := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"no token", "GET", "/v1/analyses", "", "", 401},
		{"wrong token", "GET", "/v1/analyses", "not-a-token-at-all-xyz", "", 401},
		{"read lists", "GET", "/v1/analyses", readToken, "", 200},
		{"read cannot analyze", "POST", "/v1/analyze", readToken, analyzeBody(0), 403},
		{"write analyzes", "POST", "/v1/analyze", writeToken, analyzeBody(0), 200},
		{"write puts a config", "PUT", "/v1/canaryConfigs/svc", writeToken, putCfg, 200},
		{"write cannot delete", "DELETE", "/v1/canaryConfigs/svc", writeToken, "", 403},
		{"admin deletes", "DELETE", "/v1/canaryConfigs/svc", adminToken, "", 200},
		{"healthz open", "GET", "/healthz", "", "", 200},
		{"readyz open", "GET", "/readyz", "", "", 200},
		{"metrics protected", "GET", "/metrics", "", "", 401},
		{"metrics with read", "GET", "/metrics", readToken, "", 200},
	}
	for _, tc := range tests {
		if got := callAuth(t, c, tc.method, base+tc.path, tc.token, tc.body); got != tc.want {
			t.Errorf("%s: %s %s: status %d, want %d", tc.name, tc.method, tc.path, got, tc.want)
		}
	}
	// Refused requests are counted like any other.
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = readBody(&b, resp)
	if !strings.Contains(b.String(), `judge_requests_total{code="401"`) || !strings.Contains(b.String(), `code="403"`) {
		t.Errorf("401/403 not counted in judge_requests_total")
	}
	if strings.Contains(b.String(), readToken) {
		t.Error("a token appears in /metrics")
	}
}

// TestAuthRolesGRPC checks roles over gRPC metadata.
func TestAuthRolesGRPC(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{Tokens: testTokens(t)})
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := judgev1.NewJudgeServiceClient(conn)
	with := func(token string) context.Context {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		return ctx
	}
	if _, err := client.ListAnalyses(with(""), &judgev1.ListAnalysesRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no token: %v", err)
	}
	if _, err := client.ListAnalyses(with(readToken), &judgev1.ListAnalysesRequest{}); err != nil {
		t.Errorf("read token lists: %v", err)
	}
	if _, err := client.Analyze(with(readToken), &judgev1.AnalyzeRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("read token analyzes: %v", err)
	}
	if _, err := client.DeleteCanaryConfig(with(writeToken), &judgev1.DeleteCanaryConfigRequest{Name: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("write token deletes: %v", err)
	}
	if _, err := client.DeleteCanaryConfig(with(adminToken), &judgev1.DeleteCanaryConfigRequest{Name: "x"}); status.Code(err) != codes.NotFound {
		t.Errorf("admin token deletes: %v, want NOT_FOUND (allowed, nothing there)", err)
	}
	stream, err := client.WatchAnalysis(with(""), &judgev1.WatchAnalysisRequest{Id: "x"})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("watch without token: %v", err)
	}
}

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate into dir and returns their paths.
type testPKI struct{ caCert, serverCert, serverKey, clientCert, clientKey string }

func newTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "judge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		return write(name+".crt", "CERTIFICATE", der), write(name+".key", "EC PRIVATE KEY", keyDER)
	}
	p := testPKI{caCert: write("ca.crt", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func (p testPKI) pool(t *testing.T) *x509.CertPool {
	pem, err := os.ReadFile(p.caCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

// TestTLS serves gRPC and HTTP over TLS on one port, with and without
// client certificates, checks it with curl and Go clients, and checks that
// a replaced certificate is served without a restart.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pki := newTestPKI(t, dir)
	s := startServer(t, Config{TLSCert: pki.serverCert, TLSKey: pki.serverKey, Tokens: testTokens(t)})
	url := "https://" + s.Addr()

	out, err := exec.Command("curl", "-sS", "--cacert", pki.caCert, "-H", "Authorization: Bearer "+writeToken,
		"-H", "Content-Type: application/json", "-d", analyzeBody(50), "-o", "/dev/null", "-w", "%{http_code} %{http_version}", url+"/v1/analyze").CombinedOutput()
	if err != nil || string(out) != "200 2" {
		t.Errorf("curl over TLS: %v %q (want HTTP/2 200)", err, out)
	}
	out, _ = exec.Command("curl", "-sS", "--cacert", pki.caCert, "-o", "/dev/null", "-w", "%{http_code}", url+"/v1/analyses").CombinedOutput()
	if string(out) != "401" {
		t.Errorf("curl without token: %q, want 401", out)
	}
	if out, _ := exec.Command("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://"+s.Addr()+"/healthz").CombinedOutput(); string(out) == "200" {
		t.Errorf("plaintext served on a TLS port: %s", out)
	}

	creds := credentials.NewTLS(&tls.Config{RootCAs: pki.pool(t), MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+readToken)
	if _, err := judgev1.NewJudgeServiceClient(conn).ListAnalyses(ctx, &judgev1.ListAnalysesRequest{}); err != nil {
		t.Errorf("gRPC over TLS: %v", err)
	}

	// Replace the certificate on disk: new connections get the new one.
	before := peerSerial(t, s.Addr(), pki.pool(t), nil)
	newDir := t.TempDir()
	fresh := newTestPKI(t, newDir)
	for src, dst := range map[string]string{fresh.serverCert: pki.serverCert, fresh.serverKey: pki.serverKey} {
		b, _ := os.ReadFile(src)
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		after := peerSerial(t, s.Addr(), fresh.pool(t), nil)
		if after != "" && after != before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replaced certificate not served within 5s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// peerSerial returns the certificate a TLS handshake presents (its DER
// bytes), or "" when the handshake fails.
func peerSerial(t *testing.T, addr string, pool *x509.CertPool, cert *tls.Certificate) string {
	t.Helper()
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return ""
	}
	defer c.Close()
	return string(c.ConnectionState().PeerCertificates[0].Raw)
}

// TestMutualTLS requires client certificates signed by the client CA.
func TestMutualTLS(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t, t.TempDir())
	s := startServer(t, Config{TLSCert: pki.serverCert, TLSKey: pki.serverKey, TLSClientCA: pki.caCert, GRPCAddr: "127.0.0.1:0"})
	url := "https://" + s.Addr() + "/v1/analyses"
	if out, err := exec.Command("curl", "-sS", "--cacert", pki.caCert, url).CombinedOutput(); err == nil {
		t.Errorf("curl without a client certificate succeeded: %s", out)
	}
	out, err := exec.Command("curl", "-sS", "--cacert", pki.caCert, "--cert", pki.clientCert, "--key", pki.clientKey,
		"-o", "/dev/null", "-w", "%{http_code}", url).CombinedOutput()
	if err != nil || string(out) != "200" {
		t.Errorf("curl with a client certificate: %v %q", err, out)
	}
	cert, err := tls.LoadX509KeyPair(pki.clientCert, pki.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cert *tls.Certificate
		want codes.Code
	}{"with certificate": {&cert, codes.OK}, "without certificate": {nil, codes.Unavailable}} {
		cfg := &tls.Config{RootCAs: pki.pool(t), MinVersion: tls.VersionTLS12}
		if tc.cert != nil {
			cfg.Certificates = []tls.Certificate{*tc.cert}
		}
		conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = judgev1.NewJudgeServiceClient(conn).ListAnalyses(context.Background(), &judgev1.ListAnalysesRequest{})
		conn.Close()
		if status.Code(err) != tc.want {
			t.Errorf("gRPC on its own port %s: %v, want %v", name, err, tc.want)
		}
	}
}

func readBody(b *strings.Builder, resp *http.Response) (int64, error) { return io.Copy(b, resp.Body) }
