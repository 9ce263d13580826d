package state

import (
	"cmp"
	"math/big"
)

// compareDecimal compares two exact decimal strings by value.
func compareDecimal(a, b string) int {
	ra, oka := new(big.Rat).SetString(a)
	rb, okb := new(big.Rat).SetString(b)
	if !oka || !okb {
		return cmp.Compare(a, b)
	}
	return ra.Cmp(rb)
}
