package server

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
)

// configCache keeps recently parsed configs by their JSON text: deployers
// send the same config with every analysis. Parsed configs are never
// modified, so they are shared between requests.
type configCache struct {
	mu sync.Mutex
	m  map[string]*verdict.Config
	// aca serves Kayenta configs naming NetflixACAJudge-v1.0 (set once,
	// before serving).
	aca verdict.JudgeName
}

// configCacheSize bounds the cache's entries, and configCacheMaxBytes the
// size of a config it keeps (larger ones are parsed every time), so the
// cache stays under 8 MiB.
const (
	configCacheSize     = 128
	configCacheMaxBytes = 64 << 10
)

func (c *configCache) parse(raw []byte, source string) (*verdict.Config, error) {
	c.mu.Lock()
	cfg, ok := c.m[string(raw)]
	c.mu.Unlock()
	if ok {
		return cfg, nil
	}
	cfg, err := kayenta.ParseConfigServing(raw, source, cmp.Or(c.aca, verdict.JudgeDefault))
	if err != nil {
		return nil, err
	}
	if len(raw) > configCacheMaxBytes {
		return cfg, nil
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= configCacheSize {
		c.m = make(map[string]*verdict.Config, configCacheSize)
	}
	c.m[string(raw)] = cfg
	c.mu.Unlock()
	return cfg, nil
}

var configName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

// PutCanaryConfig validates and stores a config.
func (s *Service) PutCanaryConfig(ctx context.Context, req *judgev1.PutCanaryConfigRequest) (*judgev1.PutCanaryConfigResponse, error) {
	if !configName.MatchString(req.GetName()) {
		return nil, s.grpcError(fmt.Errorf("name: %q must be 1–200 letters, digits, '.', '_' or '-': %w", req.GetName(), errInvalid))
	}
	if req.GetConfig() == nil {
		return nil, s.grpcError(fmt.Errorf("config: missing: %w", errInvalid))
	}
	raw, err := protojson.Marshal(req.GetConfig())
	if err != nil {
		return nil, s.grpcError(err)
	}
	if _, err := kayenta.ParseConfig(raw, "config"); err != nil {
		return nil, s.grpcError(err)
	}
	c, err := s.store.PutConfig(ctx, req.GetName(), raw)
	if err != nil {
		return nil, s.grpcError(err)
	}
	pc, err := configToProto(c, true)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.PutCanaryConfigResponse{CanaryConfig: pc}, nil
}

// GetCanaryConfig returns a stored config.
func (s *Service) GetCanaryConfig(ctx context.Context, req *judgev1.GetCanaryConfigRequest) (*judgev1.GetCanaryConfigResponse, error) {
	c, err := s.store.GetConfig(ctx, req.GetName())
	if err != nil {
		return nil, s.grpcError(err)
	}
	pc, err := configToProto(c, true)
	if err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.GetCanaryConfigResponse{CanaryConfig: pc}, nil
}

// ListCanaryConfigVersions returns every stored version of a config,
// newest first.
func (s *Service) ListCanaryConfigVersions(ctx context.Context, req *judgev1.ListCanaryConfigVersionsRequest) (*judgev1.ListCanaryConfigVersionsResponse, error) {
	versions, err := s.store.ConfigVersions(ctx, req.GetName())
	if err != nil {
		return nil, s.grpcError(err)
	}
	resp := &judgev1.ListCanaryConfigVersionsResponse{}
	for _, c := range versions {
		pc, err := configToProto(c, true)
		if err != nil {
			return nil, s.grpcError(err)
		}
		resp.Versions = append(resp.Versions, pc)
	}
	return resp, nil
}

// ListCanaryConfigs lists stored configs by name.
func (s *Service) ListCanaryConfigs(ctx context.Context, req *judgev1.ListCanaryConfigsRequest) (*judgev1.ListCanaryConfigsResponse, error) {
	limit, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, s.grpcError(err)
	}
	list, next, err := s.store.ListConfigs(ctx, limit, req.GetPageToken())
	if err != nil {
		return nil, s.grpcError(err)
	}
	resp := &judgev1.ListCanaryConfigsResponse{NextPageToken: next}
	for _, c := range list {
		pc, err := configToProto(c, false)
		if err != nil {
			return nil, s.grpcError(err)
		}
		resp.CanaryConfigs = append(resp.CanaryConfigs, pc)
	}
	return resp, nil
}

// DeleteCanaryConfig deletes a stored config.
func (s *Service) DeleteCanaryConfig(ctx context.Context, req *judgev1.DeleteCanaryConfigRequest) (*judgev1.DeleteCanaryConfigResponse, error) {
	if err := s.store.DeleteConfig(ctx, req.GetName()); err != nil {
		return nil, s.grpcError(err)
	}
	return &judgev1.DeleteCanaryConfigResponse{}, nil
}

func configToProto(c store.Config, withBody bool) (*judgev1.CanaryConfig, error) {
	pc := &judgev1.CanaryConfig{Name: c.Name, Version: c.Version, UpdateTime: timestamppb.New(c.UpdatedAt)}
	if withBody {
		pc.Config = &structpb.Struct{}
		if err := protojson.Unmarshal(c.Body, pc.Config); err != nil {
			return nil, fmt.Errorf("stored config %q: %w", c.Name, err)
		}
	}
	return pc, nil
}
