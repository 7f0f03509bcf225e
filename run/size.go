package run

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize reads a size in bytes as --log-max-size and --max-memory take
// it: a number with an optional unit K, M, G or T (powers of 1024, as PM2's
// max_memory_restart), optionally followed by B or iB, in any case: 500M,
// 2G, 1.5g, 10MB, 4096. "0" is zero, which the callers read as "off".
func ParseSize(s string) (int64, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, fmt.Errorf("size is empty; give bytes or a unit, such as 500M or 2G")
	}
	u := strings.ToUpper(v)
	u = strings.TrimSuffix(strings.TrimSuffix(u, "IB"), "B")
	mult := int64(1)
	if u != "" {
		switch u[len(u)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			u = u[:len(u)-1]
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) || strings.ContainsAny(u, "EXPx_") {
		return 0, fmt.Errorf("size %q: want bytes or a number with K, M, G or T, such as 500M or 2G", s)
	}
	b := n * float64(mult)
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(b), nil
}

// FormatSize writes bytes with the largest unit that keeps it whole, for
// messages: 10M, 1536K, 100.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
