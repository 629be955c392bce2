package endpointspec

import (
	"math/big"
	"strconv"
	"strings"

	"berth/internal/strictyaml"
)

// Kubernetes writes resource quantities as a decimal number and a suffix: 500m, 2, 1.5, 512Mi,
// 1G, 1e3. This small parser follows the grammar of k8s.io/apimachinery's resource.Quantity,
// so that what it accepts the API server accepts too, without linking apimachinery:
//
//	quantity := ["+" | "-"] number suffix
//	number   := digits | digits "." [digits] | "." digits
//	suffix   := "" | "m" | "k" | "M" | "G" | "T" | "P" | "E"    (decimal SI)
//	          | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"          (binary SI)
//	          | ("e" | "E") ["+" | "-"] digits                   (decimal exponent)

// maxExponent bounds a decimal exponent: far beyond any machine, small enough that the exact
// value stays cheap to compute.
const maxExponent = 100

var decimalSuffixes = map[string]int{"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
	"E": 18}

var binarySuffixes = map[string]uint{"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

// parseQuantity returns the exact value of a Kubernetes quantity, or false when s is not one.
func parseQuantity(s string) (*big.Rat, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	var mantissa strings.Builder
	mantissa.WriteString(s[:i])
	for ; i < len(s) && strictyaml.IsDigit(s[i]); i++ {
		mantissa.WriteByte(s[i])
		digits++
	}
	scale := 0 // the number is mantissa × 10^-scale
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && strictyaml.IsDigit(s[i]); i++ {
			mantissa.WriteByte(s[i])
			digits++
			scale++
		}
	}
	if digits == 0 {
		return nil, false
	}
	value, ok := new(big.Rat).SetString(mantissa.String())
	if !ok {
		return nil, false
	}
	exp := -scale
	suffix := s[i:]
	if e, ok := decimalSuffixes[suffix]; ok {
		exp += e
	} else if shift, ok := binarySuffixes[suffix]; ok {
		value.Mul(value, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), shift)))
	} else if e, ok := decimalExponent(suffix); ok {
		exp += e
	} else {
		return nil, false
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil)
	if exp >= 0 {
		value.Mul(value, new(big.Rat).SetInt(pow))
	} else {
		value.Quo(value, new(big.Rat).SetInt(pow))
	}
	return value, true
}

// decimalExponent reads a suffix such as e3 or E-2.
func decimalExponent(suffix string) (int, bool) {
	if len(suffix) < 2 || suffix[0] != 'e' && suffix[0] != 'E' {
		return 0, false
	}
	rest := suffix[1:]
	digits := strings.TrimLeft(rest, "+-")
	if len(rest)-len(digits) > 1 || digits == "" ||
		strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	e, err := strconv.Atoi(rest)
	if err != nil || abs(e) > maxExponent {
		return 0, false
	}
	return e, true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
