//go:build kt_debug

package keystore

import "runtime"

// maybeGC forces a garbage collection each time a handle is about to be passed to C (build tag
// kt_debug). A missing runtime.KeepAlive then frees a handle under a running call and the test
// crashes, instead of such a bug hiding until a production GC happens to hit the window.
func maybeGC() { runtime.GC() }
