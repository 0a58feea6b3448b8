#ifndef ILI_ATOMICS_H
#define ILI_ATOMICS_H

#include <stdint.h>
#include <stdbool.h>

// The few atomic operations ILITensor's row-thread pool needs, on a 64-bit word that
// Swift allocates; inline, so a spin loop costs no call. (The Synchronization module's
// Atomic needs macOS 15, which the package does not require.)

static inline uint64_t ili_atomic_load(const uint64_t *word) {
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static inline void ili_atomic_store(uint64_t *word, uint64_t value) {
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

/// Replaces `expected` by `desired` if the word holds `expected`; true when it did.
static inline bool ili_atomic_compare_exchange(uint64_t *word, uint64_t expected, uint64_t desired) {
    return __atomic_compare_exchange_n(word, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/// Adds `delta` and returns the value before.
static inline uint64_t ili_atomic_fetch_add(uint64_t *word, uint64_t delta) {
    return __atomic_fetch_add(word, delta, __ATOMIC_ACQ_REL);
}

static inline uint64_t ili_atomic_exchange(uint64_t *word, uint64_t value) {
    return __atomic_exchange_n(word, value, __ATOMIC_ACQ_REL);
}

/// Tells the core that this thread is spinning, so a sibling hyperthread gets the pipeline.
static inline void ili_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
