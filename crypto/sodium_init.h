#pragma once
// libsodium must be initialised once before any other call. Every crypto
// entry point that needs it calls EnsureSodium(); it is cheap after the
// first call and thread-safe (sodium_init is).

namespace caravan::crypto {

// Aborts the process if libsodium cannot initialise (no usable RNG): there
// is no safe way to go on without it.
void EnsureSodium();

}  // namespace caravan::crypto
