// Command grpc-client is a small example of a custom deployer calling
// judge's gRPC API: it asks for an asynchronous analysis of a stored canary
// config over two scopes and waits for the verdict with WatchAnalysis.
//
//	go run ./examples/grpc-client -addr 127.0.0.1:8080 -config checkout \
//	    -baseline checkout-stable -canary checkout-canary -window 10m
//
// With TLS add -ca ca.crt; with authentication set JUDGE_TOKEN.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "judge's gRPC address")
	caFile := flag.String("ca", "", "CA certificate for TLS (plaintext without)")
	config := flag.String("config", "", "stored canary config name")
	baseline := flag.String("baseline", "", "baseline scope")
	canary := flag.String("canary", "", "canary scope")
	window := flag.Duration("window", 10*time.Minute, "analysis window ending now")
	flag.Parse()
	creds := insecure.NewCredentials()
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			log.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		creds = credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := judgev1.NewJudgeServiceClient(conn)
	ctx := context.Background()
	if token := os.Getenv("JUDGE_TOKEN"); token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	end := time.Now()
	scope := func(name string) *judgev1.Scope {
		return &judgev1.Scope{Scope: name, Start: timestamppb.New(end.Add(-*window)), End: timestamppb.New(end), StepSeconds: 60}
	}
	created, err := client.CreateAnalysis(ctx, &judgev1.CreateAnalysisRequest{Spec: &judgev1.AnalysisSpec{
		Config: &judgev1.AnalysisSpec_CanaryConfigName{CanaryConfigName: *config},
		Scopes: map[string]*judgev1.ScopePair{"default": {ControlScope: scope(*baseline), ExperimentScope: scope(*canary)}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	stream, err := client.WatchAnalysis(ctx, &judgev1.WatchAnalysisRequest{Id: created.GetAnalysis().GetId()})
	if err != nil {
		log.Fatal(err)
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			log.Fatal(err)
		}
		a := msg.GetAnalysis()
		switch a.GetStatus() {
		case judgev1.AnalysisStatus_ANALYSIS_STATUS_SUCCEEDED:
			v := a.GetVerdict()
			fmt.Printf("%s %.2f: %s\n", v.GetResult(), v.GetScore(), v.GetReason())
			if v.GetResult() != "PASS" {
				os.Exit(1)
			}
			return
		case judgev1.AnalysisStatus_ANALYSIS_STATUS_FAILED, judgev1.AnalysisStatus_ANALYSIS_STATUS_CANCELED:
			log.Fatalf("analysis %s: %s", a.GetStatus(), a.GetError())
		}
	}
}
