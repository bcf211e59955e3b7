package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/protoconv"
	"github.com/canaryjudge/judge/verdict"
)

// analyzeRemote runs the analysis on a judge server over gRPC and returns the
// verdict in the engine's form, so every output format matches a local run.
// A look of a sequence (seq.Sequence set) is numbered and judged by the
// server at its share of the level.
func analyzeRemote(ctx context.Context, addr string, conn clientConn, rawConfig []byte, pairs []verdict.MetricSetPair, opts verdict.Options, seq lookOptions) (*verdict.Result, error) {
	cfg, err := configStruct(rawConfig)
	if err != nil {
		return nil, dataError(err)
	}
	spec := &judgev1.AnalysisSpec{
		Config:    &judgev1.AnalysisSpec_CanaryConfig{CanaryConfig: cfg},
		Judge:     string(opts.Judge),
		Sequence:  seq.Sequence,
		Looks:     seq.Looks,
		PassEarly: seq.PassEarly,
	}
	if t := opts.Thresholds; t != nil {
		spec.Thresholds = &judgev1.Thresholds{Pass: t.Pass, Marginal: t.Marginal}
	}
	spec.Metrics = protoconv.PairsToProto(pairs)
	cc, err := dial(addr, conn)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	resp, err := judgev1.NewJudgeServiceClient(cc).Analyze(ctx, &judgev1.AnalyzeRequest{Spec: spec})
	if err != nil {
		return nil, remoteError(addr, err)
	}
	return protoconv.VerdictFromProto(resp.GetVerdict()), nil
}

// dial connects to a judge server with the connection's credentials and
// token.
func dial(addr string, conn clientConn) (*grpc.ClientConn, error) {
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(conn.creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20))}
	if conn.token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer{token: conn.token}))
	}
	cc, err := grpc.NewClient(addr, dialOpts...)
	if err != nil {
		return nil, usageError("--server %q: %w", addr, err)
	}
	return cc, nil
}

// remoteError is the exit status of a failed call to a judge server: 65
// for what the server refused as bad input, 64 for a missing or weak
// token, 69 when it cannot be reached.
func remoteError(addr string, err error) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument, codes.NotFound, codes.FailedPrecondition, codes.ResourceExhausted:
		return dataError(fmt.Errorf("judge server %s: %s", addr, st.Message()))
	case codes.Unauthenticated, codes.PermissionDenied:
		return usageError("judge server %s: %s (give a token with --token-file or JUDGE_TOKEN)", addr, st.Message())
	case codes.Unavailable, codes.DeadlineExceeded:
		return &exitError{code: exitUnavailable, err: fmt.Errorf("judge server %s unavailable: %s", addr, st.Message())}
	}
	return &exitError{code: exitInternal, err: fmt.Errorf("judge server %s: %s: %s", addr, st.Code(), st.Message())}
}

// lookOptions place a remote analysis in a sequence of looks.
type lookOptions struct {
	Sequence  string
	Looks     int32
	PassEarly bool
}

// configStruct turns a config file (YAML or JSON) into a JSON object.
func configStruct(raw []byte) (*structpb.Struct, error) {
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("canary config: %w", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("canary config: must be a mapping")
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("canary config: %w", err)
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(js, s); err != nil {
		return nil, fmt.Errorf("canary config: %w", err)
	}
	return s, nil
}

// addClientFlags adds the flags of clientSettings.
func addClientFlags(f *pflag.FlagSet) {
	f.Bool("tls", false, "with --server: connect over TLS (system CAs unless --ca-file)")
	f.String("ca-file", "", "with --server: PEM CA bundle that signed the server's certificate (implies --tls)")
	f.String("cert-file", "", "with --server: PEM client certificate for mutual TLS (implies --tls)")
	f.String("key-file", "", "with --server: PEM key of --cert-file")
	f.String("token-file", "", "with --server: file holding the bearer token (or set JUDGE_TOKEN)")
}

// clientConn is how the CLI reaches a judge server: transport credentials
// (plaintext, or TLS with an optional CA and client certificate) and an
// optional bearer token.
type clientConn struct {
	creds credentials.TransportCredentials
	token string
}

// clientSettings reads --tls, --ca-file, --cert-file, --key-file and the
// token (--token-file, else JUDGE_TOKEN) into a clientConn.
func clientSettings(v *viper.Viper) (clientConn, error) {
	c := clientConn{creds: insecure.NewCredentials()}
	caFile, certFile, keyFile := v.GetString("ca-file"), v.GetString("cert-file"), v.GetString("key-file")
	if v.GetBool("tls") || caFile != "" || certFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return c, usageError("--ca-file: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return c, usageError("--ca-file %s: no PEM certificate found", caFile)
			}
		}
		if (certFile == "") != (keyFile == "") {
			return c, usageError("--cert-file and --key-file: set both or neither")
		}
		if certFile != "" {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return c, usageError("--cert-file/--key-file: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		c.creds = credentials.NewTLS(cfg)
	}
	c.token = strings.TrimSpace(v.GetString("token"))
	if path := v.GetString("token-file"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, usageError("--token-file: %w", err)
		}
		c.token = strings.TrimSpace(string(b))
	}
	return c, nil
}

// bearer sends the token as "authorization: Bearer …" with every call.
type bearer struct {
	token string
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false so that a token also works over
// plaintext to a loopback server; use --tls for anything else.
func (b bearer) RequireTransportSecurity() bool { return false }
