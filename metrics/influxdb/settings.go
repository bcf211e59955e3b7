package influxdb

import (
	"fmt"

	"github.com/go-viper/mapstructure/v2"

	"github.com/canaryjudge/judge/metrics"
)

// Settings are an influxdb account's own settings, beside the common
// ones (url, basic_auth_*, limits, TLS).
type Settings struct {
	// Database is the InfluxDB database the queries read (required).
	Database string `mapstructure:"database"`
	// RetentionPolicy, when set, is the retention policy they read
	// (default: the database's default).
	RetentionPolicy string `mapstructure:"retention_policy"`
}

// settings decodes an account's own settings strictly: an unknown key is
// an error naming it.
func settings(a metrics.Account) (Settings, error) {
	var s Settings
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{Result: &s, ErrorUnused: true})
	if err != nil {
		return s, err
	}
	if err := dec.Decode(a.Settings); err != nil {
		return s, fmt.Errorf("%w: account %q: %w", metrics.ErrConfig, a.Name, err)
	}
	if s.Database == "" {
		return s, fmt.Errorf("%w: account %q: an influxdb account needs database", metrics.ErrConfig, a.Name)
	}
	return s, nil
}
