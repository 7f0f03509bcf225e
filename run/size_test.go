package run

import "testing"

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4096": 4096, "10M": 10 << 20, "500M": 500 << 20, "2G": 2 << 30, "2g": 2 << 30,
		"1.5G": 3 << 29, "10MB": 10 << 20, "10MiB": 10 << 20, "512k": 512 << 10, "1T": 1 << 40, " 1M ": 1 << 20,
		"100B": 100,
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1M", "ten", "1X", "1e3", "0x10", "NaN", "Inf", "1_000", "99999999999T"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{10 << 20: "10M", 1536 << 10: "1536K", 100: "100", 2 << 30: "2G", 0: "0"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
