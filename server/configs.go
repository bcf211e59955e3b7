package server

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/canaryjudge/judge/kayenta"
	judgev1 "github.com/canaryjudge/judge/proto/judge/v1"
	"github.com/canaryjudge/judge/store"
	"github.com/canaryjudge/judge/verdict"
)

// configCache keeps recently parsed configs by their canonical encoding
// (appendCanonical), several times cheaper to compute than their JSON text
// or their deterministic protobuf encoding: deployers send the same config
// with every analysis. Only a config whose
// JSON text was accepted is kept, so a hit needs no further check. Parsed
// configs are never modified, so they are shared between requests.
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

// parse returns body parsed as a judge or Kayenta config, from the cache
// when the same config was parsed before. source names body in errors.
func (c *configCache) parse(body *structpb.Struct, source string) (*verdict.Config, error) {
	key := appendCanonical(make([]byte, 0, 1024), structpb.NewStructValue(body))
	if len(key) <= configCacheMaxBytes {
		c.mu.Lock()
		cfg, ok := c.m[string(key)]
		c.mu.Unlock()
		if ok {
			return cfg, nil
		}
	} else {
		key = nil
	}
	// protojson also rejects what could not be stored with an asynchronous
	// analysis (a NaN number, a value with no kind), so Analyze and
	// CreateAnalysis accept the same configs.
	raw, err := protojson.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", source, strings.TrimPrefix(err.Error(), "proto: "), errInvalid)
	}
	cfg, err := kayenta.ParseConfigServing(raw, source, cmp.Or(c.aca, verdict.JudgeDefault))
	if err != nil || key == nil {
		return cfg, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= configCacheSize {
		c.m = make(map[string]*verdict.Config, configCacheSize)
	}
	c.m[string(key)] = cfg
	c.mu.Unlock()
	return cfg, nil
}

// appendCanonical appends an encoding of v to b that two values share only
// when they are equal: a kind byte, then the number's bits, the string's
// length and bytes, or the list's or struct's length and elements (a
// struct's in the order of its keys).
func appendCanonical(b []byte, v *structpb.Value) []byte {
	switch k := v.GetKind().(type) {
	case *structpb.Value_NullValue:
		return append(b, 'n')
	case *structpb.Value_BoolValue:
		if k.BoolValue {
			return append(b, 't')
		}
		return append(b, 'f')
	case *structpb.Value_NumberValue:
		return binary.LittleEndian.AppendUint64(append(b, 'd'), math.Float64bits(k.NumberValue))
	case *structpb.Value_StringValue:
		return appendString(append(b, 's'), k.StringValue)
	case *structpb.Value_ListValue:
		vs := k.ListValue.GetValues()
		b = binary.AppendUvarint(append(b, 'l'), uint64(len(vs)))
		for _, e := range vs {
			b = appendCanonical(b, e)
		}
		return b
	case *structpb.Value_StructValue:
		fields := k.StructValue.GetFields()
		b = binary.AppendUvarint(append(b, 'o'), uint64(len(fields)))
		var small [8]string // a config's objects have a few keys each
		names := small[:0]
		for name := range fields {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			b = appendCanonical(appendString(b, name), fields[name])
		}
		return b
	}
	return append(b, '?') // no kind: protojson refuses it, so it is never cached
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
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
