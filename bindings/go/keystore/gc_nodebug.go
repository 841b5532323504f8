//go:build !kt_debug

package keystore

// maybeGC does nothing in normal builds; see gc_debug.go (build tag kt_debug).
func maybeGC() {}
