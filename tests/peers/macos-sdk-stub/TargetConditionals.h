/* Stand-in for the one Apple SDK header that ring's C code includes, so that
 * tests/peers/macos-check.sh can type-check keytool for macOS on Linux. Nothing
 * built with it is linked or shipped. */
#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_SIMULATOR 0
